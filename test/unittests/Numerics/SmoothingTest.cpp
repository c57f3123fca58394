//===- SmoothingTest.cpp - OS+ and SmoothQuant scales --------------------===//

#include "qqq/Numerics/Smoothing.h"
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace qqq::numerics;
using namespace qqq::numerics::test;

namespace {

TEST(Smoothing, OsPlusFormula) {
  ChannelRange r;
  r.max = {10.0f, 0.5f, 3.0f, -1.0f};
  r.min = {-2.0f, -0.5f, -12.0f, -4.0f};
  std::vector<float> s = osPlusScales(r, 2.0f);
  for (size_t j = 0; j < 4; ++j) {
    double ref = std::max({1.0, double(r.max[j]) / 2.0, double(r.min[j]) / -2.0});
    EXPECT_FLOAT_EQ(s[j], ref);
  }
  for (float v : osPlusScales(r, INFINITY))
    EXPECT_EQ(v, 1.0f);
}

TEST(Smoothing, SmoothQuantFormula) {
  Matrix<float> w = randomNormal(5, 4, 1);
  w.at(0, 3) = 0; w.at(1, 3) = 0; w.at(2, 3) = 0; w.at(3, 3) = 0; w.at(4, 3) = 0;
  std::vector<float> amax = {4.0f, 0.25f, 9.0f, 2.0f};
  std::vector<float> s = smoothQuantScales(amax, w, 0.5f);
  for (int64_t k = 0; k < 3; ++k) {
    double wm = 0;
    for (int64_t n = 0; n < 5; ++n)
      wm = std::max(wm, std::fabs(double(w.at(n, k))));
    EXPECT_NEAR(s[k], std::pow(amax[k], 0.5) / std::pow(wm, 0.5), 1e-6 * s[k]);
  }
  EXPECT_EQ(s[3], 1.0f); // zero weight column: no scaling
}

TEST(Smoothing, FoldingIsExactInFloat64) {
  Matrix<float> x = correlatedActivations(16, 64, 4, 2);
  Matrix<float> w = randomNormal(8, 64, 3);
  std::vector<float> s = osPlusScales(channelRange(x), 1.5f);
  for (int64_t m = 0; m < 16; ++m)
    for (int64_t n = 0; n < 8; ++n) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < 64; ++k) {
        a += double(x.at(m, k)) * w.at(n, k);
        b += (double(x.at(m, k)) / s[k]) * (double(w.at(n, k)) * s[k]);
      }
      EXPECT_NEAR(a, b, 1e-12 * (1 + std::fabs(a)));
    }
  // The float helpers apply the same scaling.
  Matrix<float> xs = x, ws = w;
  divideColumns(xs, s);
  multiplyColumns(ws, s);
  EXPECT_EQ(xs.at(3, 5), x.at(3, 5) / s[5]);
  EXPECT_EQ(ws.at(2, 5), w.at(2, 5) * s[5]);
}

TEST(Smoothing, SearchedThresholdBeatsNoSmoothingOnOutliers) {
  Matrix<float> x = correlatedActivations(256, 256, 8, 4, /*outlier=*/50.0f, 6);
  Matrix<float> q = randomNormal(64, 256, 5, 0.05f), k = randomNormal(32, 256, 6, 0.05f);
  for (int64_t G : {0, 128}) {
    SmoothSearchOptions opt;
    opt.groupSize = G;
    SmoothSearchResult r = searchOsPlusThreshold(x, {&q, &k}, opt);
    EXPECT_LE(r.error, r.errorNoSmoothing);
    // With 50x outlier channels smoothing must help, at a finite threshold.
    EXPECT_TRUE(std::isfinite(r.threshold));
    EXPECT_LT(r.error, 0.9 * r.errorNoSmoothing);
    // The reported errors are the objective evaluated at those scales.
    EXPECT_NEAR(smoothedQuantError(x, {&q, &k}, r.scales, G), r.error, 1e-9 * r.error);
    std::vector<float> ones(256, 1.0f);
    EXPECT_NEAR(smoothedQuantError(x, {&q, &k}, ones, G), r.errorNoSmoothing,
                1e-9 * r.errorNoSmoothing);
  }
}

TEST(Smoothing, ReportsBadInput) {
  Matrix<float> x = randomNormal(8, 64, 9), w = randomNormal(4, 32, 10);
  SmoothSearchResult r = searchOsPlusThreshold(x, {&w}, {});
  EXPECT_NE(r.invalidInput.find("K = 64"), std::string::npos) << r.invalidInput;
  Matrix<float> w2 = randomNormal(4, 64, 11);
  SmoothSearchOptions opt;
  opt.groupSize = 24;
  EXPECT_NE(searchOsPlusThreshold(x, {&w2}, opt).invalidInput.find("multiple of 16"),
            std::string::npos);
  EXPECT_TRUE(std::isnan(smoothedQuantError(x, {&w}, std::vector<float>(64, 1.0f), 0)));
}

TEST(Smoothing, NoOutliersKeepsErrorBounded) {
  Matrix<float> x = randomNormal(128, 128, 7);
  Matrix<float> w = randomNormal(32, 128, 8);
  SmoothSearchResult r = searchOsPlusThreshold(x, {&w}, {});
  EXPECT_LE(r.error, r.errorNoSmoothing);
}

} // namespace
