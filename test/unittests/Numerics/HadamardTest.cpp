//===- HadamardTest.cpp - Hadamard constructions and rotations -----------===//

#include "qqq/Numerics/Hadamard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace qqq::numerics;

namespace {

/// H H^T == n I in exact integer arithmetic.
void expectHadamard(int64_t n) {
  Matrix<int8_t> h = hadamardMatrix(n);
  ASSERT_EQ(h.rows, n);
  for (int8_t v : h.data)
    ASSERT_TRUE(v == 1 || v == -1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      int64_t s = 0;
      for (int64_t k = 0; k < n; ++k)
        s += h.at(i, k) * h.at(j, k);
      ASSERT_EQ(s, i == j ? n : 0) << "order " << n << " rows " << i << "," << j;
    }
}

TEST(Hadamard, EverySupportedOrderUpTo300IsHadamard) {
  int supported = 0;
  for (int64_t n = 1; n <= 300; ++n) {
    if (!isHadamardSizeSupported(n))
      continue;
    ++supported;
    expectHadamard(n);
  }
  EXPECT_GE(supported, 40);
  for (int64_t n : {12, 20, 28, 36, 40, 44, 52, 60, 100, 108, 148, 244})
    EXPECT_TRUE(isHadamardSizeSupported(n)) << n;
}

TEST(Hadamard, LargerOrdersAreHadamard) {
  for (int64_t n : {576, 1024})
    expectHadamard(n);
}

TEST(Hadamard, ModelHiddenSizes) {
  for (int64_t n : {576, 896, 1536, 2048, 3584, 4096, 5120, 8192, 11008,
                    13824, 14336, 18944})
    EXPECT_TRUE(isHadamardSizeSupported(n)) << n;
  // Not Hadamard orders at all, and orders needing a construction we do
  // not have: 92 (91, 45 are not prime powers), 172 = 4 * 43 (171, 85).
  for (int64_t n : {3, 6, 18, 0, -4, 92, 172})
    EXPECT_FALSE(hadamardUnsupportedReason(n).empty()) << n;
  RandomizedHadamard bad(172, 1);
  EXPECT_NE(bad.error().find("172"), std::string::npos);
}

TEST(Hadamard, NormalizedRotationIsOrthogonal) {
  for (int64_t n : {1, 2, 12, 20, 28, 36, 40, 52, 64, 96, 100, 108, 148, 160, 576}) {
    RandomizedHadamard r(n, 42 + n);
    ASSERT_TRUE(r.error().empty());
    Matrix<double> q = r.dense();
    double worst = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n; ++k)
          s += q.at(i, k) * q.at(j, k);
        worst = std::max(worst, std::fabs(s - (i == j ? 1.0 : 0.0)));
      }
    EXPECT_LT(worst, 1e-6) << n;
  }
}

TEST(Hadamard, FastApplicationEqualsDenseProduct) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> d;
  for (int64_t n : {1, 8, 12, 40, 56, 108, 148, 320, 576, 1024}) {
    RandomizedHadamard r(n, 7);
    ASSERT_TRUE(r.error().empty()) << n;
    Matrix<double> q = r.dense();
    std::vector<double> v(n), fast(n), fastT(n);
    for (double &x : v)
      x = d(rng);
    fast = v;
    r.applyRight(fast.data());
    fastT = v;
    r.applyRightTranspose(fastT.data());
    for (int64_t j = 0; j < n; ++j) {
      double s = 0, t = 0;
      for (int64_t i = 0; i < n; ++i) {
        s += v[i] * q.at(i, j); // v Q
        t += v[i] * q.at(j, i); // v Q^T
      }
      ASSERT_NEAR(fast[j], s, 1e-9) << n;
      ASSERT_NEAR(fastT[j], t, 1e-9) << n;
    }
  }
}

TEST(Hadamard, RotationPreservesProductsAtModelSizes) {
  // (x Q)(w Q)^T == x w^T, and Q^T undoes Q, at full model sizes.
  for (int64_t n : {4096, 5120, 11008, 14336}) {
    RandomizedHadamard r(n, 3);
    ASSERT_TRUE(r.error().empty());
    Matrix<float> x(2, n);
    std::mt19937_64 rng(n);
    std::normal_distribution<float> d;
    for (float &v : x.data)
      v = d(rng);
    Matrix<float> y = x;
    r.rotateRows(y);
    double dot = 0, dotRot = 0;
    for (int64_t k = 0; k < n; ++k) {
      dot += double(x.at(0, k)) * x.at(1, k);
      dotRot += double(y.at(0, k)) * y.at(1, k);
    }
    EXPECT_NEAR(dot, dotRot, 1e-3 * std::sqrt(double(n)));
    r.rotateRows(y, /*transpose=*/true);
    for (int64_t i = 0; i < 2 * n; ++i)
      ASSERT_NEAR(y.data[i], x.data[i], 1e-4);
  }
}

TEST(Hadamard, SignsDependOnTheSeedOnly) {
  RandomizedHadamard a(64, 9), b(64, 9), c(64, 10);
  EXPECT_EQ(a.signs(), b.signs());
  EXPECT_NE(a.signs(), c.signs());
}

} // namespace

namespace {

TEST(Hadamard, MatrixRotationEqualsRowByRow) {
  // rotateRows takes the sgemm path for m > 1; it must agree with the
  // float64 vector path.
  for (int64_t n : {40, 148, 576, 1024}) {
    RandomizedHadamard r(n, 11);
    Matrix<float> a(5, n);
    std::mt19937_64 rng(n);
    std::normal_distribution<float> d;
    for (float &v : a.data)
      v = d(rng);
    for (bool t : {false, true}) {
      Matrix<float> b = a;
      r.rotateRows(b, t);
      for (int64_t row = 0; row < 5; ++row) {
        std::vector<double> v(a.row(row), a.row(row) + n);
        if (t)
          r.applyRightTranspose(v.data());
        else
          r.applyRight(v.data());
        for (int64_t i = 0; i < n; ++i)
          ASSERT_NEAR(b.at(row, i), v[i], 1e-5) << n;
      }
    }
  }
}

} // namespace
