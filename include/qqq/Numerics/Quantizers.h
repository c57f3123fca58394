//===- Quantizers.h - int8 activation / int4 weight quantizers --*- C++ -*-===//
//
// The exact quantization formulas of the W4A8 scheme (docs/numerics.md):
//
// Activations, per token (row), symmetric int8:
//   amax = max_k |x[k]|                       (f32)
//   s    = amax / 127.0f                      (f32 division)
//   q[k] = amax == 0 ? 0 : clamp(nearbyint(x[k] / s), -127, 127)
//                                              (f32 division, ties to even)
// Weights, symmetric int4, N x K (row n = output channel):
//   per-channel:  s[n] = max_k |W[n,k]| / 7,  q = clamp(rne(w / s), -7, 7)
//   per-group G:  s[g,n] = 2 * max_{k in g} |W[n,k]| / 15,
//                 q = clamp(rne(w / s), -8, 7)     (GPTQ's sym 4-bit, maxq=15)
//   A zero range gives s = 1 (q = 0 everywhere), as GPTQ does.
//   Divisions are f32; rne = round half to even (std::nearbyint).
// MSE clip search: candidate ranges amax * (1 - i/100), i = 0..79; the
//   candidate with the smallest sum |q(x)*s - x|^2.4 wins (first on ties).
// Two-level per-group scales (keeps the GEMM in int8):
//   s_ch[n]    = max_k |What[n,k]| / 127, What[n,k] = q[n,k] * s_g[k/G,n]
//   s_grp[g,n] = f16(s_g[g,n] / s_ch[n]), then lowered by f16 ulps until
//                |rne(q * s_grp)| <= 127 for every q of the group (f32
//                product); a group of zeros gets s_grp = 0, a row of zeros
//                s_ch = 1.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_QUANTIZERS_H
#define QQQ_NUMERICS_QUANTIZERS_H

#include "qqq/Numerics/Matrix.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::numerics {

//===-- Activations ------------------------------------------------------===//

/// Per-token int8 quantization of one row of `n` values; returns the scale.
float quantizeActRow(const float *x, int64_t n, int8_t *q);

/// Per-token int8 quantization of an M x K matrix: q (M x K), scales (M).
void quantizeActPerToken(const Matrix<float> &x, Matrix<int8_t> &q,
                         std::vector<float> &scales);

/// Quantize then dequantize in place, per token (fake quantization).
void fakeQuantizeActPerToken(Matrix<float> &x);

//===-- Weights ----------------------------------------------------------===//

/// Integer range of a 4-bit weight scheme.
struct Int4Range {
  int qmin, qmax;
};
/// Per-channel: [-7, 7]; per-group (groupSize > 0): [-8, 7].
Int4Range int4Range(int64_t groupSize);

/// The scale for a range maximum `amax` (the max |w| of a row or group row):
/// amax/7 per channel, 2*amax/15 per group. Zero amax gives 1.
float int4ScaleFromMax(float amax, int64_t groupSize);

/// q = clamp(rne(w / s), qmin, qmax), f32 division.
int quantizeInt4Value(float w, float s, Int4Range r);

/// Finds the scale of `n` weights by plain max (RTN) or by the MSE clip
/// search (shrink grid 1 - i/100, i < 80, error sum |q*s - x|^2.4).
float findInt4Scale(const float *w, int64_t n, int64_t groupSize,
                    bool mseClip);

/// Result of quantizing an N x K weight to int4.
struct Int4Weight {
  int64_t groupSize = 0;           // 0 = per channel
  Matrix<int8_t> q;                // N x K, values in the scheme's range
  std::vector<float> channelScale; // per channel: s[n]; per group: s_ch[n]
  Matrix<float> groupScale;        // per group: K/G x N, f32 s_g (pre two-level)
  std::string error;               // non-empty: invalid input, nothing computed
};

/// Round-to-nearest quantization (optionally with the MSE clip search) of an
/// N x K weight. groupSize 0 = per channel; otherwise G divides K and is a
/// multiple of 16. For per-group, channelScale is filled with the two-level
/// s_ch (see computeTwoLevelScales). A bad group size sets `error` (the
/// library is built without exceptions, like LLVM).
Int4Weight quantizeWeightRTN(const Matrix<float> &w, int64_t groupSize,
                             bool mseClip = false);

/// Dequantized weight: q * s (per channel) or q * s_g (per group, f32 s_g).
Matrix<float> dequantizeWeight(const Int4Weight &w);

/// Two-level scales of a per-group weight: sCh (N) and the f16 bits of
/// sGrp (K/G x N), with |rne(q * sGrp)| <= 127 guaranteed for the q given.
struct TwoLevelScales {
  std::vector<float> sCh;     // N
  Matrix<uint16_t> sGrpHalf;  // K/G x N, IEEE half bits
};
TwoLevelScales computeTwoLevelScales(const Matrix<int8_t> &q,
                                     const Matrix<float> &groupScale,
                                     int64_t groupSize);

/// The int8 weight the kernel forms in registers: rne(q * s_grp) as an f32
/// product (s_grp is the f16 value widened to f32).
int8_t twoLevelInt8(int q, uint16_t sGrpHalf);

/// Dequantized weight as the kernel sees it per group: rne(q*s_grp) * s_ch.
Matrix<float> dequantizeTwoLevel(const Matrix<int8_t> &q,
                                 const TwoLevelScales &scales,
                                 int64_t groupSize);

/// Validates a group size against K: 0, or a divisor of K that is a multiple
/// of 16. Returns an empty string when valid, otherwise the reason.
std::string checkGroupSize(int64_t groupSize, int64_t K);

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_QUANTIZERS_H
