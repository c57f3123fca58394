//===- ReferenceGemmTest.cpp - packed W4A8 GEMM vs an int64 reference ----===//

#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/Quantizers.h"
#include "qqq/Numerics/ReferenceGemm.h"
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace qqq::numerics;
using namespace qqq::numerics::test;

namespace {

uint16_t compilerHalfBits(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}

/// The W4A8 contract from unpacked values, in int64/float64 with explicit
/// f32 roundings: w8 = rne(q * s_grp) (exact in double), acc in int64,
/// t = f32(sTok * sCh), y = f32(acc * t), y = f32(y + bias), f16 by the
/// compiler's conversion.
Matrix<uint16_t> reference(const Matrix<int8_t> &x8, const std::vector<float> &sTok,
                           const Matrix<int8_t> &q, int64_t G,
                           const std::vector<float> &sCh,
                           const Matrix<uint16_t> &sGrp,
                           const std::vector<uint16_t> &bias) {
  Matrix<uint16_t> y(x8.rows, q.rows);
  for (int64_t m = 0; m < x8.rows; ++m)
    for (int64_t n = 0; n < q.rows; ++n) {
      int64_t acc = 0;
      for (int64_t k = 0; k < q.cols; ++k) {
        int64_t w = q.at(n, k);
        if (G > 0)
          w = static_cast<int64_t>(std::nearbyint(double(w) * halfBitsToFloat(sGrp.at(k / G, n))));
        acc += int64_t(x8.at(m, k)) * w;
      }
      float t = static_cast<float>(double(sTok[m]) * double(sCh[n]));
      float v = static_cast<float>(double(acc) * double(t));
      if (!bias.empty())
        v = static_cast<float>(double(v) + double(halfBitsToFloat(bias[n])));
      y.at(m, n) = compilerHalfBits(v);
    }
  return y;
}

void checkGemm(int64_t M, int64_t N, int64_t K, int64_t G, bool withBias,
               uint64_t seed, WeightLayout layout = WeightLayout::RowMajor) {
  Matrix<float> x = randomNormal(M, K, seed);
  Matrix<float> w = randomNormal(N, K, seed + 1, 0.05f);
  Matrix<int8_t> x8;
  std::vector<float> sTok;
  quantizeActPerToken(x, x8, sTok);
  Int4Weight qw = quantizeWeightRTN(w, G);
  ASSERT_TRUE(qw.error.empty());
  PackedW4Weight pw;
  pw.N = N;
  pw.K = K;
  pw.groupSize = G;
  pw.layout = layout;
  ASSERT_EQ(packWeights(layout, qw.q, pw.packed), "");
  if (G > 0) {
    TwoLevelScales t = computeTwoLevelScales(qw.q, qw.groupScale, G);
    pw.sCh = t.sCh;
    pw.sGrpHalf = t.sGrpHalf;
  } else {
    pw.sCh = qw.channelScale;
  }
  if (withBias)
    for (int64_t n = 0; n < N; ++n)
      pw.biasHalf.push_back(floatToHalfBits(0.1f * float(n % 7) - 0.3f));
  Matrix<uint16_t> y;
  ASSERT_EQ(referenceW4A8Gemm(x8, sTok, pw, y), "");
  Matrix<uint16_t> ref = reference(x8, sTok, qw.q, G, pw.sCh, pw.sGrpHalf, pw.biasHalf);
  ASSERT_EQ(y.data, ref.data);
  // Sanity: the result approximates the float product.
  Matrix<float> yf;
  ASSERT_EQ(referenceW4A8Linear(x, pw, yf), "");
  double num = 0, den = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = withBias ? halfBitsToFloat(pw.biasHalf[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k)
        s += double(x.at(m, k)) * w.at(n, k);
      num += (s - yf.at(m, n)) * (s - yf.at(m, n));
      den += s * s;
    }
  EXPECT_LT(std::sqrt(num / den), 0.2);
}

TEST(ReferenceGemm, PackedPerChannelEqualsUnpackedReference) {
  checkGemm(7, 24, 256, 0, false, 1);
  checkGemm(5, 16, 128, 0, true, 2);
}

TEST(ReferenceGemm, PackedPerGroupEqualsUnpackedReference) {
  for (int64_t G : {16, 64, 128}) {
    SCOPED_TRACE(G);
    checkGemm(6, 20, 256, G, false, 10 + G);
    checkGemm(3, 32, 384, G, true, 20 + G);
  }
}

TEST(ReferenceGemm, KernelLayoutsEqualUnpackedReference) {
  // The GPU layouts live in KernelLayouts.cpp; when this build has them the
  // packed-layout GEMM must give the same bits as the unpacked reference.
  int available = 0;
  for (WeightLayout l : {WeightLayout::Sm80Interleaved, WeightLayout::Sm90Interleaved}) {
    std::vector<uint8_t> probe;
    if (!packWeights(l, Matrix<int8_t>(64, 256, 0), probe).empty())
      continue;
    ++available;
    SCOPED_TRACE(weightLayoutName(l));
    checkGemm(5, 64, 256, 0, true, 31, l);
    checkGemm(5, 128, 512, 128, false, 32, l);
  }
  if (available == 0)
    GTEST_SKIP() << "no kernel layouts in this build";
}

TEST(ReferenceGemm, EpilogueHasNoFusedMultiplyAdd) {
  // acc * t + bias with two roundings differs from a fused one here; the
  // reference must give the unfused (two-rounding) result.
  int found = 0;
  std::mt19937 rng(3);
  for (int i = 0; i < 100000 && found < 5; ++i) {
    int32_t acc = static_cast<int32_t>(rng() % 200001) - 100000;
    float sTok = 1e-3f * float(rng() % 1000 + 1), sCh = 1e-4f * float(rng() % 1000 + 1);
    uint16_t b = floatToHalfBits(float(int(rng() % 2001) - 1000) * 1e-2f);
    float t = sTok * sCh;
    float unfused = float(acc) * t;
    unfused = unfused + halfBitsToFloat(b);
    float fused = std::fma(float(acc), t, halfBitsToFloat(b));
    if (floatToHalfBits(unfused) == floatToHalfBits(fused))
      continue;
    ++found;
    EXPECT_EQ(w4a8Epilogue(acc, sTok, sCh, &b), floatToHalfBits(unfused));
  }
  EXPECT_GT(found, 0);
}

TEST(ReferenceGemm, ReportsShapeErrors) {
  PackedW4Weight pw;
  pw.N = 2;
  pw.K = 4;
  pw.packed.assign(4, 0);
  pw.sCh = {1, 1};
  Matrix<int8_t> x8(1, 6, 0);
  Matrix<uint16_t> y;
  EXPECT_NE(referenceW4A8Gemm(x8, {1.0f}, pw, y).find("K = 6"), std::string::npos);
  pw.sCh = {1};
  Matrix<int8_t> x4(1, 4, 0);
  EXPECT_NE(referenceW4A8Gemm(x4, {1.0f}, pw, y).find("N channel scales"),
            std::string::npos);
}

} // namespace
