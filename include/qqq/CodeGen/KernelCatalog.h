//===- KernelCatalog.h - The W4A8 kernel templates and their configs -*- C++ -*-===//
//
// The contract between the kernel templates (kernels-templates/*.cuh) and the
// code generator / runtime / passes. Plain C++17: no CUDA, no MLIR types.
//
// Families (one template file each, under kernels-templates/):
//
//   w4a8_gemm_sm90      w4a8_gemm_sm90.cuh     sm_90a  wgmma.mma_async s8,
//                                                      A (weights) in registers
//   w4a8_gemm_sm80      w4a8_gemm_sm80.cuh     sm_80   mma.sync.m16n8k32.s8
//                                                      (also runs on sm_90a)
//   quantize_act        quantize_act.cuh       any     f16 -> int8 + f32 scale
//   rms_norm_quantize   rms_norm_quantize.cuh  any     RMSNorm fused -> int8
//
// All templates include only <cuda_fp16.h> (NVRTC with the CUDA include dir
// on the path) and the shared helper kernels-templates/qqq_common.cuh
// (include path: kernels-templates/). Each kernel is `extern "C++"` template
// `__global__` in namespace qqq; the NVRTC name expression is what
// instantiationExpression returns (pass it to nvrtcAddNameExpression, then
// nvrtcGetLoweredName).
//
// GEMM kernels (both families), argument order:
//   (const int8_t*  x,         // M x K int8 activations, row-major
//                              // (x and y 16-byte aligned: rows move in
//                              // 16-byte chunks)
//    const float*   s_tok,     // M per-token scales
//    const uint8_t* w_packed,  // N*K/2 bytes in the family's layout
//                              //   (sm90_interleaved / sm80_interleaved,
//                              //    include/qqq/Numerics/KernelLayouts.h)
//    const float*   s_ch,      // N per-channel scales
//    const __half*  s_grp,     // (K/G) x N f16 group scales; nullptr if G = 0
//    const __half*  bias,      // N f16, or nullptr (no bias)
//    __half*        y,         // M x N f16 output, row-major
//    int            M,         // token count (any M >= 1, predicated)
//    int32_t*       workspace, // sm_80 with split_k > 1 and sm_90a with
//                              // stream_k > 0: workspaceBytes
//                              // (launchGeometry; 0 for sm_90a cluster
//                              // split-K, reduced in shared memory)
//                              // of int32, ZEROED ONCE at allocation; each
//                              // launch leaves it zero again. nullptr if
//                              // workspaceBytes == 0.
//    CUtensorMap    x_map)     // sm_90a only, by value (__grid_constant__):
//                              // x as a TMA tensor map
//                              // (include/qqq/Runtime/ActivationMap.h) with
//                              // box rows activationMapRows(config); zeros
//                              // when that is 0 (the kernel ignores it).
// Math (bit-exact with qqq::numerics::referenceW4A8Gemm):
//   acc[m,n] = sum_k x[m,k] * w8[n,k]              int32 (split-K partials are
//                                                  reduced in int32, exact)
//   w8 = q (per channel) or rne(q * float(s_grp)) (per group, f32 product)
//   y  = f16_rn(__fadd_rn(__fmul_rn(float(acc), __fmul_rn(s_tok[m], s_ch[n])),
//                         float(bias[n])))          (no FMA contraction)
//
// quantize_act<K, THREADS>(const __half* x, int8_t* q, float* s_tok, int M)
//   one block per row: amax = max|x|, s = __fdiv_rn(amax, 127.f),
//   q = amax == 0 ? 0 : clamp(rint(__fdiv_rn(x, s)), -127, 127). Bit-exact
//   with qqq::numerics::quantizeActRow on the f16 values widened to f32.
// rms_norm_quantize<K, THREADS>(const __half* x, const __half* gamma,
//                               float epsilon, int8_t* q, float* s_tok, int M)
//   one block per row, one pass over the row (kept in registers):
//   ss = sum x^2 (f32, tree order), r = 1 / sqrtf(ss / K + eps) (IEEE),
//   v[k] = (x[k] * r) * gamma[k] (f32, no FMA), then quantize_act of v.
//   Not bit-exact with a sequential CPU sum (summation order): tests allow
//   |dq| <= 1 and a relative scale error <= 1e-5.
//
// Tuning table (tuning/<gpu>.json, written by qqq-tune, read by
// qqq-select-kernels):
//   { "format": "qqq-tuning-v1",
//     "gpu": "NVIDIA H100 80GB HBM3",        // cudaDeviceProp::name
//     "entries": [
//       { "arch": "sm_90a", "n": 4096, "k": 4096, "group": 0,
//         "max_m": 16,                        // M bucket (mBuckets())
//         "tile_m": 16, "tile_n": 64, "tile_k": 128, "stages": 4,
//         "warps": 4, "split_k": 4, "swap_ab": true,
//         "stream_k": 132,                    // optional (absent = 0): sm_90a,
//                                             // split_k 1, bounded max_m
//         "token_tiles_first": true,          // optional (absent = false):
//                                             // sm_90a, stream_k 0
//         "time_us": 12.3,                    // median, informational
//         "default_us": 14.0,                 // defaultConfig's, informational
//         "incumbent_us": 12.5 } ] }          // optional: the entry it was
//                                             // timed against in a
//                                             // re-search, informational
//   Lookup: same arch, n, k, group and the smallest max_m >= M (max_m 0 =
//   unbounded, used last). No entry: defaultConfig.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CODEGEN_KERNELCATALOG_H
#define QQQ_CODEGEN_KERNELCATALOG_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qqq::codegen {

enum class KernelFamily {
  W4A8GemmSm90,
  W4A8GemmSm80,
  QuantizeAct,
  RmsNormQuantize,
};

/// "w4a8_gemm_sm90", ... (also the kernel's name inside namespace qqq).
const char *familyName(KernelFamily family);
/// The template file under kernels-templates/ ("w4a8_gemm_sm90.cuh", ...).
const char *templateFileName(KernelFamily family);
/// Helper header every template includes ("qqq_common.cuh").
const char *commonHeaderFileName();
/// Whether a kernel of `family` compiled for `arch` may be launched with
/// programmatic stream serialization (programmatic dependent launch): it
/// executes griddepcontrol.wait before it touches data of earlier kernels in
/// the stream (inputs, and outputs they may still read), and
/// griddepcontrol.launch_dependents early so the next such launch can start
/// (a GEMM streaming its weights while the activation kernel runs). True for
/// the sm90 GEMM and, compiled for sm_90 or newer, the activation kernels;
/// false for the sm80 GEMM (no wait: launched early it would race).
bool allowsProgrammaticLaunch(KernelFamily family, const std::string &arch);
/// "sm_90a" for the sm90 GEMM; "sm_80" for the others (they also run on
/// sm_90a; compile them for the model's target arch).
const char *targetArch(KernelFamily family);
/// The GEMM family serving an arch: "sm_90a" -> sm90, "sm_80"/"sm_86"/
/// "sm_89" -> sm80. std::nullopt for an unknown arch.
std::optional<KernelFamily> gemmFamilyForArch(const std::string &arch);

/// The compile-time shape of one W4A8 linear.
struct GemmShape {
  int64_t N = 0;         // output features (weight rows)
  int64_t K = 0;         // input features
  int64_t groupSize = 0; // 0 = per channel, else G (G | K, G % 64 == 0)
};

/// Mirrors #qqq.kernel<arch, max_m, tile_m, tile_n, tile_k, stages, warps,
/// split_k, swap_ab[, stream_k][, token_tiles_first]>.
struct GemmConfig {
  std::string arch = "sm_90a";
  int64_t maxM = 0;   // largest M served (0 = no bound); not a template knob
  int64_t tileM = 16; // tokens per CTA (the MMA's N: swapped operands)
  int64_t tileN = 64; // weight rows per CTA
  int64_t tileK = 128;
  int64_t stages = 4; // smem pipeline depth (sm90: weight + activation ring
                      // slots, >= 3; sm80: activation stages, >= 2)
  int64_t warps = 4;
  int64_t splitK = 1;
  bool swapAB = true; // the kernels implement the swapped form only
  // sm_90a only, with splitK == 1: > 0 launches a persistent grid of that
  // many CTAs (the GPU's SM count) that share the (output tile, K tile)
  // iterations evenly (stream-K), so tile counts that miss a multiple of the
  // SM count leave no SM idle; an output tile split between CTAs is summed
  // in an int32 workspace. 0: one CTA per output tile and split.
  int64_t streamK = 0;
  // sm_90a, one CTA per tile (streamK == 0): the grid's CTAs run the token
  // tiles of one weight-row block one after another (block-major) instead
  // of the weight-row blocks of one token tile, so the block is read from
  // DRAM once per wave rather than once per token tile when a row of tiles
  // outgrows the L2. Chosen per entry by the tuner.
  bool tokenTilesFirst = false;
  bool operator==(const GemmConfig &o) const;
};

/// Kernel launch: grid, block, dynamic shared memory, workspace.
struct LaunchGeometry {
  uint32_t grid[3] = {1, 1, 1};
  uint32_t block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0;    // dynamic smem. ALWAYS set
                               // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                               // to it: split-K kernels add 16 B of static
                               // smem, so exactly 48 KiB already needs it.
  uint64_t workspaceBytes = 0; // int32 workspace for split-K (0 if none)
};

/// Why (config, shape) cannot be instantiated, or std::nullopt if it can.
/// The family is taken from config.arch (gemmFamilyForArch).
std::optional<std::string> whyInvalid(const GemmConfig &config,
                                      const GemmShape &shape);

/// NVRTC name expression, e.g.
///   "qqq::w4a8_gemm_sm90<4096, 4096, 0, 16, 64, 128, 4, 4, 1>"
///   "qqq::w4a8_gemm_sm90_cluster<4096, 4096, 0, 16, 64, 128, 4, 4, 4>"
/// template parameters: <N, K, GROUP, TILE_M, TILE_N, TILE_K, STAGES, WARPS,
/// SPLIT_K[, STREAM_K = true when streamK > 0][, TOKEN_TILES_FIRST]>
/// (the cluster entry point has no STREAM_K); sm_90a split-K (> 1) is
/// the `_cluster` entry point, the only one with cluster dimensions (the
/// family stays w4a8_gemm_sm90). The stream-K grid is
/// launchGeometry's (streamK CTAs), the kernel divides the work by gridDim.
/// Precondition: !whyInvalid(config, shape).
std::string instantiationExpression(const GemmConfig &config,
                                    const GemmShape &shape);

/// Launch geometry for M tokens. workspaceBytes is for this M; allocate it
/// for config.maxM (or the largest M) once and zero it.
LaunchGeometry launchGeometry(const GemmConfig &config, const GemmShape &shape,
                              int64_t M);

/// The token rows of the activation tensor map's box (the kernel's tile_m)
/// when the kernel reads its activation tiles by TMA (sm_90a, tile_k a
/// multiple of 128 (128-byte swizzled tiles) and tile_m >= 64); 0 when it
/// uses cp.async.
int64_t activationMapRows(const GemmConfig &config);

/// The M buckets of the tuning table and of kernel selection (max_m values);
/// the last, 0, is unbounded.
const std::vector<int64_t> &mBuckets();
/// The bucket serving M: the smallest bucket >= M, else 0.
int64_t bucketForM(int64_t M);

/// Heuristic when the tuning table has no entry (docs/kernels.md, "Default
/// configuration heuristic"; DefaultConfigLossTest scores it against the
/// H100 tuner's measured candidates):
///  * sm_90a, M <= 16: one warpgroup (tile_n 64), tile_m = the bucket,
///    tile_k = 256 when 256 divides K (else 128, else 64), 4 stages,
///    split_k = the largest of 8, 4, 2 with CTAs * split_k <= 2 * 132 and
///    tile_k * split_k | K or (uneven) at least 2 * split_k K tiles.
///  * sm_90a, M >= 32: at most one wave of CTAs: two warpgroups when 128
///    divides N (up to M = 64 one when N < 6144), tile_m = the bucket as a
///    power of two up to 256, from M = 128 halved (not below 32) while the
///    tiles are under 0.4 waves, tile_k = 256 for tile_m <= 64 when 256
///    divides K (else 128, else 64),
///    4 stages, split_k = the largest of 8, 6, 4, 3, 2 with tiles * split_k
///    <= 132 and at least 4 K tiles per split; tile_m halved further where
///    the tile does not fit shared memory.
///  * sm_80: the M <= 16 rule with tile_m capped at 64, tile_k 128 and
///    tile_k * split_k | K.
/// The result always satisfies whyInvalid() == nullopt when shape.N % 64 == 0
/// and shape.K % 64 == 0 (and, per group, the group size divides or is a
/// multiple of tile_k).
GemmConfig defaultConfig(const GemmShape &shape, int64_t mBucket,
                         const std::string &arch);

/// (shape, config) pairs that CI compiles and assembles with ptxas.
std::vector<std::pair<GemmShape, GemmConfig>>
ciSweep(const std::string &arch);

//===-- Activation kernels ------------------------------------------------===//

/// "qqq::quantize_act<4096, 256>" / "qqq::rms_norm_quantize<4096, 256>".
/// K must be a multiple of 8 * THREADS... see activationWhyInvalid.
std::string activationExpression(KernelFamily family, int64_t K);
std::optional<std::string> activationWhyInvalid(KernelFamily family,
                                                int64_t K);
/// grid = (M, 1, 1), block = (threads, 1, 1), no dynamic smem.
LaunchGeometry activationGeometry(KernelFamily family, int64_t K, int64_t M);
/// THREADS chosen for K (each thread holds K/THREADS values, a multiple of 8).
int64_t activationThreads(int64_t K);

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_KERNELCATALOG_H
