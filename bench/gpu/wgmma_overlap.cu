// wgmma_overlap.cu - how much CUDA-core work hides under wgmma s8 on one
// SM (docs/kernels.md, "wgmma with register A and CUDA-core work").
//
// One CTA per SM (or two) runs a loop shaped like the GEMM's K step on data
// that stays in shared memory (no global traffic): wgmma m64nNk32 s8 batches
// of 4 (one 128-wide K tile), commit, wait_group 1, then the next tile's
// work. Variants:
//   rs           A in registers (fixed), nothing else
//   ss           A from shared memory, nothing else
//   rs_ch        the per-channel widening of the next tile's weights (LDS +
//                shifts/masks) and a CTA barrier per step: the GEMM's step
//   rs_grp       the same with the per-group widening (f16x2, qqq_common.cuh)
//   rs_ch_alu    rs_ch plus 64 dependent LOP3 per thread per step
//   ss_ch_alu    the same CUDA-core work, A from shared memory (the widened
//                registers are not the MMA's operand)
//   ss_stsm_ch   SS with the widened tile staged through stmatrix into a
//                128-byte-swizzled A tile (fence.proxy.async per step)
//   ss_stsm_grp  the same, per group
//   rs_ch_ring   rs_ch with the GEMM's rings: B from 6 slots (one per step,
//                in turn), weights from 4 (same bytes in every slot, so the
//                checksum is rs_ch's)
//   rs_ch_mbar   rs_ch with the GEMM's mbarrier waits: every thread waits on
//                the activation slot's mbarrier before the batch and on the
//                weight slot's before widening; thread 0 completes each
//                phase (arrive, no bytes) four steps ahead, as it issues the
//                GEMM's copies
//   rs_ch_both   both
//   rs_ch_one    both, with one wait per step: the activations complete on
//                the weight slot's mbarrier, waited before widening a step
//                ahead (the GEMM since the tenth session)
//   rs_ch_early  rs_ch_one with the wait split: mbarrier.test_wait right
//                after the CTA barrier, its answer read after wait_group
//                (try_wait only where the phase was not yet complete)
// Prints MACs per clock per SM (of 4096, the int8 dense peak) and cycles per
// K step; the stmatrix variants' checksums must equal their RS twins'.
// Build and run on the GPU machine: bash bench/gpu/run_wgmma_overlap.sh
// (wgmma_s8_ss.cuh: python3 kernels-templates/gen_wgmma_s8.py --ss ...).
#include "w4a8_gemm_sm90.cuh"
#include "wgmma_s8_ss.cuh"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace qqq;

#define CHECK_CUDA(x)                                                          \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e));    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

enum Mode { RS, SS, RS_CH, RS_GRP, RS_CH_ALU, SS_CH_ALU, SS_STSM_CH, SS_STSM_GRP,
            RS_CH_RING, RS_CH_MBAR, RS_CH_BOTH, RS_CH_ONE, RS_CH_EARLY };

// Whether the phase of `parity` has completed, without blocking (the
// rs_ch_early step reads the answer well after asking).
__device__ __forceinline__ u32 mbar_test(u32 bar, u32 parity) {
  u32 done;
  asm volatile("{\n.reg .pred p;\n"
               "mbarrier.test_wait.parity.shared::cta.b64 p, [%1], %2;\n"
               "selp.u32 %0, 1, 0, p;\n}\n"
               : "=r"(done)
               : "r"(bar), "r"(parity)
               : "memory");
  return done;
}

// The GEMM's ring depths at 4 stages: activation slots, weight slots.
constexpr int X_RING = 6, W_RING = 4;

__host__ __device__ constexpr bool widens(Mode m) { return m != RS && m != SS; }
__host__ __device__ constexpr bool rings(Mode m) {
  return m == RS_CH_RING || m == RS_CH_BOTH || m == RS_CH_ONE ||
         m == RS_CH_EARLY;
}
__host__ __device__ constexpr bool mbars(Mode m) {
  return m == RS_CH_MBAR || m == RS_CH_BOTH || m == RS_CH_ONE ||
         m == RS_CH_EARLY;
}
__host__ __device__ constexpr bool oneWait(Mode m) {
  return m == RS_CH_ONE || m == RS_CH_EARLY;
}
__host__ __device__ constexpr bool group(Mode m) { return m == RS_GRP || m == SS_STSM_GRP; }
__host__ __device__ constexpr bool extraAlu(Mode m) { return m == RS_CH_ALU || m == SS_CH_ALU; }
__host__ __device__ constexpr bool staged(Mode m) { return m == SS_STSM_CH || m == SS_STSM_GRP; }
__host__ __device__ constexpr bool aFromSmem(Mode m) { return m == SS || m == SS_CH_ALU; }

// Shared memory: B tile (NT tokens x 128 bytes, swizzled), a fixed A tile per
// warpgroup (64 x 128 bytes), two packed weight tiles per warpgroup (2 x 4
// KiB, the GEMM's layout, plus group scales in front), two staged A tiles
// per warpgroup. The ring modes: 6 B slots and 4 weight slots per
// warpgroup, nothing else.
template <int NT, int WGS, Mode MODE>
__global__ void __launch_bounds__(WGS * 128)
    overlap(const uint4 *src, int *out, long long *cycles, int steps) {
  extern __shared__ uint4 smem_raw[];
  u8 *smem = reinterpret_cast<u8 *>(smem_raw);
  smem += (1024 - smem_addr(smem) % 1024) % 1024;
  // (The ring modes leave out the fixed A tiles, which they do not read:
  // 256-token slots would not fit otherwise.)
  constexpr int B_BYTES = NT * 128, A_BYTES = rings(MODE) ? 0 : WGS * 8192;
  // Tile it uses B slot it % X_SLOTS and weight slot it % W_SLOTS.
  constexpr int X_SLOTS = rings(MODE) ? X_RING : 1;
  constexpr int W_SLOTS = rings(MODE) ? W_RING : 2;
  constexpr int W_BYTES = W_SLOTS * WGS * 4096;
  // mbars(): X_RING activation-slot mbarriers, then W_RING weight-slot ones.
  __shared__ unsigned long long bars[X_RING + W_RING];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wg = warp / 4, gid = lane >> 2;
  // B slots (copies of one tile), the fixed A tiles, the weight slots
  // (copies of two tiles, alternating), the staged A tiles.
  constexpr int X_ALL = X_SLOTS * B_BYTES;
  for (int i = tid; i < (X_ALL + A_BYTES + W_BYTES) / 16; i += blockDim.x) {
    int j = i * 16 < X_ALL ? (i * 16 % B_BYTES) / 16
            : i * 16 < X_ALL + A_BYTES
                ? (i * 16 - X_ALL + B_BYTES) / 16
                : (B_BYTES + WGS * 8192 +
                   (i * 16 - X_ALL - A_BYTES) % (2 * WGS * 4096)) / 16;
    reinterpret_cast<uint4 *>(smem)[i] = src[j];
  }
  const u32 bar0 = smem_addr(bars);
  if (mbars(MODE) && tid == 0) {
    for (int i = 0; i < X_RING + W_RING; ++i)
      mbar_init(bar0 + 8 * i);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    for (int t = 0; t < W_RING; ++t) { // the prologue's copies of 4 tiles
      mbar_expect_tx(bar0 + 8 * (t % X_RING), 0);
      mbar_expect_tx(bar0 + 8 * (X_RING + t % W_RING), 0);
    }
  }
  __syncthreads();
  const u32 b_base = smem_addr(smem);
  const u32 a_fixed = b_base + X_ALL + wg * 8192;
  const u32 a_staged = b_base + X_ALL + A_BYTES + W_BYTES + wg * 8192;
  const u8 *w_base = smem + X_ALL + A_BYTES;

  int acc[NT / 8][4];
  for (int m = 0; m < NT / 8; ++m)
    for (int i = 0; i < 4; ++i)
      acc[m][i] = 0;
  // The weight tile's two K64 blocks as A fragments (like the GEMM's
  // convert); scales are finite f16 below 1 taken from the data.
  auto widen = [&](u32 (&dst)[2][2][4], int buf) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      uint4 v = *reinterpret_cast<const uint4 *>(
          w_base + buf * WGS * 4096 + wg * 4096 + j * 2048 + (warp % 4) * 512 +
          lane * 16);
      u32 s_lo = 0, s_hi = 0;
      if (group(MODE)) {
        const unsigned short *row =
            reinterpret_cast<const unsigned short *>(w_base) +
            16 * (warp % 4) + gid + j;
        s_lo = half2_bits(row[0] & 0x3bff);
        s_hi = half2_bits(row[8] & 0x3bff);
      }
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        if (group(MODE))
          a_fragment<128>(v, s, s_lo, s_hi, dst[j][s]);
        else
          a_fragment<0>(v, s, 0, 0, dst[j][s]);
      }
      if (extraAlu(MODE)) {
        u32 c[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int r = 0; r < 8; ++r)
#pragma unroll
          for (int q = 0; q < 4; ++q)
            asm("lop3.b32 %0, %0, %1, %2, 0x96;" : "+r"(c[q]) : "r"(0x12345u), "r"(v.x));
#pragma unroll
        for (int q = 0; q < 4; ++q)
          dst[j][q / 2][q % 2] ^= c[q] & 0x01010101u;
      }
    }
    fence_a<2>(dst);
  };
  // stmatrix of the 4 A registers of each k32 slice: matrix i is rows
  // 8 (i & 1).., bytes 16 (i >> 1).. of the warp's 16 x 32 block.
  auto stage = [&](const u32 (&a)[2][2][4], int slot) {
    const u32 base = a_staged + slot * WGS * 8192;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        const int i = lane / 8, r = lane % 8;
        const int row = 16 * (warp % 4) + r + 8 * (i & 1);
        const int chunk = (64 * j + 32 * s + 16 * (i >> 1)) / 16;
        const u32 addr = base + row * 128 + (chunk ^ (row % 8)) * 16;
        asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, "
                     "%3, %4};\n" ::"r"(addr),
                     "r"(a[j][s][0]), "r"(a[j][s][1]), "r"(a[j][s][2]),
                     "r"(a[j][s][3])
                     : "memory");
      }
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  };

  u32 a0[2][2][4], a1[2][2][4];
  widen(a0, 0);
  widen(a1, 1);
  if (staged(MODE))
    stage(a0, 0);
  __syncthreads();
  const long long t0 = clock64();
  auto step = [&](u32(&acur)[2][2][4], u32(&anext)[2][2][4], int it) {
    if (widens(MODE))
      __syncthreads();
    const u32 w_next = bar0 + 8 * (X_RING + (it + 1) % W_RING);
    const u32 w_parity = ((it + 1) / W_RING) & 1;
    const u32 landed = MODE == RS_CH_EARLY ? mbar_test(w_next, w_parity) : 0;
    if (mbars(MODE)) {
      if (tid == 0) { // tile it + 4's copies: activation slot, weight slot
        mbar_expect_tx(bar0 + 8 * ((it + W_RING) % X_RING), 0);
        mbar_expect_tx(bar0 + 8 * (X_RING + it % W_RING), 0);
      }
      if (!oneWait(MODE))
        mbar_wait(bar0 + 8 * (it % X_RING), (it / X_RING) & 1);
    }
    const u32 b_slot = b_base + (it % X_SLOTS) * B_BYTES;
    fence_acc<NT / 8>(acc);
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        const int kb = 64 * j + 32 * s;
        const unsigned long long b = wgmma_desc_sw128(b_slot + kb);
        if constexpr (staged(MODE))
          WgmmaS8SS<NT>::mma(
              acc, wgmma_desc_sw128(a_staged + (it & 1) * WGS * 8192 + kb), b);
        else if constexpr (aFromSmem(MODE))
          WgmmaS8SS<NT>::mma(acc, wgmma_desc_sw128(a_fixed + kb), b);
        else
          WgmmaS8<NT>::mma(acc, acur[j][s], b);
      }
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
    fence_acc<NT / 8>(acc);
    if (mbars(MODE) && !landed)
      mbar_wait(w_next, w_parity);
    if (widens(MODE))
      widen(anext, rings(MODE) ? it % W_SLOTS : it & 1);
    if (staged(MODE))
      stage(anext, (it + 1) & 1);
  };
#pragma unroll 1
  for (int it = 0; it < steps; it += 2) {
    step(a0, a1, it);
    step(a1, a0, it + 1);
  }
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
  fence_acc<NT / 8>(acc);
  const long long t1 = clock64();
  int sum = 0;
  for (int m = 0; m < NT / 8; ++m)
    for (int i = 0; i < 4; ++i)
      sum += acc[m][i];
  atomicAdd(out, sum);
  if (tid == 0)
    cycles[blockIdx.x] = t1 - t0;
}

struct Buffers {
  const uint4 *src;
  int *out;
  long long *cycles;
  int sms;
};

template <int NT, int WGS, Mode MODE>
void run(const char *name, int ctasPerSm, const Buffers &b) {
  const int steps = 2000, grid = b.sms * ctasPerSm;
  const bool ring = rings(MODE);
  int bytes = ring ? X_RING * NT * 128 + W_RING * WGS * 4096 + 1024
                   : NT * 128 + WGS * 8192 + 2 * WGS * 4096 + 2 * WGS * 8192 + 1024;
  // Reserve enough shared memory to pin the CTAs per SM.
  bytes = std::max(bytes, ctasPerSm == 2 ? 100 * 1024 : 150 * 1024);
  auto k = overlap<NT, WGS, MODE>;
  CHECK_CUDA(cudaFuncSetAttribute(
      k, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  int resident = 0;
  CHECK_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, k,
                                                           WGS * 128, bytes));
  if (resident < ctasPerSm) {
    std::printf("%-12s NT=%3d WGS=%d: %d CTAs per SM do not fit\n", name, NT,
                WGS, ctasPerSm);
    return;
  }
  CHECK_CUDA(cudaMemset(b.out, 0, sizeof(int)));
  k<<<grid, WGS * 128, bytes>>>(b.src, b.out, b.cycles, steps);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaDeviceSynchronize());
  int checksum = 0;
  CHECK_CUDA(cudaMemcpy(&checksum, b.out, sizeof(int), cudaMemcpyDeviceToHost));
  std::vector<long long> c(grid);
  std::vector<double> perStep;
  for (int rep = 0; rep < 5; ++rep) {
    k<<<grid, WGS * 128, bytes>>>(b.src, b.out, b.cycles, steps);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaMemcpy(c.data(), b.cycles, grid * sizeof(long long),
                          cudaMemcpyDeviceToHost));
    std::sort(c.begin(), c.end());
    perStep.push_back(double(c[grid / 2]) / steps);
  }
  std::sort(perStep.begin(), perStep.end());
  const double cyc = perStep[2]; // median of 5 runs of the median CTA
  const double macs = double(WGS) * 4 * 64 * NT * 32 * ctasPerSm;
  std::printf("%-12s NT=%3d WGS=%d CTAs/SM=%d  %6.0f cycles/step  %5.2f of "
              "peak  checksum %d\n",
              name, NT, WGS, ctasPerSm, cyc, macs / cyc / 4096, checksum);
}

template <int NT, int WGS> void all(const Buffers &b) {
  run<NT, WGS, RS>("rs", 1, b);
  run<NT, WGS, SS>("ss", 1, b);
  run<NT, WGS, RS_CH>("rs_ch", 1, b);
  run<NT, WGS, RS_CH_ALU>("rs_ch_alu", 1, b);
  run<NT, WGS, SS_CH_ALU>("ss_ch_alu", 1, b);
  run<NT, WGS, SS_STSM_CH>("ss_stsm_ch", 1, b);
  run<NT, WGS, RS_GRP>("rs_grp", 1, b);
  run<NT, WGS, SS_STSM_GRP>("ss_stsm_grp", 1, b);
}

// The GEMM's K step, feature by feature (rings, mbarrier waits), after its
// baseline rs_ch where `all` does not run that.
template <int NT, int WGS> void kstep(const Buffers &b, bool baseline) {
  if (baseline)
    run<NT, WGS, RS_CH>("rs_ch", 1, b);
  run<NT, WGS, RS_CH_RING>("rs_ch_ring", 1, b);
  run<NT, WGS, RS_CH_MBAR>("rs_ch_mbar", 1, b);
  run<NT, WGS, RS_CH_BOTH>("rs_ch_both", 1, b);
  run<NT, WGS, RS_CH_ONE>("rs_ch_one", 1, b);
  run<NT, WGS, RS_CH_EARLY>("rs_ch_early", 1, b);
}

int main(int argc, char **argv) {
  const bool onlyKStep = argc > 1 && std::string(argv[1]) == "--kstep";
  int dev = 0, sms = 0;
  CHECK_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, dev));
  std::printf("%s, %d SMs; 4096 MACs/clock/SM = int8 dense peak\n", prop.name,
              sms);
  // Random bytes: packed weights, scales (masked to finite f16 < 1), tiles.
  const size_t bytes = 256 * 128 + 4 * 8192 + 2 * 4 * 4096 + 4096;
  std::vector<unsigned> host(bytes / 4);
  unsigned x = 12345;
  for (auto &v : host)
    v = x = x * 1664525u + 1013904223u;
  uint4 *src;
  int *out;
  long long *cycles;
  CHECK_CUDA(cudaMalloc(&src, bytes));
  CHECK_CUDA(cudaMalloc(&out, sizeof(int)));
  CHECK_CUDA(cudaMalloc(&cycles, 2 * sms * sizeof(long long)));
  CHECK_CUDA(cudaMemcpy(src, host.data(), bytes, cudaMemcpyHostToDevice));
  Buffers b{src, out, cycles, sms};
  if (onlyKStep) {
    kstep<64, 2>(b, true);
    kstep<128, 2>(b, true);
    kstep<128, 4>(b, true);
    kstep<256, 1>(b, true);
    kstep<256, 2>(b, true);
    return 0;
  }
  all<16, 1>(b);
  all<16, 4>(b);
  all<64, 2>(b);
  kstep<64, 2>(b, false);
  all<64, 4>(b);
  all<128, 2>(b);
  kstep<128, 2>(b, false);
  all<128, 4>(b);
  kstep<128, 4>(b, false);
  all<256, 1>(b);
  kstep<256, 1>(b, false);
  all<256, 2>(b);
  kstep<256, 2>(b, false);
  run<128, 2, RS_GRP>("rs_grp", 2, b);
  run<64, 2, RS_CH>("rs_ch", 2, b);
  return 0;
}
