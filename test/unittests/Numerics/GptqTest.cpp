//===- GptqTest.cpp - GPTQ quality, determinism and robustness -----------===//

#include "qqq/Numerics/GPTQ.h"
#include "qqq/Numerics/Quantizers.h"
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace qqq::numerics;
using namespace qqq::numerics::test;

namespace {

struct Problem {
  Matrix<float> x, w;
  Matrix<double> H;
};

Problem makeProblem(int64_t rows, int64_t K, int64_t N, uint64_t seed) {
  Problem p;
  p.x = correlatedActivations(rows, K, 16, seed);
  p.w = randomNormal(N, K, seed + 10, 0.05f);
  p.H = computeHessian(p.x);
  return p;
}

bool allFinite(const GptqResult &r) {
  for (float v : r.channelScale)
    if (!std::isfinite(v))
      return false;
  for (float v : r.groupScale.data)
    if (!std::isfinite(v))
      return false;
  return true;
}

TEST(Gptq, HessianIsTwoOverNTimesXtX) {
  Matrix<float> x = randomNormal(10, 6, 1);
  Matrix<double> H = computeHessian(x);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      double s = 0;
      for (int64_t m = 0; m < 10; ++m)
        s += double(x.at(m, i)) * x.at(m, j);
      EXPECT_NEAR(H.at(i, j), 2.0 * s / 10, 1e-6 * (1 + std::fabs(s)));
    }
  // Accumulating in two batches gives the same.
  Matrix<double> H2;
  int64_t count = 0;
  Matrix<float> a(4, 6), b(6, 6);
  std::copy_n(x.data.begin(), 24, a.data.begin());
  std::copy_n(x.data.begin() + 24, 36, b.data.begin());
  accumulateHessian(a, H2, count);
  accumulateHessian(b, H2, count);
  finalizeHessian(H2, count);
  for (size_t i = 0; i < H.data.size(); ++i)
    EXPECT_NEAR(H.data[i], H2.data[i], 1e-6 * (1 + std::fabs(H.data[i])));
}

TEST(Gptq, HessianOverSeveralChunksMatchesFloat64) {
  Matrix<float> x = randomNormal(2500, 24, 12); // 3 chunks of <= 1024 rows
  Matrix<double> H = computeHessian(x);
  for (int64_t i = 0; i < 24; ++i)
    for (int64_t j = 0; j < 24; ++j) {
      double s = 0;
      for (int64_t m = 0; m < 2500; ++m)
        s += double(x.at(m, i)) * x.at(m, j);
      EXPECT_NEAR(H.at(i, j), 2.0 * s / 2500, 1e-5 * (1 + std::fabs(2.0 * s / 2500)));
      EXPECT_EQ(H.at(i, j), H.at(j, i));
    }
}

TEST(Gptq, FirstTokenWeightAddsItsShare) {
  Matrix<double> H(2, 2, 1.0);
  std::vector<double> first = {4.0, 2.0, 2.0, 6.0};
  // 100 tokens in 10 windows, weight 0.5: H += 0.5 * (100 / 10) * first.
  addFirstTokenWeight(H, first, 100, 10, 0.5);
  EXPECT_EQ(H.data, (std::vector<double>{21.0, 11.0, 11.0, 31.0}));
  addFirstTokenWeight(H, first, 100, 10, 0.0);
  EXPECT_EQ(H.at(0, 0), 21.0);
}

// The attention sink: one row per window in an unusual direction. With its
// share restored in H, GPTQ's error on those rows drops (the point of
// --sink-weight), while the error on all rows stays far below RTN's.
// The calibration file's first-token rows become Σ rᵢrᵢᵀ in float64: checked
// against the direct double loop on values whose float32 products would
// round (14 significant bits each) while every double sum stays exact in
// any order.
TEST(Gptq, SumOfOuterProductsIsFloat64) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> d(-(1 << 12), 1 << 12);
  Matrix<float> rows(5, 7);
  for (float &v : rows.data)
    v = static_cast<float>(d(rng)) + 0.5f;
  std::vector<double> got = sumOfOuterProducts(rows);
  ASSERT_EQ(got.size(), 49u);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 7; ++j) {
      double want = 0;
      for (int64_t r = 0; r < 5; ++r)
        want += double(rows.at(r, i)) * double(rows.at(r, j));
      EXPECT_EQ(got[i * 7 + j], want) << i << "," << j;
    }
  EXPECT_EQ(sumOfOuterProducts(Matrix<float>(0, 3)), std::vector<double>(9, 0.0));
}

TEST(Gptq, SinkWeightLowersTheErrorOnFirstTokens) {
  const int64_t K = 128, N = 64, windows = 16, len = 64;
  Matrix<float> x = correlatedActivations(windows * len, K, 16, 7);
  Matrix<float> sink = randomNormal(windows, K, 8, 0.3f);
  for (int64_t w = 0; w < windows; ++w)
    for (int64_t k = 0; k < K; ++k) // a shared direction plus noise
      x.at(w * len, k) = sink.at(w, k) + (k % 5 == 0 ? 4.0f : -1.0f);
  Matrix<float> wt = randomNormal(N, K, 9, 0.05f);
  Matrix<float> first(windows, K);
  for (int64_t w = 0; w < windows; ++w)
    for (int64_t k = 0; k < K; ++k)
      first.at(w, k) = x.at(w * len, k);
  auto hessian = [&](double weight) {
    Matrix<double> H;
    int64_t count = 0, countFirst = 0;
    accumulateHessian(x, H, count);
    Matrix<double> F;
    accumulateHessian(first, F, countFirst);
    for (int64_t i = 0; i < K; ++i) // accumulate fills the upper triangle
      for (int64_t j = 0; j < i; ++j)
        F.at(i, j) = F.at(j, i);
    addFirstTokenWeight(H, F.data, count, countFirst, weight);
    finalizeHessian(H, count);
    return H;
  };
  GptqResult plain = gptqQuantize(wt, hessian(0.0), GptqOptions());
  GptqResult weighted = gptqQuantize(wt, hessian(0.5), GptqOptions());
  ASSERT_TRUE(plain.error.empty() && weighted.error.empty());
  double ePlain = outputError(first, wt, dequantizeGptq(plain));
  double eWeighted = outputError(first, wt, dequantizeGptq(weighted));
  EXPECT_LT(eWeighted, 0.7 * ePlain) << eWeighted << " vs " << ePlain;
  double eRtn = outputError(x, wt, dequantizeWeight(quantizeWeightRTN(wt, 0)));
  EXPECT_LT(outputError(x, wt, dequantizeGptq(weighted)), 0.8 * eRtn);
}

void expectBeatsRtn(int64_t G, bool actOrder, bool staticGroups) {
  Problem p = makeProblem(1024, 512, 96, 1);
  GptqOptions opt;
  opt.groupSize = G;
  opt.actOrder = actOrder;
  opt.staticGroups = staticGroups;
  GptqResult r = gptqQuantize(p.w, p.H, opt);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_TRUE(allFinite(r));
  double eG = outputError(p.x, p.w, dequantizeGptq(r));
  double eR = outputError(p.x, p.w, dequantizeWeight(quantizeWeightRTN(p.w, G)));
  ::testing::Test::RecordProperty("gptq_over_rtn", std::to_string(eG / eR));
  EXPECT_LT(eG, 0.7 * eR) << "GPTQ " << eG << " RTN " << eR;
  if (G > 0) {
    // The two-level channel scale accompanies per-group results.
    TwoLevelScales t = computeTwoLevelScales(r.q, r.groupScale, G);
    EXPECT_EQ(t.sCh, r.channelScale);
  }
}

TEST(Gptq, PerChannelBeatsRtnByThirtyPercent) { expectBeatsRtn(0, false, false); }
TEST(Gptq, Group128BeatsRtnByThirtyPercent) { expectBeatsRtn(128, false, false); }
TEST(Gptq, ActOrderPerChannelBeatsRtn) { expectBeatsRtn(0, true, false); }
TEST(Gptq, ActOrderStaticGroupsBeatsRtn) { expectBeatsRtn(128, true, true); }

TEST(Gptq, StaticGroupScalesComeFromTheOriginalWeight) {
  Problem p = makeProblem(256, 256, 32, 2);
  GptqOptions opt;
  opt.groupSize = 64;
  opt.actOrder = true;
  opt.staticGroups = true;
  GptqResult r = gptqQuantize(p.w, p.H, opt);
  ASSERT_TRUE(r.error.empty());
  Int4Weight rtn = quantizeWeightRTN(p.w, 64);
  EXPECT_EQ(r.groupScale.data, rtn.groupScale.data);
  // Act-order with dynamic groups would need an index permutation.
  opt.staticGroups = false;
  EXPECT_NE(gptqQuantize(p.w, p.H, opt).error.find("static groups"), std::string::npos);
}

TEST(Gptq, IsDeterministic) {
  Problem p = makeProblem(512, 384, 200, 3);
  for (int64_t G : {0, 128}) {
    GptqOptions opt;
    opt.groupSize = G;
    opt.blockSize = 64;
    GptqResult a = gptqQuantize(p.w, p.H, opt), b = gptqQuantize(p.w, p.H, opt);
    EXPECT_EQ(a.q.data, b.q.data);
    EXPECT_EQ(a.channelScale, b.channelScale);
    EXPECT_EQ(a.groupScale.data, b.groupScale.data);
    EXPECT_EQ(a.quantLoss, b.quantLoss);
  }
}

/// Textbook GPTQ/OBQ in float64 without blocking or Cholesky: after each
/// column, the inverse Hessian is updated by its Schur complement.
Matrix<float> textbookGptq(const Matrix<float> &W, const Matrix<double> &Hin) {
  const int64_t N = W.rows, K = W.cols;
  Matrix<double> H = Hin;
  double mean = 0;
  for (int64_t i = 0; i < K; ++i)
    mean += H.at(i, i);
  for (int64_t i = 0; i < K; ++i)
    H.at(i, i) += 0.01 * mean / K;
  // Gauss-Jordan inverse.
  Matrix<double> A = H, inv(K, K, 0.0);
  for (int64_t i = 0; i < K; ++i)
    inv.at(i, i) = 1;
  for (int64_t c = 0; c < K; ++c) {
    double piv = A.at(c, c);
    for (int64_t j = 0; j < K; ++j) {
      A.at(c, j) /= piv;
      inv.at(c, j) /= piv;
    }
    for (int64_t r = 0; r < K; ++r)
      if (r != c) {
        double f = A.at(r, c);
        for (int64_t j = 0; j < K; ++j) {
          A.at(r, j) -= f * A.at(c, j);
          inv.at(r, j) -= f * inv.at(c, j);
        }
      }
  }
  std::vector<float> scale(N);
  for (int64_t n = 0; n < N; ++n)
    scale[n] = findInt4Scale(W.row(n), K, 0, false);
  Matrix<double> w(N, K);
  for (int64_t i = 0; i < N * K; ++i)
    w.data[i] = W.data[i];
  Matrix<float> out(N, K);
  for (int64_t i = 0; i < K; ++i) {
    double d = inv.at(i, i);
    for (int64_t n = 0; n < N; ++n) {
      double q = std::max(-7.0, std::min(7.0, std::nearbyint(w.at(n, i) / scale[n])));
      out.at(n, i) = float(q) * scale[n];
      double err = (w.at(n, i) - out.at(n, i)) / d;
      for (int64_t j = i + 1; j < K; ++j)
        w.at(n, j) -= err * inv.at(i, j);
    }
    for (int64_t r = i + 1; r < K; ++r)
      for (int64_t c = i + 1; c < K; ++c)
        inv.at(r, c) -= inv.at(r, i) * inv.at(i, c) / d;
  }
  return out;
}

TEST(Gptq, MatchesTextbookFloat64Algorithm) {
  Problem p = makeProblem(256, 96, 24, 4);
  GptqOptions opt;
  opt.blockSize = 32; // several blocks exercise the lazy updates
  GptqResult r = gptqQuantize(p.w, p.H, opt);
  Matrix<float> mine = dequantizeGptq(r), ref = textbookGptq(p.w, p.H);
  int64_t differ = 0;
  for (size_t i = 0; i < mine.data.size(); ++i)
    differ += mine.data[i] != ref.data[i];
  // Float32 vs float64 may flip a rare rounding decision.
  EXPECT_LE(differ, static_cast<int64_t>(mine.data.size() / 100));
  double eMine = outputError(p.x, p.w, mine), eRef = outputError(p.x, p.w, ref);
  EXPECT_NEAR(eMine, eRef, 0.02 * eRef);
}

TEST(Gptq, BlockSizeDoesNotChangeTheResult) {
  Problem p = makeProblem(256, 256, 64, 5);
  GptqOptions a, b;
  a.blockSize = 16;
  b.blockSize = 128;
  GptqResult ra = gptqQuantize(p.w, p.H, a), rb = gptqQuantize(p.w, p.H, b);
  int64_t differ = 0;
  for (size_t i = 0; i < ra.q.data.size(); ++i)
    differ += ra.q.data[i] != rb.q.data[i];
  EXPECT_LE(differ, static_cast<int64_t>(ra.q.data.size() / 100));
}

TEST(Gptq, ZeroHessianGivesFiniteZeroWeight) {
  Matrix<float> w = randomNormal(16, 64, 6);
  Matrix<double> H(64, 64, 0.0);
  for (int64_t G : {0, 32}) {
    GptqOptions opt;
    opt.groupSize = G;
    GptqResult r = gptqQuantize(w, H, opt);
    ASSERT_TRUE(r.error.empty());
    EXPECT_TRUE(allFinite(r));
    EXPECT_TRUE(std::isfinite(r.quantLoss));
    EXPECT_EQ(r.deadColumns, 64);
    for (int8_t q : r.q.data)
      EXPECT_EQ(q, 0);
  }
}

TEST(Gptq, SingularHessianGivesFiniteResult) {
  // 8 calibration rows for K = 128: rank 8, plus a few dead inputs.
  Matrix<float> x = randomNormal(8, 128, 7);
  for (int64_t m = 0; m < 8; ++m)
    x.at(m, 5) = x.at(m, 77) = 0.0f;
  Matrix<double> H = computeHessian(x);
  Matrix<float> w = randomNormal(32, 128, 8);
  for (double damp : {0.01, 0.0}) {
    GptqOptions opt;
    opt.groupSize = 64;
    opt.dampPercent = damp;
    GptqResult r = gptqQuantize(w, H, opt);
    ASSERT_TRUE(r.error.empty());
    EXPECT_TRUE(allFinite(r));
    EXPECT_TRUE(std::isfinite(r.quantLoss));
    EXPECT_EQ(r.deadColumns, 2);
    Matrix<float> d = dequantizeGptq(r);
    for (float v : d.data)
      ASSERT_TRUE(std::isfinite(v));
    for (int64_t n = 0; n < 32; ++n)
      EXPECT_EQ(r.q.at(n, 5), 0);
  }
}

TEST(Gptq, SharedHessianEqualsSeparateRuns) {
  Problem p = makeProblem(512, 256, 48, 13);
  Matrix<float> w2 = randomNormal(20, 256, 14, 0.05f);
  for (int64_t G : {0, 64}) {
    GptqOptions opt;
    opt.groupSize = G;
    std::vector<GptqResult> shared = gptqQuantizeShared({&p.w, &w2}, p.H, opt);
    ASSERT_EQ(shared.size(), 2u);
    const Matrix<float> *ws[2] = {&p.w, &w2};
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(shared[i].error.empty());
      GptqResult alone = gptqQuantize(*ws[i], p.H, opt);
      int64_t differ = 0;
      for (size_t j = 0; j < alone.q.data.size(); ++j)
        differ += alone.q.data[j] != shared[i].q.data[j];
      EXPECT_LE(differ, static_cast<int64_t>(alone.q.data.size() / 1000));
      EXPECT_EQ(shared[i].q.rows, ws[i]->rows);
      EXPECT_EQ(shared[i].groupScale.cols, G > 0 ? ws[i]->rows : 0);
      if (differ == 0) {
        EXPECT_EQ(shared[i].channelScale, alone.channelScale);
        EXPECT_EQ(shared[i].groupScale.data, alone.groupScale.data);
      }
    }
  }
  Matrix<float> bad = randomNormal(4, 128, 15);
  EXPECT_FALSE(gptqQuantizeShared({&p.w, &bad}, p.H, {})[0].error.empty());
}

TEST(Gptq, RejectsBadInput) {
  Matrix<float> w = randomNormal(4, 64, 9);
  EXPECT_NE(gptqQuantize(w, Matrix<double>(32, 32, 0.0), {}).error.find("K = 64"),
            std::string::npos);
  GptqOptions opt;
  opt.groupSize = 48;
  EXPECT_FALSE(gptqQuantize(w, Matrix<double>(64, 64, 0.0), opt).error.empty());
  w.at(1, 1) = NAN;
  EXPECT_NE(gptqQuantize(w, Matrix<double>(64, 64, 0.0), {}).error.find("NaN"),
            std::string::npos);
}

TEST(Gptq, MseClipSearchRunsInsideGptq) {
  Problem p = makeProblem(512, 256, 32, 11);
  GptqOptions a, b;
  a.groupSize = b.groupSize = 128;
  b.mseClip = true;
  GptqResult ra = gptqQuantize(p.w, p.H, a), rb = gptqQuantize(p.w, p.H, b);
  ASSERT_TRUE(rb.error.empty());
  // Clipping shrinks some group scales ...
  int64_t smaller = 0;
  for (size_t i = 0; i < ra.groupScale.data.size(); ++i)
    smaller += rb.groupScale.data[i] < ra.groupScale.data[i];
  EXPECT_GT(smaller, 0);
  // ... and the result still clearly beats RTN.
  double eb = outputError(p.x, p.w, dequantizeGptq(rb));
  double eR = outputError(p.x, p.w, dequantizeWeight(quantizeWeightRTN(p.w, 128)));
  EXPECT_LT(eb, 0.7 * eR);
}

} // namespace
