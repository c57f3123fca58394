//===- KernelCatalog.cpp - The W4A8 kernel templates and their configs ----===//
//
// Mirrors the template parameters and launch rules of kernels-templates/.
// Every rule here is checked by the template's static_asserts too, so a
// disagreement shows up as an NVRTC error, never as a wrong launch.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/KernelCatalog.h"

#include <algorithm>
#include <sstream>

namespace qqq::codegen {

const char *familyName(KernelFamily family) {
  switch (family) {
  case KernelFamily::W4A8GemmSm90:
    return "w4a8_gemm_sm90";
  case KernelFamily::W4A8GemmSm80:
    return "w4a8_gemm_sm80";
  case KernelFamily::QuantizeAct:
    return "quantize_act";
  case KernelFamily::RmsNormQuantize:
    return "rms_norm_quantize";
  }
  return "unknown";
}

const char *templateFileName(KernelFamily family) {
  switch (family) {
  case KernelFamily::W4A8GemmSm90:
    return "w4a8_gemm_sm90.cuh";
  case KernelFamily::W4A8GemmSm80:
    return "w4a8_gemm_sm80.cuh";
  case KernelFamily::QuantizeAct:
    return "quantize_act.cuh";
  case KernelFamily::RmsNormQuantize:
    return "rms_norm_quantize.cuh";
  }
  return "unknown";
}

const char *commonHeaderFileName() { return "qqq_common.cuh"; }

const char *targetArch(KernelFamily family) {
  return family == KernelFamily::W4A8GemmSm90 ? "sm_90a" : "sm_80";
}

bool allowsProgrammaticLaunch(KernelFamily family, const std::string &arch) {
  switch (family) {
  case KernelFamily::W4A8GemmSm90:
    return true;
  case KernelFamily::W4A8GemmSm80:
    return false;
  case KernelFamily::QuantizeAct:
  case KernelFamily::RmsNormQuantize: {
    // griddepcontrol needs sm_90: below it the templates compile it out.
    if (arch.rfind("sm_", 0) != 0)
      return false;
    int sm = 0;
    for (size_t i = 3; i < arch.size() && arch[i] >= '0' && arch[i] <= '9';
         ++i)
      sm = std::min(sm * 10 + (arch[i] - '0'), 10000);
    return sm >= 90;
  }
  }
  return false;
}

std::optional<KernelFamily> gemmFamilyForArch(const std::string &arch) {
  if (arch == "sm_90a")
    return KernelFamily::W4A8GemmSm90;
  if (arch == "sm_80" || arch == "sm_86" || arch == "sm_89" || arch == "sm_90")
    return KernelFamily::W4A8GemmSm80;
  return std::nullopt;
}

bool GemmConfig::operator==(const GemmConfig &o) const {
  return arch == o.arch && maxM == o.maxM && tileM == o.tileM &&
         tileN == o.tileN && tileK == o.tileK && stages == o.stages &&
         warps == o.warps && splitK == o.splitK && swapAB == o.swapAB &&
         streamK == o.streamK && tokenTilesFirst == o.tokenTilesFirst;
}

namespace {
std::string str(const std::ostringstream &os) { return os.str(); }
} // namespace

std::optional<std::string> whyInvalid(const GemmConfig &c,
                                      const GemmShape &s) {
  std::ostringstream os;
  auto family = gemmFamilyForArch(c.arch);
  if (!family) {
    os << "unknown target arch '" << c.arch << "' (sm_90a or sm_80)";
    return str(os);
  }
  bool sm90 = *family == KernelFamily::W4A8GemmSm90;
  if (!c.swapAB)
    return std::string("swap_ab = false is not implemented (the kernels put "
                       "the weights on the MMA's M side)");
  if (s.N <= 0 || s.K <= 0) {
    os << "shape N = " << s.N << ", K = " << s.K << " must be positive";
    return str(os);
  }
  if (s.groupSize < 0 || (s.groupSize > 0 && (s.groupSize % 64 != 0 ||
                                               s.K % s.groupSize != 0))) {
    os << "group size " << s.groupSize
       << " must be 0 or a multiple of 64 dividing K = " << s.K;
    return str(os);
  }
  if (c.warps <= 0 || (sm90 && c.warps % 4 != 0) || c.warps > 16) {
    os << "warps = " << c.warps
       << (sm90 ? " must be 4, 8, 12 or 16 (whole warpgroups)"
                : " must be in 1..16");
    return str(os);
  }
  if (sm90 ? c.tileN != 16 * c.warps
           : (c.tileN % (16 * c.warps) != 0 || c.tileN / (16 * c.warps) > 4)) {
    os << "tile_n = " << c.tileN << " must be "
       << (sm90 ? "16 * warps (64 weight rows per warpgroup)"
                : "16 * warps * r, r in 1..4");
    return str(os);
  }
  bool pow2 = c.tileM > 0 && (c.tileM & (c.tileM - 1)) == 0;
  if (sm90 ? (!pow2 || c.tileM < 8 || c.tileM > 256)
           : (c.tileM <= 0 || c.tileM % 8 != 0 || c.tileM > 128)) {
    os << "tile_m = " << c.tileM
       << (sm90 ? " must be 8, 16, 32, 64, 128 or 256 (wgmma N)"
                : " must be a multiple of 8 in 8..128");
    return str(os);
  }
  if (c.tileK <= 0 || c.tileK % 64 != 0 || c.tileK > 512) {
    os << "tile_k = " << c.tileK << " must be a multiple of 64 up to 512";
    return str(os);
  }
  // sm90 keeps one wgmma group in flight over a ring of `stages` slots: one
  // slot for that group, one for the tile being multiplied, the rest ahead.
  int64_t minStages = sm90 ? 3 : 2;
  if (c.stages < minStages || c.stages > 8) {
    os << "stages = " << c.stages << " must be in " << minStages << "..8";
    return str(os);
  }
  // sm90 reduces split-K partials inside a thread-block cluster of split_k
  // CTAs (distributed shared memory): at most 8, the portable cluster size.
  int64_t maxSplit = sm90 ? 8 : 64;
  if (c.splitK < 1 || c.splitK > maxSplit) {
    os << "split_k = " << c.splitK << " must be in 1.." << maxSplit
       << (sm90 ? " (one thread-block cluster per output tile)" : "");
    return str(os);
  }
  // Stream-K: one persistent CTA per SM, each finishing at most one split
  // output tile (its workspace slot); a cluster split would be a second,
  // conflicting way to divide K.
  if (c.streamK < 0 || c.streamK > 1024) {
    os << "stream_k = " << c.streamK
       << " must be 0 (off) or a CTA count in 1..1024";
    return str(os);
  }
  if (c.streamK > 0 && (!sm90 || c.splitK != 1)) {
    os << "stream_k = " << c.streamK
       << (sm90 ? " needs split_k = 1, got " + std::to_string(c.splitK)
                : std::string(" is implemented for sm_90a only"));
    return str(os);
  }
  // Stream-K walks its (tile, K tile) iterations in its own order (tried
  // block-major too: 0.95x on the table's stream-K entries at M = 1024).
  if (c.tokenTilesFirst && (!sm90 || c.streamK > 0)) {
    os << "token_tiles_first needs "
       << (sm90 ? "one CTA per tile, got stream_k = " +
                      std::to_string(c.streamK)
                : std::string("sm_90a"));
    return str(os);
  }
  // The kernel counts (tile, K tile) iterations in 32 bits, up to max_m
  // tokens: stream-K serves a bounded bucket (it pays where the tile count
  // is near the SM count, not for unbounded M).
  // (Tile sizes are positive here: checked above.)
  if (c.streamK > 0) {
    int64_t iterations =
        s.N / c.tileN * (s.K / c.tileK) * ((c.maxM + c.tileM - 1) / c.tileM);
    if (c.maxM <= 0 || iterations > INT32_MAX) {
      os << "stream_k = " << c.streamK << " needs a bounded max_m with at "
         << "most 2^31 - 1 (tile, K tile) iterations, got max_m = " << c.maxM;
      return str(os);
    }
  }
  if (s.N % c.tileN != 0) {
    os << "N = " << s.N << " is not a multiple of tile_n = " << c.tileN;
    return str(os);
  }
  // sm90 splits the K tiles unevenly where they do not divide (the first
  // CTAs of the cluster take one more); sm80 needs equal splits.
  if (sm90 ? (s.K % c.tileK != 0 || s.K / c.tileK < c.splitK)
           : s.K % (c.tileK * c.splitK) != 0) {
    if (sm90)
      os << "K = " << s.K << " must be a multiple of tile_k = " << c.tileK
         << " giving at least split_k = " << c.splitK << " K tiles";
    else
      os << "K = " << s.K << " is not a multiple of tile_k * split_k = "
         << c.tileK * c.splitK;
    return str(os);
  }
  if (s.groupSize > 0 && c.tileK % s.groupSize != 0 &&
      s.groupSize % c.tileK != 0) {
    os << "tile_k = " << c.tileK << " and group size " << s.groupSize
       << " must divide one another";
    return str(os);
  }
  LaunchGeometry g = launchGeometry(c, s, 1);
  if (g.sharedBytes > 227 * 1024) {
    os << "shared memory " << g.sharedBytes << " B exceeds 227 KiB";
    return str(os);
  }
  // Accumulators: tile_m/8 * 4 int32 per thread per 16-row block.
  int64_t rowBlocks = sm90 ? 1 : c.tileN / (16 * c.warps);
  int64_t accRegs = rowBlocks * c.tileM / 2;
  if (accRegs > 128) {
    os << "tile_m = " << c.tileM << " with " << rowBlocks
       << " row blocks per warp needs " << accRegs
       << " accumulator registers per thread (max 128)";
    return str(os);
  }
  // The register file (64 Ki per SM) must hold one CTA: accumulators plus
  // about 48 registers of A fragments and addressing per thread.
  int64_t regBudget = std::min<int64_t>(65536 / (32 * c.warps), 255);
  if (sm90 && accRegs + 48 > regBudget) {
    os << "tile_m = " << c.tileM << " with " << c.warps
       << " warps needs about " << accRegs + 48
       << " registers per thread (at most " << regBudget << " fit)";
    return str(os);
  }
  return std::nullopt;
}

std::string instantiationExpression(const GemmConfig &c, const GemmShape &s) {
  KernelFamily family =
      gemmFamilyForArch(c.arch).value_or(KernelFamily::W4A8GemmSm90);
  std::ostringstream os;
  os << "qqq::" << familyName(family);
  // sm_90a cluster split-K has its own entry point (the only one compiled
  // with cluster dimensions, which make a launch slower).
  bool cluster = family == KernelFamily::W4A8GemmSm90 && c.splitK > 1;
  if (cluster)
    os << "_cluster";
  os << "<" << s.N << ", " << s.K << ", " << s.groupSize << ", " << c.tileM
     << ", " << c.tileN << ", " << c.tileK << ", " << c.stages << ", "
     << c.warps << ", " << c.splitK;
  // The stream-K and token-order flags are trailing template parameters
  // (default false); the cluster entry point has only the latter.
  if (c.streamK > 0)
    os << ", true";
  else if (c.tokenTilesFirst)
    os << (cluster ? ", true" : ", false, true");
  os << ">";
  return os.str();
}

LaunchGeometry launchGeometry(const GemmConfig &c, const GemmShape &s,
                              int64_t M) {
  LaunchGeometry g;
  int64_t mTiles = (std::max<int64_t>(M, 1) + c.tileM - 1) / c.tileM;
  int64_t nTiles = c.tileN > 0 ? s.N / c.tileN : 0;
  if (c.streamK > 0) {
    // A persistent grid whatever M is: the kernel divides the M-dependent
    // work among its CTAs.
    g.grid[0] = static_cast<uint32_t>(c.streamK);
  } else {
    g.grid[0] = static_cast<uint32_t>(nTiles);
    g.grid[1] = static_cast<uint32_t>(mTiles);
    g.grid[2] = static_cast<uint32_t>(c.splitK);
  }
  g.block[0] = static_cast<uint32_t>(32 * c.warps);
  bool sm90 = c.arch == "sm_90a";
  if (sm90) {
    // 256 bytes of mbarriers (one per weight stage; with TMA the same K
    // tile's activations complete on it too), then stages + 2 activation
    // tiles (no padding; wgmma reads a tile until the step after its own,
    // and the ring runs `stages` ahead) and `stages` weight tiles: each warpgroup's tile_k / 2 bytes per
    // row and, per group, the 64 rows' f16 scales of each group the tile
    // touches.
    int64_t groupsPerTile =
        s.groupSize <= 0 ? 0
                         : (s.groupSize < c.tileK ? c.tileK / s.groupSize : 1);
    int64_t xTile = c.tileM * c.tileK;
    int64_t wTile =
        c.tileN * c.tileK / 2 + c.tileN / 64 * groupsPerTile * 128;
    // Split-K partials (one int32 per output of the tile) reuse the drained
    // rings for the cluster reduction.
    int64_t partials = c.splitK > 1 ? c.tileM * c.tileN * 4 : 0;
    // 128-byte swizzled activation tiles (tile_k % 128 == 0) start on a
    // 1024-byte boundary: up to 1024 bytes of padding after the mbarriers.
    int64_t pad = c.tileK % 128 == 0 ? 1024 : 0;
    // The epilogue stages the f16 output tile (rows padded by 8 halves)
    // there too.
    int64_t outputTile = c.tileM * (c.tileN + 8) * 2;
    g.sharedBytes = static_cast<uint32_t>(
        256 + pad +
        std::max(
            {(c.stages + 2) * xTile + c.stages * wTile, partials, outputTile}));
  } else {
    // Activation rows padded by 16 bytes against bank conflicts.
    g.sharedBytes = static_cast<uint32_t>(c.stages * c.tileM * (c.tileK + 16));
  }
  // Stream-K: one int32 flag per CTA (padded to 128 bytes), then per CTA
  // one int32 partial-sum slot per output of a tile.
  if (c.streamK > 0)
    g.workspaceBytes = static_cast<uint64_t>(
        ((c.streamK + 31) / 32 * 32 + c.streamK * c.tileM * c.tileN) * 4);
  if (c.splitK > 1 && !sm90) // sm90 reduces in the cluster's shared memory
    g.workspaceBytes = static_cast<uint64_t>(
        (mTiles * c.tileM * s.N + nTiles * mTiles) * 4);
  return g;
}

int64_t activationMapRows(const GemmConfig &c) {
  return c.arch == "sm_90a" && c.tileK % 128 == 0 && c.tileM >= 64 ? c.tileM
                                                                   : 0;
}

const std::vector<int64_t> &mBuckets() {
  static const std::vector<int64_t> buckets = {16,  32,  64,   128,
                                               256, 512, 1024, 0};
  return buckets;
}

int64_t bucketForM(int64_t M) {
  for (int64_t b : mBuckets())
    if (b != 0 && M <= b)
      return b;
  return 0;
}

/// The SMs of the GPUs the sm_90a defaults are fitted to (H100 / H200 SXM).
constexpr int64_t kHopperSms = 132;

/// defaultConfig for sm_80, and for sm_90a up to M = 16: tile_m = the
/// bucket (capped at 64 on sm_80), one warpgroup (four warps on sm_80) with
/// long K tiles, split-K towards two CTAs per SM.
static GemmConfig smallTileConfig(const GemmShape &shape, int64_t mBucket,
                                  const std::string &arch) {
  GemmConfig c;
  c.arch = arch;
  c.maxM = mBucket;
  bool sm90 = arch == "sm_90a";
  int64_t m = mBucket == 0 ? 4096 : mBucket;
  c.warps = 4;
  c.tileN = 64;
  // (sm_90a comes here only up to M = 16.)
  c.tileM = std::min<int64_t>(64, (m + 7) / 8 * 8);
  // K that is not a multiple of 128 (e.g. 576 in SmolLM2) takes 64-wide
  // K tiles: the smallest the templates allow.
  c.tileK = shape.K % 128 == 0 ? 128 : 64;
  if (sm90 && shape.K % 256 == 0)
    c.tileK = 256;
  c.stages = 4;
  c.splitK = 1;
  if (shape.N % c.tileN == 0) {
    int64_t ctas = shape.N / c.tileN * ((m + c.tileM - 1) / c.tileM);
    for (int64_t sk = 8; sk >= 2; sk /= 2)
      if (ctas * sk <= 2 * kHopperSms &&
          (shape.K % (c.tileK * sk) == 0 ||
           (sm90 && shape.K % c.tileK == 0 && shape.K / c.tileK >= 2 * sk))) {
        c.splitK = sk;
        break;
      }
  }
  c.swapAB = true;
  return c;
}

/// defaultConfig for sm_90a from M = 32: at most one wave of CTAs, each as
/// large as the wave allows. The rule and its constants were fitted to every
/// candidate the H100 tuner timed (20 layer shapes, 8 M buckets, both
/// schemes; docs/kernels.md has the measured loss against the fastest).
static GemmConfig waveConfig(const GemmShape &shape, int64_t mBucket) {
  GemmConfig c;
  c.arch = "sm_90a";
  c.maxM = mBucket;
  int64_t m = mBucket == 0 ? 4096 : mBucket;
  // Two warpgroups (128 weight rows) where N allows; up to M = 64 one for
  // layers narrower than 6144 rows: more row tiles rather than more
  // split-K for the k/v and o projections.
  c.warps = shape.N % 128 == 0 && (m > 64 || shape.N >= 48 * 128) ? 8 : 4;
  c.tileN = 16 * c.warps;
  int64_t rowTiles = shape.N / c.tileN;
  // Token tiles of the bucket (a power of two, at most 256); from M = 128
  // halved (down to 32 tokens) while the tiles would be fewer than 0.4
  // waves.
  c.tileM = 8;
  while (c.tileM < std::min<int64_t>(m, 256))
    c.tileM *= 2;
  auto tiles = [&](int64_t tm) { return rowTiles * ((m + tm - 1) / tm); };
  while (m >= 128 && c.tileM > 32 && 5 * tiles(c.tileM) < 2 * kHopperSms)
    c.tileM /= 2;
  // Short token tiles get long K tiles (more bytes in flight per step).
  c.tileK = c.tileM <= 64 && shape.K % 256 == 0 ? 256
            : shape.K % 128 == 0                ? 128
                                                : 64;
  c.stages = 4;
  // Split-K up to one wave, keeping at least 4 K tiles per split.
  c.splitK = 1;
  int64_t kTiles = shape.K / c.tileK;
  if (tiles(c.tileM) < kHopperSms)
    for (int64_t sk : {8, 6, 4, 3, 2})
      if (tiles(c.tileM) * sk <= kHopperSms && kTiles / sk >= 4) {
        c.splitK = sk;
        break;
      }
  c.swapAB = true;
  // Shared memory: per group, small groups' scales can push the 256-token
  // ring past it; shorter token tiles fit.
  while (c.tileM > 8 && whyInvalid(c, shape) && shape.N % c.tileN == 0 &&
         shape.K % c.tileK == 0)
    c.tileM /= 2;
  // From M = 512, stream-K (one CTA per SM sharing all tiles' K iterations)
  // where whole tiles fill at least one wave, leave more than a tenth of
  // the last one idle and make at most 16 waves: the tuner's rule for its
  // stream-K candidates, which the tuned entries take there (fifteenth
  // session; at M = 256 the same rule lost per channel).
  int64_t ctas = tiles(c.tileM);
  int64_t waves = (ctas + kHopperSms - 1) / kHopperSms;
  if (mBucket >= 512 && c.splitK == 1 && ctas >= kHopperSms &&
      ctas <= 16 * kHopperSms &&
      ctas - (waves - 1) * kHopperSms < 0.9 * kHopperSms) {
    GemmConfig streamK = c;
    streamK.streamK = kHopperSms;
    if (!whyInvalid(streamK, shape))
      return streamK;
  }
  return c;
}

GemmConfig defaultConfig(const GemmShape &shape, int64_t mBucket,
                         const std::string &arch) {
  if (arch == "sm_90a" && (mBucket == 0 || mBucket > 16))
    return waveConfig(shape, mBucket);
  return smallTileConfig(shape, mBucket, arch);
}

std::vector<std::pair<GemmShape, GemmConfig>> ciSweep(const std::string &arch) {
  std::vector<std::pair<GemmShape, GemmConfig>> out;
  const GemmShape shapes[] = {{4096, 4096, 0}, {4096, 4096, 128},
                              {11008, 4096, 0}, {4096, 11008, 128}};
  for (const GemmShape &s : shapes)
    for (int64_t b : mBuckets()) {
      GemmConfig c = defaultConfig(s, b, arch);
      if (!whyInvalid(c, s))
        out.push_back({s, c});
      // The other grid of the sm90 defaults at M = 256 and 1024: stream-K
      // (tuned tables pick it where the tile count misses the SM count),
      // or one CTA per tile where the default is stream-K.
      GemmConfig other = c;
      other.splitK = 1;
      other.streamK = c.streamK > 0 ? 0 : 132;
      if (arch == "sm_90a" && (b == 256 || b == 1024) && !whyInvalid(other, s))
        out.push_back({s, other});
      // Token tiles first, which tuned tables choose per entry, through
      // both entry points (the M = 256 default, and it split in two or
      // unsplit).
      GemmConfig ordered = c.streamK > 0 ? other : c;
      ordered.tokenTilesFirst = true;
      if (arch == "sm_90a" && b == 256 && !whyInvalid(ordered, s)) {
        out.push_back({s, ordered});
        ordered.splitK = ordered.splitK > 1 ? 1 : 2;
        if (!whyInvalid(ordered, s))
          out.push_back({s, ordered});
      }
    }
  return out;
}

//===-- Activation kernels ------------------------------------------------===//

int64_t activationThreads(int64_t K) {
  if (K <= 8192)
    return 256;
  if (K <= 16384)
    return 512;
  return 1024;
}

std::optional<std::string> activationWhyInvalid(KernelFamily family,
                                                int64_t K) {
  if (family != KernelFamily::QuantizeAct &&
      family != KernelFamily::RmsNormQuantize)
    return std::string("not an activation kernel family");
  if (K <= 0 || K % 8 != 0 || K > 65536) {
    std::ostringstream os;
    os << "K = " << K << " must be a positive multiple of 8 up to 65536";
    return str(os);
  }
  return std::nullopt;
}

std::string activationExpression(KernelFamily family, int64_t K) {
  std::ostringstream os;
  os << "qqq::" << familyName(family) << "<" << K << ", "
     << activationThreads(K) << ">";
  return os.str();
}

LaunchGeometry activationGeometry(KernelFamily, int64_t K, int64_t M) {
  LaunchGeometry g;
  g.grid[0] = static_cast<uint32_t>(std::max<int64_t>(M, 1));
  g.block[0] = static_cast<uint32_t>(activationThreads(K));
  return g;
}

} // namespace qqq::codegen
