// w4a8_gemm_sm90.cuh - W4A8 GEMM with wgmma.mma_async s8 (sm_90a).
//
// Swapped operands: Y^T = W X^T. Each warpgroup owns 64 weight rows (wgmma's
// M) and the CTA's TILE_M tokens (wgmma's N, 8..256). The weights go straight
// from global memory into registers (one 16-byte load per lane per 64 K in
// sm90_interleaved, one tile ahead), are widened int4 -> int8 in registers
// (per channel: the high-nibble trick, 16 q; per group: rne(q s_grp)) and
// enter wgmma as the register A operand. The activation tile (K-major, the
// no-swizzle core-matrix layout: 16-byte chunk c of token t at
// c * TILE_M * 16 + t * 16, LBO = TILE_M * 16, SBO = 128) goes through a
// STAGES-deep cp.async pipeline and is read by wgmma through a shared-memory
// descriptor. Split-K reduces int32 partials exactly in the workspace; the
// last CTA applies the epilogue. Contract: include/qqq/CodeGen/KernelCatalog.h.
#pragma once
#include "qqq_common.cuh"
#include "wgmma_s8.cuh"

namespace qqq {

__device__ __forceinline__ unsigned long long
wgmma_desc_noswizzle(u32 saddr, u32 lbo, u32 sbo) {
  unsigned long long d = 0;
  d |= static_cast<unsigned long long>((saddr & 0x3FFFF) >> 4);
  d |= static_cast<unsigned long long>((lbo >> 4) & 0x3FFF) << 16;
  d |= static_cast<unsigned long long>((sbo >> 4) & 0x3FFF) << 32;
  return d; // base offset 0, swizzle mode 0 (none)
}

template <int MB>
__device__ __forceinline__ void fence_acc(int (&acc)[MB][4]) {
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      asm volatile("" : "+r"(acc[mb][i])::"memory");
}

template <int N, int K, int GROUP, int TILE_M, int TILE_N, int TILE_K,
          int STAGES, int WARPS, int SPLIT_K>
__global__ void __launch_bounds__(WARPS * 32)
    w4a8_gemm_sm90(const i8 *__restrict__ x, const float *__restrict__ s_tok,
                   const u8 *__restrict__ w, const float *__restrict__ s_ch,
                   const __half *__restrict__ s_grp,
                   const __half *__restrict__ bias, __half *__restrict__ y,
                   int M, int *__restrict__ workspace) {
  constexpr int THREADS = WARPS * 32;
  constexpr int MB = TILE_M / 8;
  constexpr int K_CTA = K / SPLIT_K;
  constexpr int KT = K_CTA / TILE_K;
  constexpr int K64 = TILE_K / 64;
  constexpr int STAGE_BYTES = TILE_M * TILE_K;
  constexpr int CHUNKS = TILE_M * TILE_K / 16;
  static_assert(WARPS % 4 == 0 && TILE_N == 16 * WARPS, "tile_n = 64 / wg");
  static_assert(TILE_M == 8 || TILE_M == 16 || TILE_M == 32 || TILE_M == 64 ||
                    TILE_M == 128 || TILE_M == 256,
                "tile_m");
  static_assert(TILE_K % 64 == 0, "tile_k");
  static_assert(N % TILE_N == 0 && K % (TILE_K * SPLIT_K) == 0, "shape");
  static_assert(GROUP == 0 ||
                    (GROUP % 64 == 0 && K % (GROUP > 0 ? GROUP : 1) == 0),
                "group");
  static_assert(STAGES >= 2, "stages");

  extern __shared__ uint4 smem_raw[];
  u8 *smem = reinterpret_cast<u8 *>(smem_raw);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int gid = lane >> 2;
  const int m0 = blockIdx.y * TILE_M;
  const int k_begin = blockIdx.z * K_CTA;
  // Warp w of warpgroup g: rows 64 g + 16 (w % 4) of the CTA's tile.
  const int nrow0 = blockIdx.x * TILE_N + warp * 16;

  auto load_x = [&](int stage, int kt) {
#pragma unroll
    for (int c = tid; c < CHUNKS; c += THREADS) {
      int row = c % TILE_M, col = c / TILE_M; // consecutive threads: tokens
      int m = m0 + row;
      bool p = m < M;
      const i8 *src = x + static_cast<size_t>(p ? m : 0) * K + k_begin +
                      kt * TILE_K + col * 16;
      cp_async16(smem + stage * STAGE_BYTES + col * (TILE_M * 16) + row * 16,
                 src, p);
    }
  };
  // sm90_interleaved: block (nb, k64) of 2048 bytes, warp (w % 4) at +512 w.
  const u8 *wbase = w +
                    (static_cast<size_t>(nrow0 / 64) * (K / 64) + k_begin / 64) *
                        2048 +
                    ((nrow0 / 16) % 4) * 512 + lane * 16;
  // One K tile of a lane's weights and (per group) its two rows' group
  // scales: both prefetched together, so the conversion never waits on a
  // scale load.
  struct WTile {
    uint4 w[K64];
    unsigned short s[K64][2];
  };
  const unsigned short *sgrp_bits =
      reinterpret_cast<const unsigned short *>(s_grp);
  auto load_w = [&](WTile &dst, int kt) {
#pragma unroll
    for (int j = 0; j < K64; ++j) {
      dst.w[j] = ld_stream16(wbase + (kt * K64 + j) * 2048);
      if (GROUP > 0) {
        int g = (k_begin + kt * TILE_K + j * 64) / (GROUP > 0 ? GROUP : 1);
        const unsigned short *row =
            sgrp_bits + static_cast<size_t>(g) * N + nrow0 + gid;
        dst.s[j][0] = __ldg(row);
        dst.s[j][1] = __ldg(row + 8);
      }
    }
  };

  int acc[MB][4];
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      acc[mb][i] = 0;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < KT)
      load_x(s, s);
    cp_async_commit();
  }
  // Weights of tile kt as wgmma A fragments (int4 -> int8 in registers).
  auto convert = [&](u32 (&dst)[K64][2][4], const WTile &src) {
#pragma unroll
    for (int j = 0; j < K64; ++j) {
      float sg0 = 1.0f, sg1 = 1.0f;
      if (GROUP > 0) {
        sg0 = __half2float(__ushort_as_half(src.s[j][0]));
        sg1 = __half2float(__ushort_as_half(src.s[j][1]));
      }
#pragma unroll
      for (int s = 0; s < 2; ++s)
        a_fragment<GROUP>(src.w[j], s, sg0, sg1, dst[j][s]);
    }
  };
  // Weight tiles are prefetched two ahead into two register buffers; the
  // loop is written as two steps with the buffers' roles swapped, so no
  // register array is indexed at run time and no in-flight load result is
  // moved (a move would wait for the load).
  WTile w0, w1;
  u32 a[K64][2][4];
  load_w(w0, 0);
  if (KT > 1)
    load_w(w1, 1);
  convert(a, w0);
  if (KT > 2)
    load_w(w0, 2);
  const u32 smem_base = smem_addr(smem);

  auto step = [&](int kt, WTile &wnext) {
    cp_async_wait<STAGES - 2>();
    // cp.async wrote through the generic proxy; wgmma reads through the
    // async proxy.
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();
    if (kt + STAGES - 1 < KT)
      load_x((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
    cp_async_commit();

    const u32 stage_addr = smem_base + (kt % STAGES) * STAGE_BYTES;
    fence_acc<MB>(acc);
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int j = 0; j < K64; ++j)
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        unsigned long long desc = wgmma_desc_noswizzle(
            stage_addr + (4 * j + 2 * s) * (TILE_M * 16), TILE_M * 16, 128);
        WgmmaS8<TILE_M>::mma(acc, a[j][s], desc);
      }
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    // While the tensor cores run: widen the next tile's weights and start
    // loading the tile after next into the buffer just consumed.
    u32 an[K64][2][4];
    if (kt + 1 < KT) {
      convert(an, wnext);
      if (kt + 3 < KT)
        load_w(wnext, kt + 3);
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fence_acc<MB>(acc);
    if (kt + 1 < KT) {
#pragma unroll
      for (int j = 0; j < K64; ++j)
#pragma unroll
        for (int s = 0; s < 2; ++s)
#pragma unroll
          for (int r = 0; r < 4; ++r)
            a[j][s][r] = an[j][s][r];
    }
  };
#pragma unroll 1
  for (int kt = 0; kt < KT; kt += 2) {
    step(kt, w1);     // w1 holds tile kt + 1
    if (kt + 1 < KT)
      step(kt + 1, w0); // w0 holds tile kt + 2
  }
  cp_async_wait<0>();

  if (GROUP == 0) // 16 q was multiplied: exact division by 16
#pragma unroll
    for (int mb = 0; mb < MB; ++mb)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        acc[mb][i] >>= 4;

  if (SPLIT_K == 1) {
    frag_store<N, MB>(acc, nrow0, m0, M, s_tok, s_ch, bias, y);
  } else {
    int *counters = workspace + static_cast<size_t>(gridDim.y) * TILE_M * N;
    frag_atomic_add<N, MB>(acc, nrow0, m0, M, workspace);
    if (splitk_arrive(counters + blockIdx.y * gridDim.x + blockIdx.x, SPLIT_K))
      frag_store_from_ws<N, MB>(nrow0, m0, M, workspace, s_tok, s_ch, bias, y);
  }
}

} // namespace qqq
