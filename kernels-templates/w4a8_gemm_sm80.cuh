// w4a8_gemm_sm80.cuh - W4A8 GEMM with mma.sync.m16n8k32.s8 (sm_80 and up).
//
// Swapped operands: Y^T = W X^T, so the weights are the MMA's A (16 rows) and
// the tokens its N (8 per MMA): a small M wastes no weight traffic. Each warp
// owns RB = TILE_N / (16 WARPS) blocks of 16 weight rows and all TILE_M tokens
// of the CTA; it streams its weights straight into registers (one 16-byte
// load per lane per 64 K, sm80_interleaved layout), one tile ahead, while the
// activation tile goes through a STAGES-deep cp.async pipeline in shared
// memory (rows padded by 16 bytes: conflict-free B-fragment loads).
// Per channel, weights enter the MMA as 16 q (high-nibble trick); the int32
// sum is divided by 16 exactly before the epilogue. Per group, rne(q s_grp).
// Split-K CTAs reduce int32 partials in the workspace (exact), the last one
// applies the epilogue. Contract: include/qqq/CodeGen/KernelCatalog.h.
#pragma once
#include "qqq_common.cuh"

namespace qqq {

template <int N, int K, int GROUP, int TILE_M, int TILE_N, int TILE_K,
          int STAGES, int WARPS, int SPLIT_K>
__global__ void __launch_bounds__(WARPS * 32)
    w4a8_gemm_sm80(const i8 *__restrict__ x, const float *__restrict__ s_tok,
                   const u8 *__restrict__ w, const float *__restrict__ s_ch,
                   const __half *__restrict__ s_grp,
                   const __half *__restrict__ bias, __half *__restrict__ y,
                   int M, int *__restrict__ workspace) {
  constexpr int THREADS = WARPS * 32;
  constexpr int RB = TILE_N / (16 * WARPS);
  constexpr int MB = TILE_M / 8;
  constexpr int K_CTA = K / SPLIT_K;
  constexpr int KT = K_CTA / TILE_K;
  constexpr int K64 = TILE_K / 64;
  constexpr int ROW = TILE_K + 16;
  constexpr int STAGE_BYTES = TILE_M * ROW;
  constexpr int CHUNKS = TILE_M * TILE_K / 16;
  static_assert(TILE_N % (16 * WARPS) == 0 && RB >= 1 && RB <= 4, "tile_n");
  static_assert(TILE_M % 8 == 0 && TILE_M <= 128, "tile_m");
  static_assert(TILE_K % 64 == 0, "tile_k");
  static_assert(N % TILE_N == 0 && K % (TILE_K * SPLIT_K) == 0, "shape");
  static_assert(GROUP == 0 || (GROUP % 64 == 0 && K % (GROUP > 0 ? GROUP : 1) == 0),
                "group");
  static_assert(STAGES >= 2, "stages");

  extern __shared__ uint4 smem_raw[];
  u8 *smem = reinterpret_cast<u8 *>(smem_raw);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int gid = lane >> 2, tig = lane & 3;
  const int m0 = blockIdx.y * TILE_M;
  const int k_begin = blockIdx.z * K_CTA;
  const int nrow0 = blockIdx.x * TILE_N + warp * 16 * RB;

  auto load_x = [&](int stage, int kt) {
#pragma unroll
    for (int c = tid; c < CHUNKS; c += THREADS) {
      int row = c / (TILE_K / 16), col = c % (TILE_K / 16);
      int m = m0 + row;
      bool p = m < M;
      const i8 *src = x + static_cast<size_t>(p ? m : 0) * K + k_begin +
                      kt * TILE_K + col * 16;
      cp_async16(smem + stage * STAGE_BYTES + row * ROW + col * 16, src, p);
    }
  };
  // Lane's 16 bytes of the 16x64 tile (n16, k64) in sm80_interleaved.
  const u8 *wbase[RB];
#pragma unroll
  for (int rb = 0; rb < RB; ++rb)
    wbase[rb] = w + (static_cast<size_t>((nrow0 + 16 * rb) / 16) * (K / 64) +
                     k_begin / 64) * 512 + lane * 16;
  auto load_w = [&](uint4 (&dst)[RB][K64], int kt) {
#pragma unroll
    for (int rb = 0; rb < RB; ++rb)
#pragma unroll
      for (int j = 0; j < K64; ++j)
        dst[rb][j] = ld_stream16(wbase[rb] + (kt * K64 + j) * 512);
  };

  int acc[RB][MB][4];
#pragma unroll
  for (int rb = 0; rb < RB; ++rb)
#pragma unroll
    for (int mb = 0; mb < MB; ++mb)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        acc[rb][mb][i] = 0;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < KT)
      load_x(s, s);
    cp_async_commit();
  }
  uint4 wc[RB][K64], wn[RB][K64];
  load_w(wc, 0);

#pragma unroll 1
  for (int kt = 0; kt < KT; ++kt) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();
    if (kt + STAGES - 1 < KT)
      load_x((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
    cp_async_commit();
    if (kt + 1 < KT)
      load_w(wn, kt + 1);
    const u8 *xs = smem + (kt % STAGES) * STAGE_BYTES;
#pragma unroll
    for (int j = 0; j < K64; ++j) {
      u32 sg[RB][2];
#pragma unroll
      for (int rb = 0; rb < RB; ++rb) {
        sg[rb][0] = sg[rb][1] = 0;
        if (GROUP > 0) {
          int g = (k_begin + kt * TILE_K + j * 64) / (GROUP > 0 ? GROUP : 1);
          const unsigned short *row =
              reinterpret_cast<const unsigned short *>(s_grp) +
              static_cast<size_t>(g) * N + nrow0 + 16 * rb + gid;
          sg[rb][0] = half2_bits(row[0]);
          sg[rb][1] = half2_bits(row[8]);
        }
      }
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        u32 a[RB][4];
#pragma unroll
        for (int rb = 0; rb < RB; ++rb)
          a_fragment<GROUP>(wc[rb][j], s, sg[rb][0], sg[rb][1], a[rb]);
#pragma unroll
        for (int mb = 0; mb < MB; ++mb) {
          const u8 *bp = xs + (8 * mb + gid) * ROW + j * 64 + s * 32 + tig * 4;
          u32 b0 = *reinterpret_cast<const u32 *>(bp);
          u32 b1 = *reinterpret_cast<const u32 *>(bp + 16);
#pragma unroll
          for (int rb = 0; rb < RB; ++rb)
            mma_s8_16832(acc[rb][mb], a[rb], b0, b1);
        }
      }
    }
#pragma unroll
    for (int rb = 0; rb < RB; ++rb)
#pragma unroll
      for (int j = 0; j < K64; ++j)
        wc[rb][j] = wn[rb][j];
  }
  cp_async_wait<0>();

  if (GROUP == 0) // 16 q was multiplied: exact division by 16
#pragma unroll
    for (int rb = 0; rb < RB; ++rb)
#pragma unroll
      for (int mb = 0; mb < MB; ++mb)
#pragma unroll
        for (int i = 0; i < 4; ++i)
          acc[rb][mb][i] >>= 4;

  if (SPLIT_K == 1) {
#pragma unroll
    for (int rb = 0; rb < RB; ++rb)
      frag_store<N, MB>(acc[rb], nrow0 + 16 * rb, m0, M, s_tok, s_ch, bias, y);
  } else {
    int *counters = workspace + static_cast<size_t>(gridDim.y) * TILE_M * N;
#pragma unroll
    for (int rb = 0; rb < RB; ++rb)
      frag_atomic_add<N, MB>(acc[rb], nrow0 + 16 * rb, m0, M, workspace);
    if (splitk_arrive(counters + blockIdx.y * gridDim.x + blockIdx.x, SPLIT_K))
#pragma unroll
      for (int rb = 0; rb < RB; ++rb)
        frag_store_from_ws<N, MB>(nrow0 + 16 * rb, m0, M, workspace, s_tok,
                                  s_ch, bias, y);
  }
}

} // namespace qqq
