//===- KernelCatalogTest.cpp - validity rules and shared-memory sizes ------===//
#include "qqq/CodeGen/KernelCatalog.h"

#include <gtest/gtest.h>

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
  EXPECT_TRUE(mentions(whyInvalid(sm90(256, 16, 128, 4), s), "registers"));
  EXPECT_FALSE(whyInvalid(sm90(256, 8, 128, 4), s));
}

// 128 bytes of mbarriers, then per stage: activations tile_m * tile_k,
// weights tile_n * tile_k / 2, per group 128 bytes of scales per warpgroup
// and group in the tile.
TEST(KernelCatalog, Sm90SharedBytes) {
  GemmConfig c = sm90(16, 4, 512, 4);
  EXPECT_EQ(launchGeometry(c, {4096, 4096, 0}, 1).sharedBytes,
            128u + 4 * (16 * 512 + 64 * 256));
  EXPECT_EQ(launchGeometry(c, {4096, 4096, 128}, 1).sharedBytes,
            128u + 4 * (16 * 512 + 64 * 256 + 4 * 128));
  // Split-K partials (one int32 per output) reuse the ring for the cluster
  // reduction: the larger of the two.
  GemmConfig split = sm90(128, 8, 64, 3);
  split.splitK = 2;
  EXPECT_EQ(launchGeometry(split, {4096, 4096, 0}, 1).sharedBytes,
            128u + 128 * 128 * 4);
  EXPECT_EQ(launchGeometry(split, {4096, 4096, 0}, 1).workspaceBytes, 0u);
  split.splitK = 16;
  EXPECT_TRUE(mentions(whyInvalid(split, {4096, 4096, 0}), "cluster"));
  GemmConfig big = sm90(128, 8, 128, 3);
  EXPECT_EQ(launchGeometry(big, {4096, 4096, 1024}, 1).sharedBytes,
            128u + 3 * (128 * 128 + 128 * 64 + 2 * 128));
}

} // namespace
