//===- TuneCandidatesTest.cpp - qqq-tune's search space -------------------===//
//
// bench/gpu/tune_candidates.cpp without a GPU: the candidates are valid,
// unique and for their bucket, the default comes first, stream-K is
// offered exactly where whole tiles leave the last wave's SMs idle, and
// every one-CTA-per-tile candidate with several token tiles also comes
// token tiles first.
//
//===----------------------------------------------------------------------===//
#include "tune_candidates.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace qqq::codegen;
using qqq::tune::candidates;

namespace {

constexpr int64_t kSms = 132;

// The benchmark's layers and the fused gate/up ones qqq emits.
const GemmShape kShapes[] = {
    {12288, 4096, 0}, {4096, 4096, 0},   {11008, 4096, 0}, {4096, 11008, 0},
    {10240, 8192, 0}, {8192, 8192, 0},   {28672, 8192, 0}, {8192, 28672, 0},
    {4608, 3584, 0},  {3584, 3584, 0},   {18944, 3584, 0}, {3584, 18944, 0},
    {22016, 4096, 0}, {37888, 3584, 0},  {57344, 8192, 0}, {512, 3584, 0}};

int64_t tilesOf(const GemmConfig &c, const GemmShape &s, int64_t bucket) {
  int64_t m = bucket == 0 ? 4096 : bucket;
  return s.N / c.tileN * ((m + c.tileM - 1) / c.tileM);
}

TEST(TuneCandidates, ValidUniqueDefaultFirst) {
  for (GemmShape s : kShapes)
    for (int64_t group : {0, 128}) {
      s.groupSize = group;
      for (int64_t b : mBuckets()) {
        std::vector<GemmConfig> cs = candidates(s, b, kSms);
        ASSERT_FALSE(cs.empty());
        GemmConfig def = defaultConfig(s, b, "sm_90a");
        def.maxM = b;
        EXPECT_EQ(cs.front(), def) << s.N << "x" << s.K << " bucket " << b;
        for (size_t i = 0; i < cs.size(); ++i) {
          EXPECT_FALSE(whyInvalid(cs[i], s)) << i;
          EXPECT_EQ(cs[i].maxM, b);
          EXPECT_EQ(std::count(cs.begin(), cs.end(), cs[i]), 1) << i;
        }
      }
    }
}

TEST(TuneCandidates, StreamKWhereTheLastWaveIsIdle) {
  for (GemmShape s : kShapes)
    for (int64_t b : mBuckets()) {
      std::vector<GemmConfig> cs = candidates(s, b, kSms);
      size_t dataParallel = 0;
      for (const GemmConfig &c : cs) {
        if (c.streamK == 0) {
          ++dataParallel;
          continue;
        }
        // One persistent CTA per SM, unsplit, a bounded bucket, at most 16
        // waves of tiles whose last wave is under 90 % full.
        EXPECT_EQ(c.streamK, kSms);
        EXPECT_EQ(c.splitK, 1);
        EXPECT_NE(b, 0);
        int64_t tiles = tilesOf(c, s, b);
        int64_t waves = (tiles + kSms - 1) / kSms;
        EXPECT_LE(tiles, 16 * kSms);
        EXPECT_LT(tiles - (waves - 1) * kSms, 0.9 * kSms)
            << s.N << "x" << s.K << " bucket " << b << " tile " << c.tileM
            << "x" << c.tileN;
      }
      // The search always has one-CTA-per-tile candidates too, also where
      // the default is stream-K (a candidate derived from a stream-K default
      // must not inherit it).
      EXPECT_GT(dataParallel, 1u) << s.N << "x" << s.K << " bucket " << b;
    }
}

TEST(TuneCandidates, FusedGateUpGetsStreamK) {
  // LLaMA-2-70B's fused gate/up, 256 x 128 tiles: 6.8 waves at M = 512 and
  // 13.6 at 1024, the last wave 79 % full. Before the fifteenth session the
  // idle SMs were counted against all waves (3 %) and grids were capped at 8
  // waves: no stream-K candidate at all.
  GemmShape fused{57344, 8192, 0};
  for (int64_t b : {512, 1024}) {
    std::vector<GemmConfig> cs = candidates(fused, b, kSms);
    bool found = std::any_of(cs.begin(), cs.end(), [](const GemmConfig &c) {
      return c.streamK > 0 && c.tileM == 256 && c.tileN == 128;
    });
    EXPECT_TRUE(found) << "bucket " << b;
  }
  // 12288 x 4096 at M = 1024 in 256 x 128 tiles: 384 tiles, a last wave of
  // 120 of 132 (over 90 %): none in that tile.
  for (const GemmConfig &c : candidates({12288, 4096, 0}, 1024, kSms))
    EXPECT_FALSE(c.streamK > 0 && c.tileM == 256 && c.tileN == 128);
}

TEST(TuneCandidates, TokenTilesFirstBesideEveryMultiTokenTileGrid) {
  for (GemmShape s : kShapes)
    for (int64_t b : mBuckets()) {
      std::vector<GemmConfig> cs = candidates(s, b, kSms);
      int64_t m = b == 0 ? 4096 : b;
      size_t ordered = 0;
      for (const GemmConfig &c : cs) {
        bool several = (m + c.tileM - 1) / c.tileM >= 2;
        GemmConfig flipped = c;
        flipped.tokenTilesFirst = !c.tokenTilesFirst;
        bool hasFlipped =
            std::find(cs.begin(), cs.end(), flipped) != cs.end();
        if (c.tokenTilesFirst) {
          ++ordered;
          // Only for one CTA per tile and several token tiles, and always
          // beside the same configuration in launch order.
          EXPECT_EQ(c.streamK, 0);
          EXPECT_TRUE(several) << s.N << "x" << s.K << " bucket " << b;
          EXPECT_TRUE(hasFlipped);
        } else if (c.streamK == 0) {
          EXPECT_EQ(hasFlipped, several)
              << s.N << "x" << s.K << " bucket " << b << " tile_m " << c.tileM;
        }
      }
      // The default is never token tiles first: the search starts there.
      EXPECT_FALSE(cs.front().tokenTilesFirst);
      // M <= 16 has one token tile per block.
      if (b != 0 && b <= 16) {
        EXPECT_EQ(ordered, 0u) << s.N << "x" << s.K << " bucket " << b;
      }
      if (b == 256) {
        EXPECT_GT(ordered, 0u) << s.N << "x" << s.K;
      }
    }
}

} // namespace
