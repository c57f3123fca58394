// reference_gemm.cuh - an independent, plain tiled int8 x int8 -> int32 GEMM
// (acc = x w^T, both row-major with K contiguous) used as the reference for
// the W4A8 kernels on the GPU. No tensor cores, no packing, no scales: it
// shares nothing with the kernels under test. 32 x 32 outputs per CTA,
// threads (32, 8), 4 outputs per thread.
#pragma once

namespace qqq_ref {

__global__ void ref_gemm_s8(const signed char *x, const signed char *w,
                            int *acc, int M, int N, int K) {
  __shared__ int xs[32][33];
  __shared__ int ws[32][33];
  int tx = threadIdx.x, ty = threadIdx.y;
  int m0 = blockIdx.y * 32, n0 = blockIdx.x * 32;
  int sum[4] = {0, 0, 0, 0};
  for (int k0 = 0; k0 < K; k0 += 32) {
    for (int r = ty; r < 32; r += 8) {
      int m = m0 + r, n = n0 + r, k = k0 + tx;
      xs[r][tx] = (m < M && k < K) ? x[(long long)m * K + k] : 0;
      ws[r][tx] = (n < N && k < K) ? w[(long long)n * K + k] : 0;
    }
    __syncthreads();
    for (int kk = 0; kk < 32; ++kk)
      for (int i = 0; i < 4; ++i)
        sum[i] += xs[ty + 8 * i][kk] * ws[tx][kk];
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    int m = m0 + ty + 8 * i, n = n0 + tx;
    if (m < M && n < N)
      acc[(long long)m * N + n] = sum[i];
  }
}

} // namespace qqq_ref
