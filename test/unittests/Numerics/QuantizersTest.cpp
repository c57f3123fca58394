//===- QuantizersTest.cpp - quantizers against float64 formulas ----------===//

#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Quantizers.h"
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace qqq::numerics;
using namespace qqq::numerics::test;

namespace {

double rne(double v) { return std::nearbyint(v); }
double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

TEST(Quantizers, ActivationPerTokenMatchesFloat64Formula) {
  Matrix<float> x = randomNormal(64, 200, 1, 3.0f);
  for (int64_t k = 0; k < 200; ++k)
    x.at(5, k) = 0.0f; // an all-zero token
  x.at(7, 3) = 1000.0f; // an outlier
  Matrix<int8_t> q;
  std::vector<float> s;
  quantizeActPerToken(x, q, s);
  for (int64_t m = 0; m < x.rows; ++m) {
    double amax = 0;
    for (int64_t k = 0; k < x.cols; ++k)
      amax = std::max(amax, std::fabs(double(x.at(m, k))));
    // An f32 division is the correctly rounded quotient.
    ASSERT_EQ(s[m], static_cast<float>(amax / 127.0)) << m;
    for (int64_t k = 0; k < x.cols; ++k) {
      double ref = amax == 0 ? 0 : clampd(rne(double(float(double(x.at(m, k)) / double(s[m])))), -127, 127);
      ASSERT_EQ(q.at(m, k), ref) << m << "," << k;
    }
  }
  EXPECT_EQ(s[5], 0.0f);
  EXPECT_EQ(q.at(7, 3), 127);
}

TEST(Quantizers, ActivationTiesRoundToEven) {
  // amax = 127 gives s = 1: x = 2.5 -> 2, 3.5 -> 4, -0.5 -> 0.
  std::vector<float> x = {127.0f, 2.5f, 3.5f, -0.5f, -1.5f};
  std::vector<int8_t> q(x.size());
  EXPECT_EQ(quantizeActRow(x.data(), 5, q.data()), 1.0f);
  EXPECT_EQ(q[1], 2);
  EXPECT_EQ(q[2], 4);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[4], -2);
}

void expectWeightMatchesFormula(const Matrix<float> &w, int64_t G) {
  Int4Weight r = quantizeWeightRTN(w, G);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const int64_t N = w.rows, K = w.cols, span = G > 0 ? G : K;
  const double qmin = G > 0 ? -8 : -7, qmax = 7;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < K / span; ++g) {
      double amax = 0;
      for (int64_t k = g * span; k < (g + 1) * span; ++k)
        amax = std::max(amax, std::fabs(double(w.at(n, k))));
      float s = G > 0 ? r.groupScale.at(g, n) : r.channelScale[n];
      double sref = amax == 0 ? 1.0 : (G > 0 ? 2.0 * amax / 15.0 : amax / 7.0);
      ASSERT_NEAR(s, sref, 1e-6 * sref);
      for (int64_t k = g * span; k < (g + 1) * span; ++k)
        // w / s is an f32 division (the documented formula); rounding the
        // float64 quotient to f32 reproduces it exactly. The row maximum
        // lands on a tie (7.5 per group), so this matters.
        ASSERT_EQ(r.q.at(n, k),
                  clampd(rne(double(float(double(w.at(n, k)) / double(s)))), qmin, qmax))
            << n << "," << k;
    }
}

TEST(Quantizers, WeightPerChannelMatchesFloat64Formula) {
  Matrix<float> w = randomNormal(32, 256, 2);
  for (int64_t k = 0; k < 256; ++k)
    w.at(3, k) = 0.0f;
  expectWeightMatchesFormula(w, 0);
}

TEST(Quantizers, WeightPerGroupMatchesFloat64Formula) {
  for (int64_t G : {16, 32, 64, 128, 256}) {
    SCOPED_TRACE(G);
    Matrix<float> w = randomNormal(16, 256, 3 + G);
    expectWeightMatchesFormula(w, G);
  }
}

TEST(Quantizers, GroupSizeValidation) {
  EXPECT_TRUE(checkGroupSize(0, 100).empty());
  EXPECT_TRUE(checkGroupSize(128, 4096).empty());
  EXPECT_FALSE(checkGroupSize(24, 96).empty());  // not a multiple of 16
  EXPECT_FALSE(checkGroupSize(128, 192).empty()); // does not divide K
  EXPECT_FALSE(checkGroupSize(-16, 192).empty());
  Int4Weight r = quantizeWeightRTN(randomNormal(2, 48, 1), 32);
  EXPECT_NE(r.error.find("does not divide"), std::string::npos) << r.error;
}

/// Direct float64 re-implementation of the MSE clip search.
double mseReferenceScale(const std::vector<float> &x, int64_t G) {
  double amax = 0;
  for (float v : x)
    amax = std::max(amax, std::fabs(double(v)));
  double best = 0, bestErr = INFINITY;
  const double qmin = G > 0 ? -8 : -7;
  for (int i = 0; i < 80; ++i) {
    float p = static_cast<float>(1.0 - i / 100.0);
    float a = p * static_cast<float>(amax);
    float s = G > 0 ? (2.0f * a) / 15.0f : a / 7.0f;
    double err = 0;
    for (float v : x) {
      double q = clampd(rne(double(float(double(v) / double(s)))), qmin, 7);
      err += std::pow(std::fabs(double(float(q) * s) - double(v)), 2.4);
    }
    if (err < bestErr) {
      bestErr = err;
      best = s;
    }
  }
  return best;
}

TEST(Quantizers, MseClipSearchMatchesDirectSearch) {
  Matrix<float> w = randomNormal(8, 128, 4);
  w.at(1, 5) = 9.0f; // an outlier makes clipping worthwhile
  for (int64_t G : {0, 32}) {
    int64_t span = G > 0 ? G : 128;
    bool someClipped = false;
    for (int64_t n = 0; n < 8; ++n)
      for (int64_t g = 0; g < 128 / span; ++g) {
        std::vector<float> seg(w.row(n) + g * span, w.row(n) + (g + 1) * span);
        float s = findInt4Scale(seg.data(), span, G, true);
        EXPECT_FLOAT_EQ(s, mseReferenceScale(seg, G));
        someClipped |= s < findInt4Scale(seg.data(), span, G, false);
      }
    EXPECT_TRUE(someClipped);
  }
  // The searched scale never has a larger error than plain max scaling.
  Int4Weight rtn = quantizeWeightRTN(w, 32), mse = quantizeWeightRTN(w, 32, true);
  Matrix<float> a = dequantizeWeight(rtn), b = dequantizeWeight(mse);
  double ea = 0, eb = 0;
  for (size_t i = 0; i < w.data.size(); ++i) {
    ea += std::pow(std::fabs(double(a.data[i]) - w.data[i]), 2.4);
    eb += std::pow(std::fabs(double(b.data[i]) - w.data[i]), 2.4);
  }
  EXPECT_LE(eb, ea);
}

TEST(Quantizers, TwoLevelScalesKeepInt8RangeAndFormula) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Matrix<float> w = randomNormal(16, 512, 100 + seed, 0.02f);
    // Make one group hold the row maximum with a positive value (q = 7 max),
    // the case where s_grp exceeds 127/8.
    w.at(0, 3) = 0.5f;
    for (int64_t k = 128; k < 256; ++k)
      w.at(2, k) = 0.0f; // an empty group
    const int64_t G = 128;
    Int4Weight r = quantizeWeightRTN(w, G);
    TwoLevelScales t = computeTwoLevelScales(r.q, r.groupScale, G);
    for (int64_t n = 0; n < 16; ++n) {
      double amax = 0;
      for (int64_t k = 0; k < 512; ++k)
        amax = std::max(amax, std::fabs(double(r.q.at(n, k)) * r.groupScale.at(k / G, n)));
      ASSERT_NEAR(t.sCh[n], amax / 127.0, 1e-7 * amax);
      EXPECT_EQ(t.sCh[n], r.channelScale[n]);
      for (int64_t g = 0; g < 4; ++g) {
        float sg = halfBitsToFloat(t.sGrpHalf.at(g, n));
        double ideal = double(r.groupScale.at(g, n)) / t.sCh[n];
        int qabs = 0;
        for (int64_t k = g * G; k < (g + 1) * G; ++k) {
          qabs = std::max(qabs, std::abs(int(r.q.at(n, k))));
          int w8 = twoLevelInt8(r.q.at(n, k), t.sGrpHalf.at(g, n));
          ASSERT_LE(std::abs(w8), 127);
          ASSERT_EQ(w8, rne(double(r.q.at(n, k)) * double(sg)));
        }
        if (qabs == 0) {
          EXPECT_EQ(sg, 0.0f);
          continue;
        }
        // Within an f16 ulp or two of the exact ratio.
        EXPECT_NEAR(sg, ideal, 2.0 * std::ldexp(1.0, std::ilogb(ideal) - 10));
      }
    }
  }
}

TEST(Quantizers, TwoLevelBoundHoldsAtTheEdges) {
  // Group 0 holds the row maximum qa * 1.0; group 1 has q = -8 with
  // |What| just below it, so 8 * s_grp sits right at 127 before rounding.
  for (int qa = 1; qa <= 8; ++qa)
    for (int sign : {-1, 1})
      for (float delta : {0.0f, 1e-7f, 1e-6f, 1e-4f, 1e-3f}) {
        if (sign > 0 && qa == 8)
          continue;
        Matrix<int8_t> q(1, 32, 0);
        Matrix<float> gs(2, 1);
        q.at(0, 0) = static_cast<int8_t>(sign * qa);
        q.at(0, 16) = -8;
        gs.at(0, 0) = 1.0f;
        gs.at(1, 0) = qa / 8.0f * (1.0f - delta);
        TwoLevelScales t = computeTwoLevelScales(q, gs, 16);
        for (int64_t k = 0; k < 32; ++k)
          ASSERT_LE(std::abs(int(twoLevelInt8(q.at(0, k), t.sGrpHalf.at(k / 16, 0)))), 127)
              << qa << " " << delta;
        EXPECT_GE(std::abs(int(twoLevelInt8(q.at(0, 0), t.sGrpHalf.at(0, 0)))), 126);
      }
}

} // namespace
