//===- Smoothing.cpp - Activation smoothing scales ------------------------===//

#include "qqq/Numerics/Smoothing.h"
#include "qqq/Numerics/Quantizers.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qqq::numerics {

ChannelRange channelRange(const Matrix<float> &x) {
  ChannelRange r;
  r.min.assign(static_cast<size_t>(x.cols), INFINITY);
  r.max.assign(static_cast<size_t>(x.cols), -INFINITY);
  updateChannelRange(r, x);
  return r;
}

void updateChannelRange(ChannelRange &range, const Matrix<float> &x) {
  if (range.min.size() != static_cast<size_t>(x.cols)) {
    range.min.assign(static_cast<size_t>(x.cols), INFINITY);
    range.max.assign(static_cast<size_t>(x.cols), -INFINITY);
  }
  for (int64_t m = 0; m < x.rows; ++m) {
    const float *r = x.row(m);
    for (int64_t k = 0; k < x.cols; ++k) {
      range.min[k] = std::min(range.min[k], r[k]);
      range.max[k] = std::max(range.max[k], r[k]);
    }
  }
}

std::vector<float> osPlusScales(const ChannelRange &range, float t) {
  std::vector<float> s(range.max.size(), 1.0f);
  if (!(t > 0.0f) || std::isinf(t))
    return s;
  for (size_t j = 0; j < s.size(); ++j) {
    float v = 1.0f;
    if (std::isfinite(range.max[j]))
      v = std::max(v, range.max[j] / t);
    if (std::isfinite(range.min[j]))
      v = std::max(v, range.min[j] / -t);
    s[j] = v;
  }
  return s;
}

std::vector<float> smoothQuantScales(const std::vector<float> &actAbsMax,
                                     const Matrix<float> &W, float alpha) {
  const int64_t K = W.cols;
  std::vector<float> wmax(static_cast<size_t>(K), 0.0f);
  for (int64_t n = 0; n < W.rows; ++n)
    for (int64_t k = 0; k < K; ++k)
      wmax[k] = std::max(wmax[k], std::fabs(W.at(n, k)));
  std::vector<float> s(static_cast<size_t>(K), 1.0f);
  for (int64_t k = 0; k < K && k < static_cast<int64_t>(actAbsMax.size()); ++k) {
    if (!(actAbsMax[k] > 0.0f) || !(wmax[k] > 0.0f))
      continue;
    double v = std::pow(static_cast<double>(actAbsMax[k]), alpha) /
               std::pow(static_cast<double>(wmax[k]), 1.0 - alpha);
    if (std::isfinite(v) && v > 0.0)
      s[k] = static_cast<float>(v);
  }
  return s;
}

void divideColumns(Matrix<float> &x, const std::vector<float> &s) {
  for (int64_t m = 0; m < x.rows; ++m) {
    float *r = x.row(m);
    for (int64_t k = 0; k < x.cols; ++k)
      r[k] /= s[k];
  }
}

void multiplyColumns(Matrix<float> &w, const std::vector<float> &s) {
  for (int64_t n = 0; n < w.rows; ++n) {
    float *r = w.row(n);
    for (int64_t k = 0; k < w.cols; ++k)
      r[k] *= s[k];
  }
}

namespace {

/// y = a * b^T (a: M x K, b: N x K) through sgemm.
Matrix<float> matmulNT(const Matrix<float> &a, const Matrix<float> &b) {
  Matrix<float> y(a.rows, b.rows, 0.0f);
  if (a.rows == 0 || b.rows == 0 || a.cols == 0)
    return y;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(a.rows),
              static_cast<int>(b.rows), static_cast<int>(a.cols), 1.0f,
              a.data.data(), static_cast<int>(a.cols), b.data.data(),
              static_cast<int>(b.cols), 0.0f, y.data.data(),
              static_cast<int>(b.rows));
  return y;
}

double errorAgainst(const std::vector<Matrix<float>> &refs,
                    const Matrix<float> &x,
                    const std::vector<const Matrix<float> *> &weights,
                    const std::vector<float> &scales, int64_t groupSize) {
  Matrix<float> xq = x;
  divideColumns(xq, scales);
  fakeQuantizeActPerToken(xq);
  double err = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    Matrix<float> w = *weights[i];
    multiplyColumns(w, scales);
    Matrix<float> wq = dequantizeWeight(quantizeWeightRTN(w, groupSize));
    Matrix<float> y = matmulNT(xq, wq);
    for (size_t j = 0; j < y.data.size(); ++j) {
      double d = static_cast<double>(refs[i].data[j]) - y.data[j];
      err += d * d;
    }
  }
  return std::sqrt(err);
}

} // namespace

namespace {
/// Empty when x, the weights, the scales and the group size fit together.
std::string checkSmoothingInputs(const Matrix<float> &x,
                                 const std::vector<const Matrix<float> *> &weights,
                                 int64_t groupSize) {
  for (size_t i = 0; i < weights.size(); ++i)
    if (!weights[i] || weights[i]->cols != x.cols)
      return "weight " + std::to_string(i) + " does not have K = " +
             std::to_string(x.cols) + " columns";
  return checkGroupSize(groupSize, x.cols);
}
} // namespace

double smoothedQuantError(const Matrix<float> &x,
                          const std::vector<const Matrix<float> *> &weights,
                          const std::vector<float> &scales, int64_t groupSize) {
  if (!checkSmoothingInputs(x, weights, groupSize).empty() ||
      static_cast<int64_t>(scales.size()) != x.cols)
    return std::numeric_limits<double>::quiet_NaN();
  std::vector<Matrix<float>> refs;
  for (const Matrix<float> *w : weights)
    refs.push_back(matmulNT(x, *w));
  return errorAgainst(refs, x, weights, scales, groupSize);
}

SmoothSearchResult searchOsPlusThreshold(
    const Matrix<float> &x, const std::vector<const Matrix<float> *> &weights,
    const SmoothSearchOptions &options) {
  SmoothSearchResult res;
  const int64_t K = x.cols;
  res.scales.assign(static_cast<size_t>(K), 1.0f);
  res.invalidInput = checkSmoothingInputs(x, weights, options.groupSize);
  if (!res.invalidInput.empty() || x.rows == 0 || K == 0 || weights.empty())
    return res;
  std::vector<Matrix<float>> refs;
  for (const Matrix<float> *w : weights)
    refs.push_back(matmulNT(x, *w));

  ChannelRange range = channelRange(x);
  std::vector<float> absRange(static_cast<size_t>(K));
  for (int64_t j = 0; j < K; ++j)
    absRange[j] = std::max(std::fabs(range.max[j]), std::fabs(range.min[j]));
  std::vector<float> sorted = absRange;
  std::sort(sorted.begin(), sorted.end());
  const float rmax = sorted.back();
  const float rmed = sorted[sorted.size() / 2];

  res.errorNoSmoothing = errorAgainst(refs, x, weights, res.scales, options.groupSize);
  res.error = res.errorNoSmoothing;
  if (!(rmax > 0.0f) || !(rmed > 0.0f) || rmed >= rmax)
    return res;
  // Thresholds on a geometric grid from the largest channel range down to
  // the median one (smoothing below it only inflates the weights); ties keep
  // the larger t (less smoothing).
  const int64_t grid = std::max<int64_t>(1, options.gridPoints);
  for (int64_t i = 1; i <= grid; ++i) {
    float t = static_cast<float>(
        rmax * std::pow(static_cast<double>(rmed) / rmax,
                        static_cast<double>(i) / grid));
    std::vector<float> s = osPlusScales(range, t);
    double e = errorAgainst(refs, x, weights, s, options.groupSize);
    if (e < res.error) {
      res.error = e;
      res.threshold = t;
      res.scales = std::move(s);
    }
  }
  return res;
}

} // namespace qqq::numerics
