//===- Quantizers.cpp - int8 activation / int4 weight quantizers ----------===//
//
// Formulas: see include/qqq/Numerics/Quantizers.h and docs/numerics.md.
//
//===----------------------------------------------------------------------===//

#include "qqq/Numerics/Quantizers.h"
#include "qqq/Numerics/Half.h"

#include <algorithm>
#include <cmath>

namespace qqq::numerics {

//===-- Activations ------------------------------------------------------===//

float quantizeActRow(const float *x, int64_t n, int8_t *q) {
  float amax = 0.0f;
  for (int64_t k = 0; k < n; ++k)
    amax = std::max(amax, std::fabs(x[k]));
  float s = amax / 127.0f;
  for (int64_t k = 0; k < n; ++k) {
    if (amax == 0.0f) {
      q[k] = 0;
      continue;
    }
    float v = std::nearbyint(x[k] / s);
    q[k] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
  }
  return s;
}

void quantizeActPerToken(const Matrix<float> &x, Matrix<int8_t> &q,
                         std::vector<float> &scales) {
  q = Matrix<int8_t>(x.rows, x.cols);
  scales.assign(static_cast<size_t>(x.rows), 0.0f);
  for (int64_t m = 0; m < x.rows; ++m)
    scales[m] = quantizeActRow(x.row(m), x.cols, q.row(m));
}

void fakeQuantizeActPerToken(Matrix<float> &x) {
  std::vector<int8_t> q(static_cast<size_t>(x.cols));
  for (int64_t m = 0; m < x.rows; ++m) {
    float s = quantizeActRow(x.row(m), x.cols, q.data());
    float *r = x.row(m);
    for (int64_t k = 0; k < x.cols; ++k)
      r[k] = static_cast<float>(q[k]) * s;
  }
}

//===-- Weights ----------------------------------------------------------===//

Int4Range int4Range(int64_t groupSize) {
  return groupSize > 0 ? Int4Range{-8, 7} : Int4Range{-7, 7};
}

float int4ScaleFromMax(float amax, int64_t groupSize) {
  if (!(amax > 0.0f))
    return 1.0f;
  return groupSize > 0 ? (2.0f * amax) / 15.0f : amax / 7.0f;
}

int quantizeInt4Value(float w, float s, Int4Range r) {
  float v = std::nearbyint(w / s);
  return static_cast<int>(std::clamp(v, static_cast<float>(r.qmin),
                                     static_cast<float>(r.qmax)));
}

float findInt4Scale(const float *w, int64_t n, int64_t groupSize,
                    bool mseClip) {
  float amax = 0.0f;
  for (int64_t k = 0; k < n; ++k)
    amax = std::max(amax, std::fabs(w[k]));
  float best = int4ScaleFromMax(amax, groupSize);
  if (!mseClip || !(amax > 0.0f))
    return best;
  Int4Range r = int4Range(groupSize);
  double bestErr = INFINITY;
  // GPTQ's grid: p = 1 - i/100 for i < 80, error sum |q(x) - x|^2.4; the
  // first (largest) p wins ties.
  for (int i = 0; i < 80; ++i) {
    float p = static_cast<float>(1.0 - i / 100.0);
    float s = int4ScaleFromMax(p * amax, groupSize);
    double err = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      float d = static_cast<float>(quantizeInt4Value(w[k], s, r)) * s - w[k];
      double a = std::fabs(static_cast<double>(d));
      // |d|^2.4 = d^2 * |d|^0.4; skip pow for exact hits.
      if (a != 0.0)
        err += a * a * std::pow(a, 0.4);
    }
    if (err < bestErr) {
      bestErr = err;
      best = s;
    }
  }
  return best;
}

std::string checkGroupSize(int64_t groupSize, int64_t K) {
  if (groupSize < 0)
    return "group size " + std::to_string(groupSize) + " is negative";
  if (groupSize == 0)
    return "";
  if (groupSize % 16 != 0)
    return "group size " + std::to_string(groupSize) +
           " is not a multiple of 16";
  if (K % groupSize != 0)
    return "group size " + std::to_string(groupSize) +
           " does not divide K = " + std::to_string(K);
  return "";
}

Int4Weight quantizeWeightRTN(const Matrix<float> &w, int64_t groupSize,
                             bool mseClip) {
  Int4Weight out;
  out.groupSize = groupSize;
  out.error = checkGroupSize(groupSize, w.cols);
  if (!out.error.empty())
    return out;
  const int64_t N = w.rows, K = w.cols;
  Int4Range r = int4Range(groupSize);
  out.q = Matrix<int8_t>(N, K);
  if (groupSize == 0) {
    out.channelScale.resize(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      float s = findInt4Scale(w.row(n), K, 0, mseClip);
      out.channelScale[n] = s;
      for (int64_t k = 0; k < K; ++k)
        out.q.at(n, k) = static_cast<int8_t>(quantizeInt4Value(w.at(n, k), s, r));
    }
    return out;
  }
  const int64_t numGroups = K / groupSize;
  out.groupScale = Matrix<float>(numGroups, N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < numGroups; ++g) {
      const float *src = w.row(n) + g * groupSize;
      float s = findInt4Scale(src, groupSize, groupSize, mseClip);
      out.groupScale.at(g, n) = s;
      for (int64_t k = 0; k < groupSize; ++k)
        out.q.at(n, g * groupSize + k) =
            static_cast<int8_t>(quantizeInt4Value(src[k], s, r));
    }
  out.channelScale = computeTwoLevelScales(out.q, out.groupScale, groupSize).sCh;
  return out;
}

Matrix<float> dequantizeWeight(const Int4Weight &w) {
  Matrix<float> out(w.q.rows, w.q.cols);
  for (int64_t n = 0; n < w.q.rows; ++n)
    for (int64_t k = 0; k < w.q.cols; ++k) {
      float s = w.groupSize > 0 ? w.groupScale.at(k / w.groupSize, n)
                                : w.channelScale[n];
      out.at(n, k) = static_cast<float>(w.q.at(n, k)) * s;
    }
  return out;
}

int8_t twoLevelInt8(int q, uint16_t sGrpHalf) {
  float v = std::nearbyint(static_cast<float>(q) * halfBitsToFloat(sGrpHalf));
  return static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
}

TwoLevelScales computeTwoLevelScales(const Matrix<int8_t> &q,
                                     const Matrix<float> &groupScale,
                                     int64_t groupSize) {
  TwoLevelScales out;
  const int64_t N = q.rows, K = q.cols;
  if (groupSize <= 0 || K % groupSize != 0)
    return out;
  const int64_t numGroups = K / groupSize;
  out.sCh.assign(static_cast<size_t>(N), 1.0f);
  out.sGrpHalf = Matrix<uint16_t>(numGroups, N, 0);
  for (int64_t n = 0; n < N; ++n) {
    // max_k |What[n,k]| with What = q * s_g (f32 products, as dequantized).
    float amax = 0.0f;
    for (int64_t k = 0; k < K; ++k)
      amax = std::max(amax, std::fabs(static_cast<float>(q.at(n, k)) *
                                      groupScale.at(k / groupSize, n)));
    if (!(amax > 0.0f))
      continue; // all-zero row: s_ch = 1, s_grp = 0, w8 = 0
    float sCh = amax / 127.0f;
    out.sCh[n] = sCh;
    for (int64_t g = 0; g < numGroups; ++g) {
      int qAbsMax = 0;
      for (int64_t k = g * groupSize; k < (g + 1) * groupSize; ++k)
        qAbsMax = std::max(qAbsMax, std::abs(static_cast<int>(q.at(n, k))));
      if (qAbsMax == 0)
        continue; // empty group: s_grp = 0
      uint16_t h = floatToHalfBits(groupScale.at(g, n) / sCh);
      // The f32 division and the f16 rounding may push qAbsMax*s_grp a hair
      // past 127.5; step down one f16 ulp at a time (positive finite halves
      // are ordered like their bit patterns) until |rne(q*s_grp)| <= 127
      // for every q of the group.
      while ((h & 0x7FFFu) != 0 &&
             std::nearbyint(static_cast<float>(qAbsMax) * halfBitsToFloat(h)) > 127.0f)
        --h;
      out.sGrpHalf.at(g, n) = h;
    }
  }
  return out;
}

Matrix<float> dequantizeTwoLevel(const Matrix<int8_t> &q,
                                 const TwoLevelScales &scales,
                                 int64_t groupSize) {
  Matrix<float> out(q.rows, q.cols);
  for (int64_t n = 0; n < q.rows; ++n)
    for (int64_t k = 0; k < q.cols; ++k)
      out.at(n, k) = static_cast<float>(twoLevelInt8(
                         q.at(n, k), scales.sGrpHalf.at(k / groupSize, n))) *
                     scales.sCh[n];
  return out;
}

} // namespace qqq::numerics
