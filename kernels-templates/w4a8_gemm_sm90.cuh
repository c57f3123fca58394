// w4a8_gemm_sm90.cuh - W4A8 GEMM with wgmma.mma_async s8 (sm_90a).
//
// Swapped operands: Y^T = W X^T. Each warpgroup owns 64 weight rows (wgmma's
// M) and the CTA's TILE_M tokens (wgmma's N, 8..256). In sm90_interleaved a
// 64-row block's K range is contiguous, so each K tile of a warpgroup's
// weights (and, per group, its 64 rows' scales) is one bulk asynchronous copy
// (cp.async.bulk, completing on an mbarrier) into a STAGES-deep shared-memory
// ring: many bytes in flight per SM at no register cost. Each lane reads its
// 16 bytes per 64 K from there, widens int4 -> int8 in registers (per
// channel: the high-nibble trick, 16 q; per group: rne(q s_grp) in f16x2) and
// feeds wgmma's register A operand. The activation tile (K-major; with
// 128-byte K rows the 128-byte swizzled layout, else the core-matrix layout)
// goes through a STAGES + 2 ring and is read by wgmma through a
// shared-memory descriptor; both rings run STAGES tiles ahead. Swizzled
// activation tiles of 64 tokens and more arrive by TMA (one tensor copy per
// 128-byte column block, issued by one thread, completing on the mbarrier of
// the same K tile's weights, so each step waits once; the tensor map `x_map`
// is the host's), the others by per-thread cp.async. The K tiles
// split over SPLIT_K CTAs (unevenly where they must), which form a cluster
// (the entry point w4a8_gemm_sm90_cluster; w4a8_gemm_sm90 has no cluster
// dimensions) and sum their int32 partials through distributed shared
// memory (no workspace); or (STREAM_K) a persistent grid shares the (tile, K tile)
// iterations evenly and sums split tiles through a workspace. Weight copies
// start before griddepcontrol.wait (programmatic dependent launch).
// TOKEN_TILES_FIRST (one CTA per tile) orders the grid's CTAs by weight-row
// block, then token tile, instead of the launch order's token tile, then
// block: a block's token tiles run in the same wave and read it from DRAM
// once (a tuned knob; it helps where several token tiles share a block).
// Contract: include/qqq/CodeGen/KernelCatalog.h.
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
// K-major, 128-byte swizzle: 8-row atoms of 128-byte rows, 16-byte chunk c
// of row r at (c ^ r % 8) * 16 (the hardware XORs address bits 4-6 with bits
// 7-9, so atoms are 1024-byte aligned); SBO = 1024 between atoms, LBO
// unused (1). A k-slice inside the 128-byte row is addressed by offsetting
// the start address.
__device__ __forceinline__ unsigned long long wgmma_desc_sw128(u32 saddr) {
  return wgmma_desc_noswizzle(saddr, 16, 1024) | 1ull << 62; // swizzle mode 1
}

template <int MB>
__device__ __forceinline__ void fence_acc(int (&acc)[MB][4]) {
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      asm volatile("" : "+r"(acc[mb][i])::"memory");
}

// The A fragments of a wgmma batch must be complete before wgmma.fence:
// otherwise the compiler sinks the last widening steps (shift, mask) next to
// each wgmma, and ptxas, seeing A registers written inside the batch,
// injects a full wait before every wgmma (C7519; SASS: WARPGROUP.DEPBAR.LE
// gsb0, 0x0 after each IGMMA).
template <int K64>
__device__ __forceinline__ void fence_a(u32 (&a)[K64][2][4]) {
#pragma unroll
  for (int j = 0; j < K64; ++j)
#pragma unroll
    for (int s = 0; s < 2; ++s)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        asm volatile("" : "+r"(a[j][s][i])::"memory");
}

// mbarrier with `count` arrivals per phase (arrive.expect_tx of the thread
// that issues the copies).
__device__ __forceinline__ void mbar_init_count(u32 bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar),
               "r"(count)
               : "memory");
}
__device__ __forceinline__ void mbar_init(u32 bar) { mbar_init_count(bar, 1); }
__device__ __forceinline__ void mbar_expect_tx(u32 bar, u32 bytes) {
  asm volatile(
      "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar),
      "r"(bytes)
      : "memory");
}
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
  u32 done = 0;
  do {
    asm volatile("{\n.reg .pred p;\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 "selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(bar), "r"(parity)
                 : "memory");
  } while (!done);
}
// Thread-block clusters (split-K reduction through distributed shared
// memory).
__device__ __forceinline__ void cluster_arrive_release() {
  asm volatile("barrier.cluster.arrive.release.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void cluster_wait_acquire() {
  asm volatile("barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
// A cluster barrier that orders nothing: for "nobody leaves while its
// shared memory may still be read", where every remote load's value has
// been consumed (so the load is complete) before the arrive issues.
__device__ __forceinline__ void cluster_sync_relaxed() {
  asm volatile("barrier.cluster.arrive.relaxed.aligned;\n"
               "barrier.cluster.wait.aligned;\n" ::: "memory");
}
__device__ __forceinline__ u32 cluster_ctarank() {
  u32 r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
__device__ __forceinline__ u32 mapa_cluster(u32 addr, u32 rank) {
  u32 r;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n"
               : "=r"(r)
               : "r"(addr), "r"(rank));
  return r;
}
// A CUtensorMap (128 bytes, 64-aligned), passed by value as a
// __grid_constant__ kernel parameter; encoded by the host
// (include/qqq/Runtime/ActivationMap.h).
struct alignas(64) TmaMap {
  unsigned long long opaque[16];
};
// TMA: box {x, y} of a 2D tensor map -> shared memory, completing on `bar`.
__device__ __forceinline__ void tma_load_2d(u32 dst, const TmaMap *map, int x,
                                            int y, u32 bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::"
               "complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
               "l"(reinterpret_cast<unsigned long long>(map)), "r"(x), "r"(y),
               "r"(bar)
               : "memory");
}
// Global -> shared bulk copy (bytes % 16 == 0, both addresses 16-aligned).
__device__ __forceinline__ void bulk_copy(u32 dst, const void *src, u32 bytes,
                                          u32 bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::"
               "bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
               "l"(src), "r"(bytes), "r"(bar)
               : "memory");
}

// Stream-K: a CTA publishes its partial sums with a release increment of
// its flag; the CTA finishing the tile acquires it before reading them.
__device__ __forceinline__ void red_release_add_s32(int *p, int v) {
  asm volatile("red.release.gpu.global.add.s32 [%0], %1;\n" ::"l"(p), "r"(v)
               : "memory");
}
__device__ __forceinline__ int ld_acquire_s32(const int *p) {
  int v;
  asm volatile("ld.acquire.gpu.global.s32 %0, [%1];\n"
               : "=r"(v)
               : "l"(p)
               : "memory");
  return v;
}

__device__ __forceinline__ float ld_global_f32(const float *p) {
  float v;
  asm volatile("ld.global.f32 %0, [%1];\n" : "=f"(v) : "l"(p) : "memory");
  return v;
}
// Transposing 8x8 b16 matrix stores (the accumulator fragment layout in,
// [token][weight] rows out); lanes 8k..8k+7 give matrix k's row addresses.
__device__ __forceinline__ void stmatrix_x4_trans(u32 addr, u32 r0, u32 r1,
                                                  u32 r2, u32 r3) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16 [%0], {%1, "
               "%2, %3, %4};\n" ::"r"(addr),
               "r"(r0), "r"(r1), "r"(r2), "r"(r3)
               : "memory");
}
__device__ __forceinline__ void stmatrix_x2_trans(u32 addr, u32 r0, u32 r1) {
  asm volatile(
      "stmatrix.sync.aligned.m8n8.x2.trans.shared.b16 [%0], {%1, %2};\n" ::"r"(
          addr),
      "r"(r0), "r"(r1)
      : "memory");
}
// A remote pair of int32 (distributed shared memory).
__device__ __forceinline__ int2 ld_cluster_v2_s32(u32 addr) {
  int2 v;
  asm volatile("ld.shared::cluster.v2.s32 {%0, %1}, [%2];\n"
               : "=r"(v.x), "=r"(v.y)
               : "r"(addr)
               : "memory");
  return v;
}

// The kernel body, shared by the two entry points below (which differ only
// in their cluster shape).
template <int N, int K, int GROUP, int TILE_M, int TILE_N, int TILE_K,
          int STAGES, int WARPS, int SPLIT_K, bool STREAM_K,
          bool TOKEN_TILES_FIRST>
__device__ __forceinline__ void
w4a8_gemm_sm90_body(const i8 *__restrict__ x, const float *__restrict__ s_tok,
                    const u8 *__restrict__ w, const float *__restrict__ s_ch,
                    const __half *__restrict__ s_grp,
                    const __half *__restrict__ bias, __half *__restrict__ y,
                    int M, int *__restrict__ workspace, const TmaMap &x_map) {
  constexpr int THREADS = WARPS * 32;
  constexpr int WGS = WARPS / 4;
  constexpr int MB = TILE_M / 8;
  // The K tiles split as evenly as they go (the first CTAs of the cluster
  // take one tile more), so split_k needs no divisibility beyond TILE_K.
  constexpr int KT_ALL = K / TILE_K;
  constexpr int K64 = TILE_K / 64;
  constexpr int X_STAGE = TILE_M * TILE_K;
  // The activation ring has two slots more than the weight ring: wgmma
  // reads a tile's activations from shared memory until the step after its
  // own, so with STAGES + 2 slots they can be requested STAGES tiles ahead,
  // like the weights (at M = 16 the cp.async latency from L2 was exposed
  // with fewer: ncu long-scoreboard stalls 1.5 -> 4.8 per issue from M = 1).
  constexpr int X_STAGES = STAGES + 2;
  constexpr int CHUNKS = TILE_M * TILE_K / 16;
  // Per warpgroup and K tile: K64 blocks of 2048 bytes; per group, the 64
  // rows' f16 scales (128 bytes) of each group the tile touches.
  constexpr int W_WG = K64 * 2048;
  constexpr int G = GROUP > 0 ? GROUP : TILE_K;
  constexpr int GPT = GROUP > 0 ? (G < TILE_K ? TILE_K / G : 1) : 0;
  constexpr int S_WG = GPT * 128;
  constexpr int W_STAGE = WGS * (W_WG + S_WG);
  constexpr int BAR_BYTES = 256;
  static_assert(WARPS % 4 == 0 && TILE_N == 16 * WARPS, "tile_n = 64 / wg");
  static_assert(TILE_M == 8 || TILE_M == 16 || TILE_M == 32 || TILE_M == 64 ||
                    TILE_M == 128 || TILE_M == 256,
                "tile_m");
  static_assert(TILE_K % 64 == 0, "tile_k");
  static_assert(N % TILE_N == 0 && K % TILE_K == 0 && KT_ALL >= SPLIT_K,
                "shape");
  static_assert(GROUP == 0 || (GROUP % 64 == 0 && K % G == 0 &&
                               (TILE_K % G == 0 || G % TILE_K == 0)),
                "group");
  static_assert(STAGES >= 3, "stages: one in flight, one in use, one ahead");
  static_assert(STAGES * 8 <= BAR_BYTES,
                "mbarriers fit their reserved bytes");
  static_assert(!STREAM_K || SPLIT_K == 1, "stream-K or cluster split-K");
  static_assert(!STREAM_K || !TOKEN_TILES_FIRST,
                "stream-K orders its tiles itself");

  // Activation tiles whose K rows are 128-byte multiples use the 128-byte
  // swizzled layout: the no-swizzle core-matrix layout (chunk c of token t
  // at c * TILE_M * 16 + t * 16), which 64-wide K tiles keep, made the
  // kernel 1.22-1.34x slower per channel at M = 256-1024 (7B qkv).
  constexpr bool SWIZZLE = TILE_K % 128 == 0;
  constexpr u32 X_ALIGN = SWIZZLE ? 1024 : 16;
  // Swizzled tiles of 64 tokens and more come by TMA (128-byte swizzle, box
  // 128 bytes x TILE_M tokens, rows past M zero-filled): one thread issues a
  // tile's copies. With per-thread 16-byte cp.async, issuing the copies cost
  // 1.20x (group 128) and 1.12x (per channel) at M = 1024 (7B qkv). Small
  // tiles keep cp.async: TMA made M = 1 (tile_m 16) 1.08x slower.
  constexpr bool X_TMA = SWIZZLE && TILE_M >= 64;

  extern __shared__ uint4 smem_raw[];
  // Dynamic shared memory: STAGES mbarriers, one per weight-ring slot (with
  // TMA also the activations' of the same K tile; 256 bytes reserved),
  // padding to
  // X_ALIGN, then the rings: X_STAGES activation tiles, STAGES weight (+
  // scale) tiles. Split-K partials reuse the rings after the main loop,
  // never the mbarriers.
  const u32 bar_base = smem_addr(smem_raw);
  u8 *smem = reinterpret_cast<u8 *>(smem_raw) + BAR_BYTES;
  smem += (X_ALIGN - smem_addr(smem) % X_ALIGN) % X_ALIGN;
  u8 *wsmem = smem + X_STAGES * X_STAGE;
  const u32 smem_base = smem_addr(smem);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int gid = lane >> 2;
  const int wg = warp / 4;
  const bool has_bias = bias != nullptr;

  // A warp copies 64 contiguous bytes (two full 32-byte sectors) of each of
  // 8 tokens: chunk c = 32 w + lane is token 8 (w % R) + lane % 8, 16-byte
  // column 4 (w / R) + lane / 8, with R = TILE_M / 8. (Token-consecutive
  // lanes fetched half-used sectors: ncu counted twice the activation bytes
  // into L1.) Thread tid's i-th chunk has w = warp + i WARPS; where R and
  // WARPS divide one another its token and column are the thread's own plus
  // compile-time steps, which keeps registers for the A fragments.
  static_assert(TILE_M % 8 == 0 && TILE_K % 64 == 0, "load_x mapping");
  constexpr int R = TILE_M / 8;
  constexpr bool R_DIV = R % WARPS == 0, W_DIV = WARPS % R == 0;
  const int x_row0 = (R_DIV ? warp : warp % R) * 8 + lane % 8;
  const int x_col0 = (R_DIV ? 0 : warp / R) * 4 + lane / 8;

  if (tid == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s)
      mbar_init_count(bar_base + 8 * s, X_TMA ? 2 : 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  // The next kernel of the stream (launched programmatically: the next
  // layer's GEMM) may start on free SMs now and stream its own weights.
  pdl_allow_next_launch();

  // The main loop over K tiles [kt_first, kt_first + KT) of output tile
  // (nt, mt): weight rows nt * TILE_N.., tokens mt * TILE_M... `seq` counts
  // the weight tiles this CTA consumed before (a stream-K CTA runs several
  // such pieces): it places tile kt in ring slot (seq + kt) % STAGES and
  // gives that slot's mbarrier phase. Also loads the epilogue's row
  // constants into `rc`.
  auto main_loop = [&](int (&acc)[MB][4], RowConsts &rc, int nt, int mt,
                       int kt_first, int KT, int seq) {
    const int m0 = mt * TILE_M;
    const int k_begin = kt_first * TILE_K;
    // Step kt works on K tile (kt + k_rot) % KT: the CTAs of a wave start
    // at different K offsets, so they do not all ask the same L2 lines for
    // the shared activation rows at once. Integer sums do not depend on the
    // order. (Stream-K CTAs start at different offsets anyway.)
    const int k_rot = STREAM_K ? 0 : (nt + mt) % KT;
    auto k_of = [&](int kt) {
      int t = kt + k_rot;
      return k_begin + (t >= KT ? t - KT : t) * TILE_K;
    };
    // The weight and activation ring slots of K tile kt (`seq` carries the
    // rings across a stream-K CTA's pieces), and the tile's mbarrier: its
    // weight slot's, which with TMA also counts the tile's activations (two
    // arrivals, the weight and the activation copies), so each step waits
    // once, where it widens the weights, a step before the activations'
    // wgmma. (A second wait per step, before the batch, took 6-10 % more
    // cycles per step at 128-256 tokens in
    // `bench/gpu/wgmma_overlap.cu --kstep`.)
    auto w_slot = [&](int kt) { return (seq + kt) % STAGES; };
    auto x_slot = [&](int kt) { return (seq + kt) % X_STAGES; };
    auto tile_bar = [&](int kt) { return bar_base + 8 * w_slot(kt); };
    auto load_x = [&](int kt) {
      const int k0 = k_of(kt);
#pragma unroll
      for (int i = 0; i * THREADS < CHUNKS; ++i) {
        if (CHUNKS % THREADS != 0 && i * THREADS + tid >= CHUNKS)
          break;
        int row, col;
        if (R_DIV || W_DIV) {
          row = x_row0 + (R_DIV ? (i * WARPS) % R * 8 : 0);
          col = x_col0 + (R_DIV ? (i * WARPS) / R : i * (WARPS / R)) * 4;
        } else {
          const int w_i = warp + i * WARPS;
          row = (w_i % R) * 8 + lane % 8;
          col = (w_i / R) * 4 + lane / 8;
        }
        const int m = m0 + row;
        const bool p = m < M;
        const i8 *src = x + static_cast<size_t>(p ? m : 0) * K + k0 + col * 16;
        const int off = SWIZZLE ? (col / 8) * (TILE_M * 128) + row * 128 +
                                      ((col % 8) ^ (row % 8)) * 16
                                : col * (TILE_M * 16) + row * 16;
        cp_async16(smem + x_slot(kt) * X_STAGE + off, src, p);
      }
    };
    auto issue_x = [&](int kt) {
      const u32 bar = tile_bar(kt);
      const u32 dst = smem_base + x_slot(kt) * X_STAGE;
      const int k0 = k_of(kt);
      mbar_expect_tx(bar, X_STAGE);
#pragma unroll
      for (int b = 0; b < TILE_K / 128; ++b)
        tma_load_2d(dst + b * (TILE_M * 128), &x_map, k0 + 128 * b, m0, bar);
    };
    // K tile kt's activations into its slot: TMA (one thread) or cp.async
    // (every thread; the caller commits the group, also where it is empty,
    // so that cp_async_wait counts K tiles).
    auto fetch_x = [&](int kt) {
      if (X_TMA) {
        if (tid == 0)
          issue_x(kt);
      } else {
        load_x(kt);
      }
    };
    // One thread copies K tile kt of every warpgroup's weights (and scales)
    // into its ring slot.
    auto issue_w = [&](int kt) {
      const u32 bar = tile_bar(kt);
      const u32 dst = smem_addr(wsmem + w_slot(kt) * W_STAGE);
      const int k0 = k_of(kt);
      mbar_expect_tx(bar, W_STAGE);
#pragma unroll
      for (int g = 0; g < WGS; ++g) {
        size_t nb = static_cast<size_t>(nt) * WGS + g;
        bulk_copy(dst + g * W_WG, w + (nb * (K / 64) + k0 / 64) * 2048, W_WG,
                  bar);
#pragma unroll
        for (int i = 0; i < GPT; ++i) {
          int grp = k0 / G + i;
          bulk_copy(dst + WGS * W_WG + (g * GPT + i) * 128,
                    s_grp + static_cast<size_t>(grp) * N + nb * 64, 128, bar);
        }
      }
    };
    // Tile kt's weights as wgmma A fragments, once its copy has landed.
    auto convert = [&](u32 (&dst)[K64][2][4], int kt) {
      mbar_wait(tile_bar(kt), ((seq + kt) / STAGES) & 1);
      const u8 *ws = wsmem + w_slot(kt) * W_STAGE;
      const unsigned short *sg = reinterpret_cast<const unsigned short *>(
          ws + WGS * W_WG + wg * S_WG);
#pragma unroll
      for (int j = 0; j < K64; ++j) {
        uint4 v = *reinterpret_cast<const uint4 *>(
            ws + wg * W_WG + j * 2048 + (warp % 4) * 512 + lane * 16);
        u32 s_lo = 0, s_hi = 0;
        if (GROUP > 0) {
          const unsigned short *row =
              sg + (G < TILE_K ? 64 * j / G : 0) * 64 + 16 * (warp % 4) + gid;
          s_lo = half2_bits(row[0]);
          s_hi = half2_bits(row[8]);
        }
#pragma unroll
        for (int s = 0; s < 2; ++s)
          a_fragment<GROUP>(v, s, s_lo, s_hi, dst[j][s]);
      }
      fence_a<K64>(dst);
    };

#pragma unroll
    for (int mb = 0; mb < MB; ++mb)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        acc[mb][i] = 0;

    // Both rings run STAGES tiles ahead of the MMAs. A weight tile leaves
    // its slot when it is widened into registers (one step before its MMA),
    // an activation tile when its wgmma group completes (one step after):
    // hence the two extra activation slots. At small M the bytes in flight
    // per SM set the speed.
    constexpr int AHEAD = STAGES;
    // Epilogue constants (cold in L2, like the weights): requested now,
    // used after the loop.
    rc = row_consts(nt * TILE_N + warp * 16, s_ch, bias);
    // Weights are constants: their first tiles stream in while the kernel
    // that produces the activations (and last wrote y) may still run.
    if (tid == 0)
#pragma unroll
      for (int s = 0; s < STAGES; ++s)
        if (s < KT)
          issue_w(s);
    pdl_wait_for_producer();
#pragma unroll
    for (int s = 0; s < AHEAD; ++s) {
      if (s < KT)
        fetch_x(s);
      if (!X_TMA)
        cp_async_commit();
    }

    // Two A-fragment buffers: wgmma reads tile kt's registers while tile
    // kt + 1 is widened into the other one (its previous reader, tile
    // kt - 1, has completed by then). The loop is written as two
    // role-swapped steps so no register array is indexed at run time.
    u32 a0[K64][2][4], a1[K64][2][4];
    convert(a0, 0);
    auto step = [&](int kt, u32(&acur)[K64][2][4], u32(&anext)[K64][2][4]) {
      if (!X_TMA) {
        cp_async_wait<AHEAD - 1>();
        // cp.async wrote through the generic proxy; wgmma reads through the
        // async proxy.
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
      }
      // Every warpgroup has completed tile kt - 2's wgmma (its activation
      // slot can be refilled) and widened tile kt's weights (so can its
      // weight slot).
      __syncthreads();
      if (kt + AHEAD < KT)
        fetch_x(kt + AHEAD);
      if (!X_TMA)
        cp_async_commit();
      if (kt + STAGES < KT && tid == 0)
        issue_w(kt + STAGES);

      const u32 stage_addr = smem_base + x_slot(kt) * X_STAGE;
      fence_acc<MB>(acc);
      asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
      for (int j = 0; j < K64; ++j)
#pragma unroll
        for (int s = 0; s < 2; ++s) {
          const int kb = 64 * j + 32 * s; // the k-slice's first byte
          const unsigned long long desc =
              SWIZZLE ? wgmma_desc_sw128(stage_addr +
                                         (kb / 128) * (TILE_M * 128) + kb % 128)
                      : wgmma_desc_noswizzle(
                            stage_addr + (kb / 16) * (TILE_M * 16),
                            TILE_M * 16, 128);
          WgmmaS8<TILE_M>::mma(acc, acur[j][s], desc);
        }
      asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
      // Tile kt - 1's group is done: its A registers can be overwritten.
      asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
      fence_acc<MB>(acc);
      if (kt + 1 < KT)
        convert(anext, kt + 1);
    };
#pragma unroll 1
    for (int kt = 0; kt < KT; kt += 2) {
      step(kt, a0, a1);
      if (kt + 1 < KT)
        step(kt + 1, a1, a0);
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fence_acc<MB>(acc);
    if (!X_TMA)
      cp_async_wait<0>();
  };
  // 16 q was multiplied per channel: the sum divides exactly by 16.
  auto unscale = [&](int (&acc)[MB][4]) {
    if (GROUP == 0)
#pragma unroll
      for (int mb = 0; mb < MB; ++mb)
#pragma unroll
        for (int i = 0; i < 4; ++i)
          acc[mb][i] >>= 4;
  };

  // The epilogue through shared memory: the accumulator fragments (each
  // thread's outputs scattered over 2 tokens x 2 weight rows per block)
  // become f16 in a [TILE_M][TILE_N + 8] tile over the drained rings, then
  // each token's TILE_N outputs leave as 16-byte stores of whole sectors
  // (stored straight from the fragments, 2-byte stores filled half of each
  // 32-byte sector: ncu counted the output twice in L2 sectors). The 8
  // halves of padding put the 4 tokens a warp writes at once in different
  // banks.
  constexpr int Y_STRIDE = TILE_N + 8;
  auto store_tile = [&](const int (&acc)[MB][4], const RowConsts &rc,
                        int nt, int mt) {
    const int m0 = mt * TILE_M;
    __half *tile = reinterpret_cast<__half *>(smem);
    __syncthreads(); // every warpgroup's wgmma and copies are done with the rings
    // Per token block mb, this warp's two 8x8 blocks (weight rows gid and
    // gid + 8 of its 16, tokens 2 tig and 2 tig + 1) go out as f16x2 pairs
    // through transposing stmatrix, two token blocks per x4 (one STS.U16 per
    // output before). Lane l addresses row l % 8 of matrix l / 8: token
    // block mb + l / 16, weight half (l / 8) % 2. Token rows past M hold
    // whatever their (zero) scale gives; they are not copied out.
    const int tig2 = 2 * (lane & 3);
    const u32 row_addr =
        smem_addr(tile) +
        2u * (((lane >> 4) * 8 + (lane & 7)) * Y_STRIDE + warp * 16 +
              ((lane >> 3) & 1) * 8);
    auto pairs = [&](int mb, u32 &lo, u32 &hi) {
      const int m = m0 + 8 * mb + tig2;
      const float t0 = m < M ? s_tok[m] : 0.0f;
      const float t1 = m + 1 < M ? s_tok[m + 1] : 0.0f;
      lo = epilogue_pair(acc[mb][0], acc[mb][1], t0, t1, rc.s_ch[0],
                         rc.bias[0], has_bias);
      hi = epilogue_pair(acc[mb][2], acc[mb][3], t0, t1, rc.s_ch[1],
                         rc.bias[1], has_bias);
    };
#pragma unroll
    for (int mb = 0; mb + 1 < MB; mb += 2) {
      u32 r0, r1, r2, r3;
      pairs(mb, r0, r1);
      pairs(mb + 1, r2, r3);
      stmatrix_x4_trans(row_addr + 2u * 8 * mb * Y_STRIDE, r0, r1, r2, r3);
    }
    if constexpr (MB % 2 == 1) {
      u32 r0, r1;
      pairs(MB - 1, r0, r1);
      stmatrix_x2_trans(row_addr + 2u * 8 * (MB - 1) * Y_STRIDE, r0, r1);
    }
    __syncthreads();
    constexpr int ROW_CHUNKS = TILE_N / 8;
#pragma unroll
    for (int c = tid; c < TILE_M * ROW_CHUNKS; c += THREADS) {
      const int r = c / ROW_CHUNKS, col = c % ROW_CHUNKS;
      if (m0 + r < M)
        *reinterpret_cast<uint4 *>(y + static_cast<size_t>(m0 + r) * N +
                                   nt * TILE_N + col * 8) =
            *reinterpret_cast<const uint4 *>(tile + r * Y_STRIDE + col * 8);
    }
  };

  int acc[MB][4];
  RowConsts rc;
  if (!STREAM_K) {
    const int z = static_cast<int>(blockIdx.z);
    const int kt_first = z * (KT_ALL / SPLIT_K) + min(z, KT_ALL % SPLIT_K);
    const int KT = KT_ALL / SPLIT_K + (z < KT_ALL % SPLIT_K ? 1 : 0);
    // The launch runs x (weight-row blocks) fastest; token tiles first
    // renumbers the (x, y) CTAs so that consecutive ones share a block. A
    // cluster's CTAs differ only in z, so they keep one output tile.
    int nt = static_cast<int>(blockIdx.x), mt = static_cast<int>(blockIdx.y);
    if constexpr (TOKEN_TILES_FIRST) {
      const int id = nt + static_cast<int>(gridDim.x) * mt;
      mt = id % static_cast<int>(gridDim.y);
      nt = id / static_cast<int>(gridDim.y);
    }
    const int nrow0 = nt * TILE_N + warp * 16, m0 = mt * TILE_M;
    main_loop(acc, rc, nt, mt, kt_first, KT, 0);
    unscale(acc);
    if constexpr (SPLIT_K == 1) {
      store_tile(acc, rc, nt, mt);
    } else {
      // The SPLIT_K CTAs of an output tile form a cluster: each leaves its
      // int32 partials in its own shared memory (the drained ring), as
      // pairs (the two tokens of a fragment's weight row, 8-byte stores),
      // and CTA r sums pairs u with u % SPLIT_K == r over the whole cluster
      // (distributed shared memory) and writes those outputs. No
      // workspace, no atomics; integer sums are exact in any order. Every
      // remote load of a CTA is issued before any is used, and the
      // outputs' token scales are loaded between the cluster barrier's
      // arrive and its wait: one latency of each, where a slot at a time
      // (scalar loads, then the scale) took one per slot (M = 16, k = 4:
      // about 1.5 us of 7).
      // PAIRS * THREADS int2 = TILE_M * TILE_N * 4 bytes at the start of
      // the dynamic shared memory (launchGeometry sizes it for both uses).
      constexpr int PAIRS = MB * 2; // (mb, h): acc[mb][2h], acc[mb][2h + 1]
      constexpr int MINE = (PAIRS + SPLIT_K - 1) / SPLIT_K;
      static_assert(PAIRS * THREADS * 2 == TILE_M * TILE_N,
                    "one int32 per output");
      int2 *red = reinterpret_cast<int2 *>(smem);
      // Every warpgroup's wgmma and copies are done with the ring.
      __syncthreads();
#pragma unroll
      for (int mb = 0; mb < MB; ++mb)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          red[(mb * 2 + h) * THREADS + tid] =
              make_int2(acc[mb][2 * h], acc[mb][2 * h + 1]);
      const int rank = static_cast<int>(cluster_ctarank());
      // This CTA's pairs: u = q * SPLIT_K + rank (u < PAIRS), tokens
      // m0 + 8 (u / 2) + 2 tig + {0, 1}, weight row nrow0 + gid + 8 (u % 2).
      const int tok0 = m0 + 2 * (lane & 3);
      cluster_arrive_release();
      float st[MINE][2];
#pragma unroll
      for (int q = 0; q < MINE; ++q) {
        const int u = min(q * SPLIT_K + rank, PAIRS - 1);
        const int m = tok0 + 8 * (u / 2);
        // Coherent loads: ptxas sinks read-only (.nc) ones past the wait.
        st[q][0] = m < M ? ld_global_f32(s_tok + m) : 0.0f;
        st[q][1] = m + 1 < M ? ld_global_f32(s_tok + m + 1) : 0.0f;
      }
      cluster_wait_acquire();
      const u32 mine = smem_addr(red) + 8u * tid;
      u32 peer[SPLIT_K];
#pragma unroll
      for (int p = 0; p < SPLIT_K; ++p)
        peer[p] = mapa_cluster(mine, p);
      int2 sum[MINE];
#pragma unroll
      for (int q = 0; q < MINE; ++q) {
        const int u = min(q * SPLIT_K + rank, PAIRS - 1);
        sum[q] = make_int2(0, 0);
#pragma unroll
        for (int p = 0; p < SPLIT_K; ++p) {
          const int2 v = ld_cluster_v2_s32(peer[p] + 8u * u * THREADS);
          sum[q].x += v.x;
          sum[q].y += v.y;
        }
      }
      const int n = nrow0 + (lane >> 2);
#pragma unroll
      for (int q = 0; q < MINE; ++q) {
        const int u = q * SPLIT_K + rank;
        if (u >= PAIRS)
          break;
        const int h = u % 2, m = tok0 + 8 * (u / 2);
        const float sc = h ? rc.s_ch[1] : rc.s_ch[0];
        const float bs = h ? rc.bias[1] : rc.bias[0];
        __half *dst = y + static_cast<size_t>(m) * N + n + 8 * h;
        if (m < M)
          dst[0] = epilogue(sum[q].x, st[q][0], sc, bs, has_bias);
        if (m + 1 < M)
          dst[N] = epilogue(sum[q].y, st[q][1], sc, bs, has_bias);
      }
      // No CTA leaves while its partials may still be read.
      cluster_sync_relaxed();
    }
    return;
  }

  // Stream-K: the (output tile, K tile) iterations, tile-major, split into
  // gridDim.x near-equal contiguous ranges, one per CTA (a persistent grid
  // of one CTA per SM). A CTA's range is a tail of one tile (K tiles from
  // some k0 > 0 on), whole tiles, then a head of another (from K tile 0):
  // so it holds at most one tail. Tail holders store their int32 partials
  // in their own workspace slot (TILE_M * TILE_N int32, 16 bytes per thread
  // and accumulator block: coalesced, no atomics) and raise their flag. The
  // CTA holding a tile's head finishes it: it runs the head last and the
  // tail holders (the next CTAs) run theirs first, so it rarely waits; it
  // adds their slots to its sums and resets their flags. The flags come
  // first in the workspace, at the same place for every tile size, and are
  // zero again after each launch, so one workspace serves every stream-K
  // GEMM of a stream; the slots are scratch (a tail overwrites all of its
  // slot), so nobody zeroes them: 1.03-1.09x on the table's stream-K
  // entries (docs/kernels.md).
  constexpr int TILES_N = N / TILE_N;
  constexpr int SLOT = TILE_M * TILE_N;
  // 32-bit counts (whyInvalid bounds the iterations up to max_m tokens),
  // 64-bit products. They are recomputed where used rather than kept live
  // across the main loop (registers: the 16-warp tiles have 128).
  auto units = [&] { return TILES_N * ((M + TILE_M - 1) / TILE_M) * KT_ALL; };
  // With fewer iterations than CTAs the surplus CTAs have nothing to do;
  // below that every CTA gets at least one iteration.
  auto ctas = [&] { return min(static_cast<int>(gridDim.x), units()); };
  const int c = static_cast<int>(blockIdx.x);
  if (c >= ctas())
    return;
  // The first iteration of CTA i's range, and the CTA whose range holds
  // iteration u.
  auto first_of = [&](int i) {
    return static_cast<int>(static_cast<long long>(i) * units() / ctas());
  };
  auto owner = [&](int u) {
    return static_cast<int>((static_cast<long long>(u + 1) * ctas() - 1) /
                            units());
  };
  // gridDim.x flags, padded to 128 bytes, then one slot per CTA.
  auto flag = [&](int cta) { return workspace + cta; };
  auto slot_of = [&](int cta, int mb) {
    int *base = workspace + ((gridDim.x + 31u) & ~31u) +
                static_cast<size_t>(cta) * SLOT;
    return reinterpret_cast<int4 *>(base) + mb * THREADS + tid;
  };
  // Only `seq` (iterations done) stays live across the main loop; the
  // piece's tile and K range are recomputed from it.
  for (int seq = 0; first_of(c) + seq < first_of(c + 1);) {
    {
      const int u = first_of(c) + seq;
      const int t = u / KT_ALL;
      const int k0 = u - t * KT_ALL;
      const int k1 = min(KT_ALL, k0 + (first_of(c + 1) - u));
      if (seq > 0) // every thread is done with the rings' previous contents
        __syncthreads();
      main_loop(acc, rc, t % TILES_N, t / TILES_N, k0, k1 - k0, seq);
      seq += k1 - k0;
    }
    // A piece starts at the CTA's first iteration or at a tile's first.
    const int u = first_of(c) + seq; // one past the piece
    const int t = (u - 1) / KT_ALL;
    const int k1 = u - t * KT_ALL;
    const int k0 = max(first_of(c), t * KT_ALL) - t * KT_ALL;
    if (k0 > 0) { // a tail: publish the partials
#pragma unroll
      for (int mb = 0; mb < MB; ++mb)
        __stcg(slot_of(c, mb),
               make_int4(acc[mb][0], acc[mb][1], acc[mb][2], acc[mb][3]));
      __syncthreads();
      if (tid == 0)
        red_release_add_s32(flag(c), 1);
      continue;
    }
    if (k1 < KT_ALL) {
      // A head: the tile's other CTAs are c + 1 .. the last one's owner.
      const int last = owner((t + 1) * KT_ALL - 1);
      for (int p = c + 1; p <= last; ++p) {
        if (tid == 0) {
          while (ld_acquire_s32(flag(p)) == 0)
            __nanosleep(32);
          *flag(p) = 0;
        }
        __syncthreads();
#pragma unroll
        for (int mb = 0; mb < MB; ++mb) {
          const int4 v = __ldcg(slot_of(p, mb));
          acc[mb][0] += v.x;
          acc[mb][1] += v.y;
          acc[mb][2] += v.z;
          acc[mb][3] += v.w;
        }
      }
    }
    unscale(acc);
    store_tile(acc, rc, t % TILES_N, t / TILES_N);
  }
}

// One CTA per output tile (split_k = 1) or stream-K: no cluster. A kernel
// compiled with cluster dimensions launches slower even when they are
// (1, 1, 1): 0.05-0.45 us more per launch for 96-264 CTAs in a graph on
// the H100, more with programmatic launch (docs/kernels.md, "Launch cost
// of a cluster").
template <int N, int K, int GROUP, int TILE_M, int TILE_N, int TILE_K,
          int STAGES, int WARPS, int SPLIT_K, bool STREAM_K = false,
          bool TOKEN_TILES_FIRST = false>
__global__ void __launch_bounds__(WARPS * 32)
    w4a8_gemm_sm90(const i8 *__restrict__ x, const float *__restrict__ s_tok,
                   const u8 *__restrict__ w, const float *__restrict__ s_ch,
                   const __half *__restrict__ s_grp,
                   const __half *__restrict__ bias, __half *__restrict__ y,
                   int M, int *__restrict__ workspace,
                   const __grid_constant__ TmaMap x_map) {
  static_assert(SPLIT_K == 1, "split_k > 1: w4a8_gemm_sm90_cluster");
  w4a8_gemm_sm90_body<N, K, GROUP, TILE_M, TILE_N, TILE_K, STAGES, WARPS,
                      SPLIT_K, STREAM_K, TOKEN_TILES_FIRST>(
      x, s_tok, w, s_ch, s_grp, bias, y, M, workspace, x_map);
}

// Cluster split-K: the SPLIT_K CTAs of an output tile are one cluster.
template <int N, int K, int GROUP, int TILE_M, int TILE_N, int TILE_K,
          int STAGES, int WARPS, int SPLIT_K, bool TOKEN_TILES_FIRST = false>
__global__ void __launch_bounds__(WARPS * 32) __cluster_dims__(1, 1, SPLIT_K)
    w4a8_gemm_sm90_cluster(const i8 *__restrict__ x,
                           const float *__restrict__ s_tok,
                           const u8 *__restrict__ w,
                           const float *__restrict__ s_ch,
                           const __half *__restrict__ s_grp,
                           const __half *__restrict__ bias,
                           __half *__restrict__ y, int M,
                           int *__restrict__ workspace,
                           const __grid_constant__ TmaMap x_map) {
  static_assert(SPLIT_K > 1, "split_k = 1: w4a8_gemm_sm90");
  w4a8_gemm_sm90_body<N, K, GROUP, TILE_M, TILE_N, TILE_K, STAGES, WARPS,
                      SPLIT_K, false, TOKEN_TILES_FIRST>(
      x, s_tok, w, s_ch, s_grp, bias, y, M, workspace, x_map);
}

} // namespace qqq
