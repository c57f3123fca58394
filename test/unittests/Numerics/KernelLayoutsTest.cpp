//===- KernelLayoutsTest.cpp - sm80/sm90 interleaved int4 layouts ---------===//
//
// The layouts are checked three ways: pack/unpack are exact inverses, the
// permutation is a bijection on nibbles, and a CPU model of the GPU kernels'
// inner loop (one 16-byte load per lane, high-nibble int4->int8, m16n8k32
// fragment semantics) reading the packed bytes reproduces the int32
// reference GEMM exactly.
//
//===----------------------------------------------------------------------===//
#include "qqq/Numerics/KernelLayouts.h"
#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Quantizers.h"
#include "qqq/Numerics/ReferenceGemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace qqq::numerics;

namespace {

Matrix<int8_t> randomInt4(int64_t N, int64_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(-8, 7);
  Matrix<int8_t> q(N, K);
  for (int8_t &v : q.data)
    v = static_cast<int8_t>(d(rng));
  return q;
}

Matrix<int8_t> randomInt8(int64_t M, int64_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  Matrix<int8_t> x(M, K);
  for (int8_t &v : x.data)
    v = static_cast<int8_t>(d(rng));
  return x;
}

const WeightLayout kLayouts[] = {WeightLayout::Sm80Interleaved,
                                 WeightLayout::Sm90Interleaved};

TEST(KernelLayouts, PackUnpackIsIdentity) {
  for (WeightLayout layout : kLayouts)
    for (auto [N, K] : {std::pair<int64_t, int64_t>{64, 64}, {128, 192},
                        {192, 512}}) {
      Matrix<int8_t> q = randomInt4(N, K, 7 + N + K);
      std::vector<uint8_t> packed;
      ASSERT_EQ(packKernelLayout(layout, q, packed), "");
      ASSERT_EQ(static_cast<int64_t>(packed.size()), N * K / 2);
      Matrix<int8_t> back;
      ASSERT_EQ(unpackKernelLayout(layout, packed, N, K, back), "");
      EXPECT_EQ(back.data, q.data) << weightLayoutName(layout);
      // Through the generic dispatch of Packing.h as well.
      std::vector<uint8_t> viaDispatch;
      ASSERT_EQ(packWeights(layout, q, viaDispatch), "");
      EXPECT_EQ(viaDispatch, packed);
    }
}

TEST(KernelLayouts, PermutationIsBijective) {
  for (WeightLayout layout : kLayouts) {
    int64_t N = 128, K = 256;
    std::vector<int> hits(static_cast<size_t>(N * K), 0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        NibblePosition p = kernelLayoutPosition(layout, n, k, K);
        ASSERT_GE(p.byte, 0);
        ASSERT_LT(p.byte, N * K / 2);
        ++hits[static_cast<size_t>(2 * p.byte + p.high)];
      }
    for (int h : hits)
      ASSERT_EQ(h, 1);
  }
}

TEST(KernelLayouts, LayoutsDifferFromRowMajorAndEachOther) {
  Matrix<int8_t> q = randomInt4(128, 128, 3);
  std::vector<uint8_t> rm, p80, p90;
  ASSERT_EQ(packRowMajor(q, rm), "");
  ASSERT_EQ(packKernelLayout(WeightLayout::Sm80Interleaved, q, p80), "");
  ASSERT_EQ(packKernelLayout(WeightLayout::Sm90Interleaved, q, p90), "");
  EXPECT_NE(rm, p80);
  EXPECT_NE(p80, p90);
}

TEST(KernelLayouts, RejectsBadShapesAndValues) {
  Matrix<int8_t> q = randomInt4(48, 64, 1);
  std::vector<uint8_t> packed;
  EXPECT_NE(packKernelLayout(WeightLayout::Sm90Interleaved, q, packed), "");
  EXPECT_EQ(packKernelLayout(WeightLayout::Sm80Interleaved, q, packed), "");
  Matrix<int8_t> q2 = randomInt4(16, 96, 1);
  EXPECT_NE(packKernelLayout(WeightLayout::Sm80Interleaved, q2, packed), "");
  Matrix<int8_t> q3 = randomInt4(16, 64, 1);
  q3.at(3, 5) = 9;
  std::string err = packKernelLayout(WeightLayout::Sm80Interleaved, q3, packed);
  EXPECT_NE(err.find("(3, 5)"), std::string::npos) << err;
  Matrix<int8_t> back;
  std::vector<uint8_t> shortBuf(10);
  EXPECT_NE(unpackKernelLayout(WeightLayout::Sm80Interleaved, shortBuf, 16, 64,
                               back),
            "");
}

// CPU model of the kernels' inner loop: per 16 x 64 tile, lane l loads its 16
// bytes (4 words), forms the A registers a[s][r] (per channel: 16 q by the
// high-nibble trick; per group: rne(q * s_grp)), and applies the m16n8k32 s8
// fragment semantics against x. Per channel the sum is divided by 16 (exact).
Matrix<int32_t> kernelModelGemm(WeightLayout layout,
                                const std::vector<uint8_t> &packed,
                                const Matrix<int8_t> &x, int64_t N, int64_t K,
                                int64_t G, const Matrix<uint16_t> &sGrp) {
  int64_t M = x.rows;
  Matrix<int32_t> acc(M, N, 0);
  int64_t kTiles = K / 64;
  for (int64_t n16 = 0; n16 < N / 16; ++n16)
    for (int64_t kt = 0; kt < kTiles; ++kt) {
      int64_t tileByte =
          layout == WeightLayout::Sm90Interleaved
              ? 2048 * ((n16 / 4) * kTiles + kt) + 512 * (n16 % 4)
              : 512 * (n16 * kTiles + kt);
      for (int lane = 0; lane < 32; ++lane) {
        int gid = lane / 4, tig = lane % 4;
        uint32_t words[4];
        std::memcpy(words, packed.data() + tileByte + 16 * lane, 16);
        for (int j = 0; j < 4; ++j)
          for (int h = 0; h < 2; ++h) {
            uint32_t reg = h ? (words[j] & 0xF0F0F0F0u)
                             : ((words[j] << 4) & 0xF0F0F0F0u);
            int r = 2 * (j % 2) + h, s = j / 2;
            int64_t n = 16 * n16 + gid + 8 * (r % 2);
            for (int b = 0; b < 4; ++b) {
              int64_t k = 64 * kt + 32 * s + 16 * (r / 2) + 4 * tig + b;
              int w16 = static_cast<int8_t>((reg >> (8 * b)) & 0xFF);
              int w = w16;
              if (G > 0) {
                float sg = halfBitsToFloat(sGrp.at(k / G, n));
                w = static_cast<int>(std::nearbyint((w16 / 16) * sg));
              }
              for (int64_t m = 0; m < M; ++m)
                acc.at(m, n) += w * x.at(m, k);
            }
          }
      }
    }
  if (G == 0)
    for (int32_t &v : acc.data) {
      EXPECT_EQ(v % 16, 0);
      v /= 16;
    }
  return acc;
}

TEST(KernelLayouts, KernelModelGemmMatchesReferenceExactly) {
  for (WeightLayout layout : kLayouts)
    for (int64_t G : {int64_t(0), int64_t(128)}) {
      int64_t N = 128, K = 256, M = 5;
      Matrix<int8_t> q = randomInt4(N, K, 11 + G);
      Matrix<int8_t> x = randomInt8(M, K, 12 + G);
      Matrix<uint16_t> sGrp;
      if (G > 0) {
        sGrp = Matrix<uint16_t>(K / G, N);
        std::mt19937_64 rng(5);
        std::uniform_real_distribution<float> d(0.3f, 127.0f / 8.0f);
        for (uint16_t &h : sGrp.data)
          h = floatToHalfBits(d(rng));
      }
      std::vector<uint8_t> packed;
      ASSERT_EQ(packKernelLayout(layout, q, packed), "");
      Matrix<int32_t> got = kernelModelGemm(layout, packed, x, N, K, G, sGrp);
      Matrix<int32_t> want = int8GemmNT(x, effectiveInt8Weight(q, G, sGrp));
      EXPECT_EQ(got.data, want.data) << weightLayoutName(layout) << " G=" << G;

      // The reference GEMM reading the packed layout agrees with row-major.
      PackedW4Weight wl, wr;
      wl.layout = layout;
      wr.layout = WeightLayout::RowMajor;
      for (PackedW4Weight *w : {&wl, &wr}) {
        w->N = N;
        w->K = K;
        w->groupSize = G;
        w->sCh.assign(static_cast<size_t>(N), 0.01f);
        w->sGrpHalf = sGrp;
        ASSERT_EQ(packWeights(w->layout, q, w->packed), "");
      }
      std::vector<float> sTok(static_cast<size_t>(M), 0.5f);
      Matrix<uint16_t> yl, yr;
      ASSERT_EQ(referenceW4A8Gemm(x, sTok, wl, yl), "");
      ASSERT_EQ(referenceW4A8Gemm(x, sTok, wr, yr), "");
      EXPECT_EQ(yl.data, yr.data);
    }
}

} // namespace
