// qqq_common.cuh - helpers shared by the qqq kernel templates.
//
// NVRTC-compilable: includes only <cuda_fp16.h>. Integer types are spelled
// as builtins (signed char == int8_t, unsigned char == uint8_t) so that no
// host header is needed; the mangled names are those of int8_t/uint8_t.
#pragma once
#include <cuda_fp16.h>

namespace qqq {

typedef signed char i8;
typedef unsigned char u8;
typedef unsigned int u32;

__device__ __forceinline__ u32 smem_addr(const void *p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}

// Programmatic dependent launch (sm_90+). A launch with the programmatic
// stream serialization attribute may start before the previous kernel in
// the stream has finished; griddepcontrol.wait blocks until it has (and its
// writes are visible), so a kernel touches no data of earlier kernels
// before it. launch_dependents lets the next such launch start early.
// Without the attribute (and below sm_90) both are no-ops.
__device__ __forceinline__ void pdl_wait_for_producer() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_allow_next_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// 16-byte global -> shared copy; src-size 0 zero-fills (rows past M).
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem,
                                           bool pred) {
  int src = pred ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(
                   smem_addr(smem)),
               "l"(gmem), "r"(src)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Weights are streamed once: read-only path, no L1 allocation.
__device__ __forceinline__ uint4 ld_stream16(const void *p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// int4 x 8 (one packed word) -> two int8 x 4 registers holding 16 * q
// (the high-nibble trick): low nibbles and high nibbles of each byte.
__device__ __forceinline__ u32 nib_lo16(u32 w) { return (w << 4) & 0xF0F0F0F0u; }
__device__ __forceinline__ u32 nib_hi16(u32 w) { return w & 0xF0F0F0F0u; }

// Per-group: int4 -> int8 bytes of rne(q * s) (|result| <= 127 by the
// quantizer), two weights per f16x2 instruction, no int<->float conversion.
// Nibble n = q & 15 of each half sits at bits POS..POS + 3 (POS = 0 or 4)
// and is used in place (no shift):
//   POS = 0: h = f16 bits 0x6400 | (n ^ 8)        = 1032 + q   (ulp 1)
//   POS = 4: h = f16 bits 0x5400 | (n ^ 8) << 4   =   72 + q   (ulp 1/16)
//   t = h - (1032 | 72) = q                                     exact
//   r = fma.rn(t, s, 1536): q * s is exact inside the fma and the result lies
//       in [1024, 2048), where the f16 ulp is 1, so the single rounding gives
//       1536 + rne(q * s) (1536 is even: ties stay to even);
//   r's bits are 0x6600 + rne(q * s): the low byte is the int8 (two's
//   complement). s2 holds the f16 scale in both halves.
template <int POS>
__device__ __forceinline__ u32 group_scale_pair(u32 w, u32 s2) {
  static_assert(POS == 0 || POS == 4, "nibble position");
  constexpr u32 MASK = POS == 0 ? 0x000F000Fu : 0x00F000F0u;
  constexpr u32 MAGIC = POS == 0 ? 0x64086408u : 0x54805480u;
  constexpr u32 MINUS = POS == 0 ? 0xE408E408u : 0xD480D480u; // -1032 / -72
  // One lop3 for (w & MASK) ^ MAGIC: written in C++, ptxas emitted an AND
  // and an XOR (a LOP3 takes one immediate), 19 instead of 15 instructions
  // per packed word.
  u32 h, t, r;
  asm("lop3.b32 %0, %1, %2, %3, 0x6a;\n"
      : "=r"(h)
      : "r"(w), "n"(MASK), "n"(MAGIC));
  asm("add.rn.f16x2 %0, %1, %2;\n" : "=r"(t) : "r"(h), "r"(MINUS));
  asm("fma.rn.f16x2 %0, %1, %2, %3;\n"
      : "=r"(r)
      : "r"(t), "r"(s2), "r"(0x66006600u));
  return r;
}
// The four int8 of one packed word's low nibbles (H = 0) or high nibbles
// (H = 1): pairs (byte 0, byte 2) from w and (byte 1, byte 3) from w >> 8
// (one shift per word, shared by both H).
template <int H>
__device__ __forceinline__ u32 group_scale4(u32 w, u32 s2) {
  u32 p02 = group_scale_pair<4 * H>(w, s2);
  u32 p13 = group_scale_pair<4 * H>(w >> 8, s2);
  return __byte_perm(p02, p13, 0x6240);
}

// The four A registers of one k32 step (s = 0, 1) from a lane's 16 bytes
// (docs/kernels.md: word j = 2 s + r / 2, nibble h = r % 2). Per channel the
// registers hold 16 q; per group rne(q * s_grp), with s_lo2 / s_hi2 the f16
// scales of rows gid / gid + 8 (both halves).
template <int GROUP>
__device__ __forceinline__ void a_fragment(const uint4 &w, int s, u32 s_lo2,
                                           u32 s_hi2, u32 a[4]) {
  u32 w0 = s == 0 ? w.x : w.z;
  u32 w1 = s == 0 ? w.y : w.w;
  if (GROUP > 0) {
    a[0] = group_scale4<0>(w0, s_lo2);
    a[1] = group_scale4<1>(w0, s_hi2);
    a[2] = group_scale4<0>(w1, s_lo2);
    a[3] = group_scale4<1>(w1, s_hi2);
  } else {
    a[0] = nib_lo16(w0);
    a[1] = nib_hi16(w0);
    a[2] = nib_lo16(w1);
    a[3] = nib_hi16(w1);
  }
}

// An f16 scale's bits in both halves of a word.
__device__ __forceinline__ u32 half2_bits(unsigned short s) {
  return static_cast<u32>(s) * 0x00010001u;
}

__device__ __forceinline__ void mma_s8_16832(int c[4], const u32 a[4],
                                             u32 b0, u32 b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The W4A8 epilogue, operation by operation (no FMA contraction); `bias`
// is added only when `has_bias` (adding 0 would turn -0 into +0). The f32
// value before the one rounding to f16:
__device__ __forceinline__ float epilogue_f32(int acc, float s_tok, float s_ch,
                                              float bias, bool has_bias) {
  float t = __fmul_rn(s_tok, s_ch);
  float y = __fmul_rn(__int2float_rn(acc), t);
  if (has_bias)
    y = __fadd_rn(y, bias);
  return y;
}
__device__ __forceinline__ __half epilogue(int acc, float s_tok, float s_ch,
                                           float bias, bool has_bias) {
  return __float2half_rn(epilogue_f32(acc, s_tok, s_ch, bias, has_bias));
}
// Two outputs of one weight row (tokens t and t + 1) as one f16x2: the
// packed conversion rounds each half as __float2half_rn does.
__device__ __forceinline__ u32 epilogue_pair(int a0, int a1, float s_tok0,
                                             float s_tok1, float s_ch,
                                             float bias, bool has_bias) {
  __half2 h = __floats2half2_rn(epilogue_f32(a0, s_tok0, s_ch, bias, has_bias),
                                epilogue_f32(a1, s_tok1, s_ch, bias, has_bias));
  return *reinterpret_cast<u32 *>(&h);
}

// Split-K: add this CTA's int32 partials into the workspace; the last CTA of
// the output tile (by an atomic counter) runs the epilogue and restores the
// workspace and the counter to zero. Returns true in the last CTA.
__device__ __forceinline__ bool splitk_arrive(int *counter, int split_k) {
  __shared__ int last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    int prev = atomicAdd(counter, 1);
    last = prev == split_k - 1;
    if (last)
      *counter = 0;
  }
  __syncthreads();
  if (last)
    __threadfence();
  return last != 0;
}

} // namespace qqq

namespace qqq {

// Accumulator fragments of one 16-row weight block x MB token blocks of 8
// (the m16n8 C layout, also wgmma's D layout per warp): element i of token
// block mb is weight row nrow + gid + 8 (i / 2), token m0 + 8 mb + 2 tig + i % 2.
__device__ __forceinline__ void frag_coord(int nrow, int m0, int mb, int i,
                                           int &n, int &m) {
  int lane = threadIdx.x & 31;
  n = nrow + (lane >> 2) + 8 * (i / 2);
  m = m0 + 8 * mb + 2 * (lane & 3) + i % 2;
}

// The epilogue's per-weight-row constants of one thread (its rows nrow +
// gid and nrow + gid + 8), loaded before the main loop so their memory
// latency overlaps it instead of following it.
struct RowConsts {
  float s_ch[2], bias[2];
};
__device__ __forceinline__ RowConsts row_consts(int nrow, const float *s_ch,
                                                const __half *bias) {
  RowConsts r;
  int n = nrow + ((threadIdx.x & 31) >> 2);
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    r.s_ch[j] = s_ch[n + 8 * j];
    r.bias[j] = bias != nullptr ? __half2float(bias[n + 8 * j]) : 0.0f;
  }
  return r;
}
// One output through the epilogue; tokens past M are not written.
template <int N>
__device__ __forceinline__ void frag_store_one(int acc, const RowConsts &rc,
                                               int nrow, int m0, int mb, int i,
                                               int M, const float *s_tok,
                                               bool has_bias, __half *y) {
  int n, m;
  frag_coord(nrow, m0, mb, i, n, m);
  if (m < M)
    y[static_cast<size_t>(m) * N + n] =
        epilogue(acc, s_tok[m], rc.s_ch[i / 2], rc.bias[i / 2], has_bias);
}
template <int N, int MB>
__device__ __forceinline__ void frag_store(const int (&acc)[MB][4],
                                           const RowConsts &rc, int nrow,
                                           int m0, int M, const float *s_tok,
                                           bool has_bias, __half *y) {
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      frag_store_one<N>(acc[mb][i], rc, nrow, m0, mb, i, M, s_tok, has_bias,
                        y);
}

// The same with the row constants loaded here (the mma.sync kernel).
template <int N, int MB>
__device__ __forceinline__ void frag_store(const int (&acc)[MB][4], int nrow,
                                           int m0, int M, const float *s_tok,
                                           const float *s_ch,
                                           const __half *bias, __half *y) {
  frag_store<N, MB>(acc, row_consts(nrow, s_ch, bias), nrow, m0, M, s_tok,
                    bias != nullptr, y);
}

template <int N, int MB>
__device__ __forceinline__ void frag_atomic_add(const int (&acc)[MB][4],
                                                int nrow, int m0, int M,
                                                int *ws) {
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int n, m;
      frag_coord(nrow, m0, mb, i, n, m);
      if (m < M)
        atomicAdd(ws + static_cast<size_t>(m) * N + n, acc[mb][i]);
    }
}

// Last split-K CTA: reads the reduced sums (L2, bypassing L1), zeroes them.
template <int N, int MB>
__device__ __forceinline__ void frag_store_from_ws(int nrow, int m0, int M,
                                                   int *ws, const float *s_tok,
                                                   const float *s_ch,
                                                   const __half *bias,
                                                   __half *y) {
  int acc[MB][4];
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int n, m;
      frag_coord(nrow, m0, mb, i, n, m);
      int *p = ws + static_cast<size_t>(m) * N + n;
      acc[mb][i] = 0;
      if (m < M) {
        acc[mb][i] = __ldcg(p);
        __stcg(p, 0);
      }
    }
  frag_store<N, MB>(acc, nrow, m0, M, s_tok, s_ch, bias, y);
}

} // namespace qqq
