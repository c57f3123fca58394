//===- KernelCatalogTest.cpp - validity rules and shared-memory sizes ------===//
#include "qqq/CodeGen/KernelCatalog.h"

#include <gtest/gtest.h>

#include <tuple>

using namespace qqq::codegen;

namespace {

GemmConfig sm90(int64_t tileM, int64_t warps, int64_t tileK, int64_t stages) {
  GemmConfig c;
  c.arch = "sm_90a";
  c.tileM = tileM;
  c.warps = warps;
  c.tileN = 16 * warps;
  c.tileK = tileK;
  c.stages = stages;
  c.splitK = 1;
  c.swapAB = true;
  return c;
}

bool mentions(const std::optional<std::string> &why, const char *what) {
  return why && why->find(what) != std::string::npos;
}

// The sm90 ring keeps one wgmma group in flight: 2 stages cannot work there,
// while the mma.sync kernel takes them.
TEST(KernelCatalog, Sm90NeedsThreeStages) {
  GemmShape s{4096, 4096, 0};
  EXPECT_TRUE(mentions(whyInvalid(sm90(16, 4, 128, 2), s), "stages = 2"));
  EXPECT_FALSE(whyInvalid(sm90(16, 4, 128, 3), s));
  GemmConfig c80 = sm90(16, 4, 128, 2);
  c80.arch = "sm_80";
  c80.tileN = 64;
  EXPECT_FALSE(whyInvalid(c80, s));
}

// 16 warps leave 128 registers per thread: 128 tokens fit, 256 do not.
TEST(KernelCatalog, RegisterFileBoundsTileMTimesWarps) {
  GemmShape s{4096, 4096, 0};
  EXPECT_FALSE(whyInvalid(sm90(128, 16, 128, 4), s));
  // (64-wide K tiles, 3 stages: the shared memory would fit.)
  EXPECT_TRUE(mentions(whyInvalid(sm90(256, 16, 64, 3), s), "registers"));
  EXPECT_FALSE(whyInvalid(sm90(256, 8, 64, 3), s));
}

// 128 bytes of mbarriers, 1024 bytes to align 128-byte swizzled activation
// tiles (tile_k % 128 == 0), then stages + 2 activation tiles of tile_m *
// tile_k, and per stage weights tile_n * tile_k / 2 plus, per group, 128
// bytes of scales per warpgroup and group in the tile.
TEST(KernelCatalog, Sm90SharedBytes) {
  // 256 bytes of mbarriers: weight and (TMA) activation stages.
  GemmConfig c = sm90(16, 4, 512, 4);
  EXPECT_EQ(launchGeometry(c, {4096, 4096, 0}, 1).sharedBytes,
            256u + 1024 + 6 * 16 * 512 + 4 * 64 * 256);
  EXPECT_EQ(launchGeometry(c, {4096, 4096, 128}, 1).sharedBytes,
            256u + 1024 + 6 * 16 * 512 + 4 * (64 * 256 + 4 * 128));
  // 64-wide K tiles keep the core-matrix layout: no alignment padding.
  GemmConfig narrow = sm90(16, 4, 64, 4);
  EXPECT_EQ(launchGeometry(narrow, {4096, 4096, 0}, 1).sharedBytes,
            256u + 6 * 16 * 64 + 4 * 64 * 32);
  // Split-K partials (one int32 per output) reuse the ring for the cluster
  // reduction: the larger of the two.
  GemmConfig split = sm90(128, 8, 64, 3);
  split.splitK = 2;
  EXPECT_EQ(launchGeometry(split, {4096, 4096, 0}, 1).sharedBytes,
            256u + 128 * 128 * 4);
  EXPECT_EQ(launchGeometry(split, {4096, 4096, 0}, 1).workspaceBytes, 0u);
  split.splitK = 16;
  EXPECT_TRUE(mentions(whyInvalid(split, {4096, 4096, 0}), "cluster"));
  // The epilogue stages the f16 output tile (rows padded by 8 halves) in
  // the drained rings: with 64-wide K tiles and 3 stages it is the largest.
  GemmConfig wide = sm90(128, 16, 64, 3);
  EXPECT_EQ(launchGeometry(wide, {4096, 4096, 0}, 1).sharedBytes,
            256u + 128 * (256 + 8) * 2);
  GemmConfig big = sm90(128, 8, 128, 3);
  EXPECT_EQ(launchGeometry(big, {4096, 4096, 1024}, 1).sharedBytes,
            256u + 1024 + 5 * 128 * 128 + 3 * (128 * 64 + 2 * 128));
}

// TMA reads the 128-byte swizzled activation tiles (tile_k % 128 == 0) of
// 64 tokens and more in boxes of tile_m rows; smaller tiles, the
// core-matrix ones (tile_k 64) and sm80 use none.
TEST(KernelCatalog, ActivationMapRowsFollowTheSwizzledTiles) {
  EXPECT_EQ(activationMapRows(sm90(64, 8, 256, 4)), 64);
  EXPECT_EQ(activationMapRows(sm90(256, 8, 128, 4)), 256);
  EXPECT_EQ(activationMapRows(sm90(32, 4, 512, 4)), 0);
  EXPECT_EQ(activationMapRows(sm90(128, 8, 64, 4)), 0);
  GemmConfig c = defaultConfig({4096, 4096, 0}, 64, "sm_80");
  EXPECT_EQ(c.tileK % 128, 0);
  EXPECT_EQ(activationMapRows(c), 0);
}

// sm90 splits K tiles unevenly (LLaMA-2-7B down: K = 11008 = 43 tiles of
// 256); it needs at least one tile per CTA. sm80's workspace split needs
// equal parts.
TEST(KernelCatalog, Sm90SplitsKUnevenly) {
  GemmShape down{4096, 11008, 0};
  GemmConfig c = sm90(16, 4, 256, 4);
  c.splitK = 3;
  EXPECT_FALSE(whyInvalid(c, down));
  GemmShape small{4096, 512, 0};
  c.splitK = 2;
  EXPECT_FALSE(whyInvalid(c, small));
  c.splitK = 3;
  EXPECT_TRUE(mentions(whyInvalid(c, small), "at least split_k = 3"));
  GemmConfig c80 = sm90(16, 4, 256, 4);
  c80.arch = "sm_80";
  c80.tileN = 64;
  c80.splitK = 3;
  EXPECT_TRUE(mentions(whyInvalid(c80, down), "tile_k * split_k"));
  // Default at M = 1: 86 tiles of 128 split four ways on sm90 (22 + 22 +
  // 21 + 21), two ways on sm80.
  EXPECT_EQ(defaultConfig(down, 1, "sm_90a").splitK, 4);
  EXPECT_EQ(defaultConfig(down, 1, "sm_80").splitK, 2);
}

// sm90 split-K is its own entry point, the one compiled with cluster
// dimensions (a cluster of one launches slower); sm80 splits through a
// workspace, one entry point.
TEST(KernelCatalog, Sm90ClusterEntryPointOnlyForSplitK) {
  GemmShape down{4096, 11008, 0};
  GemmConfig c = sm90(16, 4, 256, 4);
  EXPECT_EQ(instantiationExpression(c, down),
            "qqq::w4a8_gemm_sm90<4096, 11008, 0, 16, 64, 256, 4, 4, 1>");
  c.splitK = 3;
  EXPECT_EQ(instantiationExpression(c, down),
            "qqq::w4a8_gemm_sm90_cluster<4096, 11008, 0, 16, 64, 256, 4, 4, "
            "3>");
  c.arch = "sm_80";
  c.tileN = 64;
  c.tileK = 128;
  c.splitK = 2;
  ASSERT_FALSE(whyInvalid(c, down));
  EXPECT_EQ(instantiationExpression(c, down).rfind("qqq::w4a8_gemm_sm80<", 0),
            0u);
}

// Stream-K: a persistent grid of stream_k CTAs whatever M is, a workspace
// of one tile of int32 partials plus one flag per CTA, the STREAM_K
// template flag; only sm90 with split_k 1 and a bounded M bucket.
TEST(KernelCatalog, StreamKGridWorkspaceAndRules) {
  GemmShape qkv{4608, 3584, 0};
  GemmConfig c = sm90(128, 16, 128, 4);
  c.maxM = 1024;
  c.streamK = 132;
  ASSERT_FALSE(whyInvalid(c, qkv));
  for (int64_t M : {1, 300, 1024}) {
    LaunchGeometry g = launchGeometry(c, qkv, M);
    EXPECT_EQ(g.grid[0], 132u);
    EXPECT_EQ(g.grid[1], 1u);
    EXPECT_EQ(g.grid[2], 1u);
    // 132 flags padded to 160, then 132 slots of 128 x 256 int32.
    EXPECT_EQ(g.workspaceBytes, (160u + 132u * 128 * 256) * 4);
  }
  EXPECT_EQ(instantiationExpression(c, qkv),
            "qqq::w4a8_gemm_sm90<4608, 3584, 0, 128, 256, 128, 4, 16, 1, "
            "true>");
  c.streamK = 0; // off: one CTA per tile, no template flag, no workspace
  EXPECT_EQ(launchGeometry(c, qkv, 1024).grid[0], 18u);
  EXPECT_EQ(launchGeometry(c, qkv, 1024).grid[1], 8u);
  EXPECT_EQ(launchGeometry(c, qkv, 1024).workspaceBytes, 0u);
  EXPECT_EQ(instantiationExpression(c, qkv).find("true"), std::string::npos);

  GemmConfig split = c;
  split.streamK = 132;
  split.splitK = 2;
  EXPECT_TRUE(mentions(whyInvalid(split, qkv), "needs split_k = 1"));
  GemmConfig unbounded = c;
  unbounded.streamK = 132;
  unbounded.maxM = 0;
  EXPECT_TRUE(mentions(whyInvalid(unbounded, qkv), "bounded max_m"));
  GemmConfig negative = c;
  negative.streamK = -1;
  EXPECT_TRUE(mentions(whyInvalid(negative, qkv), "stream_k = -1"));
  GemmConfig c80 = sm90(16, 4, 128, 4);
  c80.arch = "sm_80";
  c80.tileN = 64;
  c80.maxM = 16;
  c80.streamK = 132;
  EXPECT_TRUE(mentions(whyInvalid(c80, qkv), "sm_90a only"));
}

// Token tiles first: a trailing template flag of either sm90 entry point
// (after STREAM_K = false for the plain one); the grid is unchanged; not
// with stream-K (it orders its own tiles) or for sm80.
TEST(KernelCatalog, TokenTilesFirstFlagAndRules) {
  GemmShape o{4096, 4096, 0};
  GemmConfig c = sm90(64, 8, 128, 4);
  c.maxM = 256;
  c.tokenTilesFirst = true;
  ASSERT_FALSE(whyInvalid(c, o));
  EXPECT_EQ(instantiationExpression(c, o),
            "qqq::w4a8_gemm_sm90<4096, 4096, 0, 64, 128, 128, 4, 8, 1, false, "
            "true>");
  LaunchGeometry g = launchGeometry(c, o, 256);
  EXPECT_EQ(g.grid[0], 32u);
  EXPECT_EQ(g.grid[1], 4u);
  EXPECT_EQ(g.workspaceBytes, 0u);
  c.splitK = 2;
  ASSERT_FALSE(whyInvalid(c, o));
  EXPECT_EQ(instantiationExpression(c, o),
            "qqq::w4a8_gemm_sm90_cluster<4096, 4096, 0, 64, 128, 128, 4, 8, 2, "
            "true>");
  c.tokenTilesFirst = false;
  EXPECT_NE(instantiationExpression(c, o).back(), 'e'); // no trailing flag
  EXPECT_FALSE(c == [&] {
    GemmConfig d = c;
    d.tokenTilesFirst = true;
    return d;
  }());

  GemmConfig streamed = sm90(64, 8, 128, 4);
  streamed.maxM = 256;
  streamed.streamK = 132;
  streamed.tokenTilesFirst = true;
  EXPECT_TRUE(mentions(whyInvalid(streamed, o),
                       "token_tiles_first needs one CTA per tile"));
  GemmConfig c80 = sm90(16, 4, 128, 4);
  c80.arch = "sm_80";
  c80.tileN = 64;
  c80.tokenTilesFirst = true;
  EXPECT_TRUE(mentions(whyInvalid(c80, o), "token_tiles_first needs sm_90a"));
}

// From M = 32 the sm90 default fills at most one wave of CTAs with tiles
// as large as the wave allows: two warpgroups (one up to M = 64 for N <
// 6144), token tiles of the bucket (at most 256), from M = 128 halved while
// the tiles would be under 0.4 waves, 256-wide K tiles for short token
// tiles, split-K up to one wave with at least 4 K tiles per split
// (DefaultConfigLossTest measures the choices).
TEST(KernelCatalog, DefaultFillsOneWaveFromM32) {
  GemmShape o{4096, 4096, 0};
  // M = 1024: 32 x 4 = 128 tiles of 256 x 128, no split.
  GemmConfig c = defaultConfig(o, 1024, "sm_90a");
  EXPECT_EQ(std::make_tuple(c.tileM, c.tileN, c.tileK, c.warps, c.splitK),
            std::make_tuple(int64_t(256), int64_t(128), int64_t(128),
                            int64_t(8), int64_t(1)));
  // M = 128: 32 tiles of 128 tokens are under 0.4 waves, so 64-token tiles
  // (64 tiles) with 256-wide K tiles, split 2 (128 CTAs, 8 K tiles each).
  c = defaultConfig(o, 128, "sm_90a");
  EXPECT_EQ(std::make_tuple(c.tileM, c.tileK, c.splitK),
            std::make_tuple(int64_t(64), int64_t(256), int64_t(2)));
  // Unbounded: 256-token tiles, never split.
  c = defaultConfig({28672, 8192, 128}, 0, "sm_90a");
  EXPECT_EQ(std::make_tuple(c.tileM, c.warps, c.splitK),
            std::make_tuple(int64_t(256), int64_t(8), int64_t(1)));
  // M = 32, N < 6144: one warpgroup; LLaMA-2-7B down (43 K tiles of 256):
  // 64 tiles, split 2 (3 would pass one wave). N = 12288: two.
  c = defaultConfig({4096, 11008, 128}, 32, "sm_90a");
  EXPECT_EQ(std::make_tuple(c.tileM, c.warps, c.tileK, c.splitK),
            std::make_tuple(int64_t(32), int64_t(4), int64_t(256),
                            int64_t(2)));
  EXPECT_EQ(defaultConfig({12288, 4096, 0}, 32, "sm_90a").warps, 8);
  // LLaMA-3-8B k/v (N = 1024) at M = 512: 8 row tiles, so 64-token tiles
  // (64 tiles) split 2.
  c = defaultConfig({1024, 4096, 0}, 512, "sm_90a");
  EXPECT_EQ(std::make_tuple(c.tileM, c.tileK, c.splitK),
            std::make_tuple(int64_t(64), int64_t(256), int64_t(2)));
  // Few K tiles: no split below 4 per split; N not a multiple of 128: one
  // warpgroup; K not a multiple of 128: 64-wide K tiles.
  EXPECT_EQ(defaultConfig({4096, 1024, 0}, 64, "sm_90a").splitK, 1);
  EXPECT_EQ(defaultConfig({4160, 4096, 0}, 256, "sm_90a").warps, 4);
  c = defaultConfig({1536, 576, 0}, 256, "sm_90a");
  EXPECT_EQ(c.tileK, 64);
  EXPECT_FALSE(whyInvalid(c, {1536, 576, 0}));
  // From M = 512, stream-K where whole tiles fill a wave and leave more than
  // a tenth of the last one idle, up to 16 waves. LLaMA-2-70B up at
  // M = 1024: 224 x 4 = 896 tiles, 6.8 waves; the fused gate/up: 13.6.
  for (int64_t n : {28672, 57344}) {
    c = defaultConfig({n, 8192, 0}, 1024, "sm_90a");
    EXPECT_EQ(std::make_tuple(c.tileM, c.splitK, c.streamK),
              std::make_tuple(int64_t(256), int64_t(1), int64_t(132)))
        << n;
    EXPECT_FALSE(whyInvalid(c, {n, 8192, 0}));
  }
  // Not at M = 256 (448 tiles: the rule lost there), nor unbounded.
  EXPECT_EQ(defaultConfig({28672, 8192, 0}, 256, "sm_90a").streamK, 0);
  EXPECT_EQ(defaultConfig({28672, 8192, 0}, 0, "sm_90a").streamK, 0);
  // 4096 x 4096 at M = 1024: 128 tiles, under one wave; 12288 rows: 384
  // tiles, a last wave of 120 of 132 (more than 0.9 full): no stream-K.
  EXPECT_EQ(defaultConfig(o, 1024, "sm_90a").streamK, 0);
  EXPECT_EQ(defaultConfig({12288, 4096, 0}, 1024, "sm_90a").streamK, 0);
  // 11008 rows: 344 tiles, a last wave of 80: stream-K.
  EXPECT_EQ(defaultConfig({11008, 4096, 0}, 1024, "sm_90a").streamK, 132);
  // Group 64 on a tiny layer: valid (shorter token tiles where the ring and
  // scales would not fit).
  GemmShape g64{128, 128, 64};
  for (int64_t b : mBuckets())
    EXPECT_FALSE(whyInvalid(defaultConfig(g64, b, "sm_90a"), g64)) << b;
}

// Only kernels that wait for the previous grid themselves may be launched
// programmatically: the sm90 GEMM, the activation kernels compiled for
// sm_90+ (griddepcontrol is compiled out below), never the sm80 GEMM.
TEST(KernelCatalog, ProgrammaticLaunchOnlyForKernelsThatWait) {
  EXPECT_TRUE(allowsProgrammaticLaunch(KernelFamily::W4A8GemmSm90, "sm_90a"));
  EXPECT_FALSE(allowsProgrammaticLaunch(KernelFamily::W4A8GemmSm80, "sm_90a"));
  EXPECT_FALSE(allowsProgrammaticLaunch(KernelFamily::W4A8GemmSm80, "sm_80"));
  for (KernelFamily f :
       {KernelFamily::QuantizeAct, KernelFamily::RmsNormQuantize}) {
    EXPECT_TRUE(allowsProgrammaticLaunch(f, "sm_90a"));
    EXPECT_TRUE(allowsProgrammaticLaunch(f, "sm_90"));
    EXPECT_TRUE(allowsProgrammaticLaunch(f, "sm_100"));
    EXPECT_FALSE(allowsProgrammaticLaunch(f, "sm_89"));
    EXPECT_FALSE(allowsProgrammaticLaunch(f, "sm_80"));
    EXPECT_FALSE(allowsProgrammaticLaunch(f, "compute_90"));
  }
}

} // namespace
