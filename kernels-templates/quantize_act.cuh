// quantize_act.cuh - per-token f16 -> int8 quantization (+ f32 scale), and
// the row helpers shared with rms_norm_quantize.cuh.
//
// One CTA per token row; each thread keeps its K / THREADS values (16-byte
// chunks of 8 halves, strided by THREADS) in registers, so the row is read
// from memory once. Bit-exact with qqq::numerics::quantizeActRow:
//   amax = max|x|, s = amax / 127 (IEEE f32 division),
//   q = amax == 0 ? 0 : clamp(rne(x / s), -127, 127).
#pragma once
#include "qqq_common.cuh"

namespace qqq {

template <int THREADS>
__device__ __forceinline__ float block_reduce_max(float v) {
  __shared__ float red[THREADS / 32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  if ((threadIdx.x & 31) == 0)
    red[threadIdx.x >> 5] = v;
  __syncthreads();
  v = red[0];
#pragma unroll
  for (int i = 1; i < THREADS / 32; ++i)
    v = fmaxf(v, red[i]);
  return v;
}

template <int THREADS>
__device__ __forceinline__ float block_reduce_sum(float v) {
  __shared__ float red[THREADS / 32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, o));
  if ((threadIdx.x & 31) == 0)
    red[threadIdx.x >> 5] = v;
  __syncthreads();
  v = red[0];
#pragma unroll
  for (int i = 1; i < THREADS / 32; ++i)
    v = __fadd_rn(v, red[i]);
  return v;
}

// Quantizes the thread's VPT chunks of 8 f32 values (chunk c is row chunk
// threadIdx.x + c * THREADS; chunks past K / 8 are skipped) and writes them.
template <int K, int THREADS, int VPT>
__device__ __forceinline__ void quantize_row_chunks(const float (&v)[VPT][8],
                                                    i8 *qrow, float *s_out) {
  constexpr int CH = K / 8;
  float amax = 0.0f;
#pragma unroll
  for (int c = 0; c < VPT; ++c)
    if (threadIdx.x + c * THREADS < CH)
#pragma unroll
      for (int e = 0; e < 8; ++e)
        amax = fmaxf(amax, fabsf(v[c][e]));
  amax = block_reduce_max<THREADS>(amax);
  float s = __fdiv_rn(amax, 127.0f);
#pragma unroll
  for (int c = 0; c < VPT; ++c) {
    int ch = threadIdx.x + c * THREADS;
    if (ch < CH) {
      u32 packed[2] = {0u, 0u};
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        int q = 0;
        if (amax != 0.0f) {
          q = __float2int_rn(__fdiv_rn(v[c][e], s));
          q = q < -127 ? -127 : (q > 127 ? 127 : q);
        }
        packed[e / 4] |= (static_cast<u32>(q) & 0xFFu) << (8 * (e % 4));
      }
      *reinterpret_cast<uint2 *>(qrow + 8 * ch) = make_uint2(packed[0], packed[1]);
    }
  }
  if (threadIdx.x == 0)
    *s_out = s;
}

template <int K, int THREADS, int VPT>
__device__ __forceinline__ void load_row_chunks(const __half *row,
                                                float (&v)[VPT][8]) {
  constexpr int CH = K / 8;
#pragma unroll
  for (int c = 0; c < VPT; ++c) {
    int ch = threadIdx.x + c * THREADS;
    uint4 raw = make_uint4(0u, 0u, 0u, 0u);
    if (ch < CH)
      raw = *reinterpret_cast<const uint4 *>(row + 8 * ch);
    const __half2 *h = reinterpret_cast<const __half2 *>(&raw);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float2 f = __half22float2(h[e]);
      v[c][2 * e] = f.x;
      v[c][2 * e + 1] = f.y;
    }
  }
}

template <int K, int THREADS>
__global__ void __launch_bounds__(THREADS)
    quantize_act(const __half *__restrict__ x, i8 *__restrict__ q,
                 float *__restrict__ s_tok, int M) {
  static_assert(K % 8 == 0 && THREADS % 32 == 0, "K, THREADS");
  constexpr int VPT = (K / 8 + THREADS - 1) / THREADS;
  const int m = blockIdx.x;
  // The next kernel (the GEMM, launched programmatically) may start now and
  // stream its weights; x (and q's last reader) belong to the previous one.
  pdl_allow_next_launch();
  pdl_wait_for_producer();
  if (m >= M)
    return;
  float v[VPT][8];
  load_row_chunks<K, THREADS, VPT>(x + static_cast<size_t>(m) * K, v);
  quantize_row_chunks<K, THREADS, VPT>(v, q + static_cast<size_t>(m) * K,
                                       s_tok + m);
}

} // namespace qqq
