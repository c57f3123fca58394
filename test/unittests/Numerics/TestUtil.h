//===- TestUtil.h - Random data for the numerics tests ----------*- C++ -*-===//
#ifndef QQQ_TEST_NUMERICS_TESTUTIL_H
#define QQQ_TEST_NUMERICS_TESTUTIL_H

#include "qqq/Numerics/Matrix.h"

#include <cmath>
#include <random>

namespace qqq::numerics::test {

inline Matrix<float> randomNormal(int64_t r, int64_t c, uint64_t seed,
                                  float sigma = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  Matrix<float> m(r, c);
  for (float &v : m.data)
    v = d(rng);
  return m;
}

/// Calibration-like activations: low-rank structure plus noise, with a few
/// outlier channels scaled up (the LLM activation pattern GPTQ and smoothing
/// are designed for).
inline Matrix<float> correlatedActivations(int64_t rows, int64_t K, int64_t rank,
                                           uint64_t seed, float outlier = 20.0f,
                                           int64_t numOutliers = 4) {
  Matrix<float> z = randomNormal(rows, rank, seed);
  Matrix<float> a = randomNormal(rank, K, seed + 1);
  Matrix<float> noise = randomNormal(rows, K, seed + 2, 0.1f);
  Matrix<float> x(rows, K);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t k = 0; k < K; ++k) {
      double s = 0;
      for (int64_t r = 0; r < rank; ++r)
        s += z.at(m, r) * a.at(r, k);
      x.at(m, k) = static_cast<float>(s / std::sqrt(double(rank))) + noise.at(m, k);
    }
  for (int64_t o = 0; o < numOutliers; ++o) {
    int64_t k = (o * 7919 + 13) % K;
    for (int64_t m = 0; m < rows; ++m)
      x.at(m, k) *= outlier;
  }
  return x;
}

/// ||X A^T - X B^T||_F in float64.
inline double outputError(const Matrix<float> &x, const Matrix<float> &a,
                          const Matrix<float> &b) {
  double err = 0;
  for (int64_t m = 0; m < x.rows; ++m)
    for (int64_t n = 0; n < a.rows; ++n) {
      double s = 0;
      for (int64_t k = 0; k < x.cols; ++k)
        s += double(x.at(m, k)) * (double(a.at(n, k)) - double(b.at(n, k)));
      err += s * s;
    }
  return std::sqrt(err);
}

} // namespace qqq::numerics::test

#endif
