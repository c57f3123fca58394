//===- Smoothing.h - Activation smoothing scales ----------------*- C++ -*-===//
//
// Per-input-channel scales s (K) with X' = X / s and W' = W * s (columns), so
// X' W'^T = X W^T exactly in real arithmetic.
//   OS+ :        s_j = max(1, max_j / t, min_j / (-t)),  max_j/min_j the
//                channel's max/min over calibration rows, t > 0 a threshold
//                (t = inf gives s = 1, no smoothing).
//   SmoothQuant: s_j = max|X_j|^alpha / max|W_j|^(1-alpha) (1 when either
//                max is 0).
// The OS+ threshold is searched on calibration rows, minimising
// ||X W^T - Q_a(X/s) Q_w(W*s)^T||_F with Q_a = per-token int8 and
// Q_w = int4 RTN (per channel or per group), both fake-quantized.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_SMOOTHING_H
#define QQQ_NUMERICS_SMOOTHING_H

#include "qqq/Numerics/Matrix.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace qqq::numerics {

/// Per-channel min and max of calibration rows (x is n x K).
struct ChannelRange {
  std::vector<float> min, max; // K each
};
ChannelRange channelRange(const Matrix<float> &x);
/// Merges another batch into a running range.
void updateChannelRange(ChannelRange &range, const Matrix<float> &x);

/// OS+ scales for threshold t (t = +inf gives all ones).
std::vector<float> osPlusScales(const ChannelRange &range, float t);

/// SmoothQuant scales: actAbsMax (K), weight column abs max over W (N x K).
std::vector<float> smoothQuantScales(const std::vector<float> &actAbsMax,
                                     const Matrix<float> &W, float alpha);

/// Options of the OS+ threshold search.
struct SmoothSearchOptions {
  int64_t groupSize = 0; // weight quantizer of the error model
  int64_t gridPoints = 20; // candidate thresholds (plus t = inf)
};

struct SmoothSearchResult {
  float threshold = std::numeric_limits<float>::infinity();
  std::vector<float> scales; // K
  double error = 0;          // ||X W^T - Q(X/s) Q(W s)^T||_F at threshold
  double errorNoSmoothing = 0; // the same at t = inf
  std::string invalidInput;    // non-empty: why the input is invalid (nothing searched)
};

/// Searches t over a grid between the channels' max |range| and a small
/// fraction of it (quantiles of the per-channel ranges), always including
/// t = inf; returns the best. Several weights sharing the activation (q/k/v)
/// are passed together: the error is summed over them. Ties keep the larger t.
SmoothSearchResult searchOsPlusThreshold(const Matrix<float> &x,
                                         const std::vector<const Matrix<float> *> &weights,
                                         const SmoothSearchOptions &options);

/// Quantized-layer output error for given scales (the search's objective):
/// ||X W^T - Q_a(X/s) Q_w(W*s)^T||_F summed in float64 over the weights.
/// NaN when the shapes or the group size are invalid.
double smoothedQuantError(const Matrix<float> &x,
                          const std::vector<const Matrix<float> *> &weights,
                          const std::vector<float> &scales, int64_t groupSize);

/// Folding helpers: X / s (columns) and W * s (columns), in place.
void divideColumns(Matrix<float> &x, const std::vector<float> &s);
void multiplyColumns(Matrix<float> &w, const std::vector<float> &s);

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_SMOOTHING_H
