// rms_norm_quantize.cuh - RMSNorm fused with per-token int8 quantization.
//
// One CTA per row, one read of the row (kept in registers):
//   ss = sum_k x^2 (f32, tree order), r = 1 / sqrt(ss / K + eps) (IEEE),
//   v = (x * r) * gamma (f32, no FMA), then the quantize_act formula on v.
// The normalized row is never written.
#pragma once
#include "quantize_act.cuh"

namespace qqq {

template <int K, int THREADS>
__global__ void __launch_bounds__(THREADS)
    rms_norm_quantize(const __half *__restrict__ x,
                      const __half *__restrict__ gamma, float epsilon,
                      i8 *__restrict__ q, float *__restrict__ s_tok, int M) {
  static_assert(K % 8 == 0 && THREADS % 32 == 0, "K, THREADS");
  constexpr int VPT = (K / 8 + THREADS - 1) / THREADS;
  constexpr int CH = K / 8;
  const int m = blockIdx.x;
  // The next kernel (the GEMM, launched programmatically) may start now and
  // stream its weights; x (and q's last reader) belong to the previous one.
  pdl_allow_next_launch();
  pdl_wait_for_producer();
  if (m >= M)
    return;
  float v[VPT][8];
  load_row_chunks<K, THREADS, VPT>(x + static_cast<size_t>(m) * K, v);
  float ss = 0.0f;
#pragma unroll
  for (int c = 0; c < VPT; ++c)
#pragma unroll
    for (int e = 0; e < 8; ++e)
      ss = __fadd_rn(ss, __fmul_rn(v[c][e], v[c][e]));
  ss = block_reduce_sum<THREADS>(ss);
  float r = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(__fdiv_rn(ss, float(K)),
                                                 epsilon)));
#pragma unroll
  for (int c = 0; c < VPT; ++c) {
    int ch = threadIdx.x + c * THREADS;
    if (ch < CH) {
      uint4 raw = *reinterpret_cast<const uint4 *>(gamma + 8 * ch);
      const __half2 *h = reinterpret_cast<const __half2 *>(&raw);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float2 gf = __half22float2(h[e]);
        v[c][2 * e] = __fmul_rn(__fmul_rn(v[c][2 * e], r), gf.x);
        v[c][2 * e + 1] = __fmul_rn(__fmul_rn(v[c][2 * e + 1], r), gf.y);
      }
    }
  }
  quantize_row_chunks<K, THREADS, VPT>(v, q + static_cast<size_t>(m) * K,
                                       s_tok + m);
}

} // namespace qqq
