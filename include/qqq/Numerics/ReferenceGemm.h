//===- ReferenceGemm.h - CPU reference of the W4A8 GEMM ---------*- C++ -*-===//
//
// The exact arithmetic contract of the W4A8 linear, shared by the GPU
// kernels and the ONNX export (docs/numerics.md):
//
//   w[n,k]   = q[n,k]                                   (per channel)
//            = rne(q[n,k] * s_grp[k/G, n])  (f32 product; per group two-level)
//   acc[m,n] = sum_k x8[m,k] * w[n,k]                   (int32)
//   t        = s_tok[m] * s_ch[n]                       (f32)
//   y[m,n]   = f16(float(acc) * t [+ float(bias[n])])   (f32, no FMA, RNE)
//
// The reference reads the packed weight (any layout, through unpackWeights)
// so a layout is proven on CPU before a GPU runs it.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_REFERENCEGEMM_H
#define QQQ_NUMERICS_REFERENCEGEMM_H

#include "qqq/Numerics/Matrix.h"
#include "qqq/Numerics/Packing.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::numerics {

/// A packed W4A8 weight with its scales, as the kernels consume it.
struct PackedW4Weight {
  WeightLayout layout = WeightLayout::RowMajor;
  int64_t N = 0, K = 0;
  int64_t groupSize = 0;        // 0 = per channel
  std::vector<uint8_t> packed;  // N*K/2 bytes in `layout`
  std::vector<float> sCh;       // N
  Matrix<uint16_t> sGrpHalf;    // K/G x N f16 bits (per group only)
  std::vector<uint16_t> biasHalf; // N f16 bits, or empty (no bias)
};

/// The int8 weight (N x K) the kernel multiplies: q or rne(q * s_grp).
Matrix<int8_t> effectiveInt8Weight(const Matrix<int8_t> &q, int64_t groupSize,
                                   const Matrix<uint16_t> &sGrpHalf);

/// acc = x8 * w8^T in int32 (M x N).
Matrix<int32_t> int8GemmNT(const Matrix<int8_t> &x8, const Matrix<int8_t> &w8);

/// The epilogue of one output element, returning f16 bits.
uint16_t w4a8Epilogue(int32_t acc, float sTok, float sCh, const uint16_t *biasHalf);

/// y (M x N, f16 bits) = the W4A8 linear of x8 (M x K int8, per-token scales
/// sTok) with the packed weight. Returns an error string (empty on success).
std::string referenceW4A8Gemm(const Matrix<int8_t> &x8,
                              const std::vector<float> &sTok,
                              const PackedW4Weight &w, Matrix<uint16_t> &y);

/// Convenience for float inputs: quantizes x per token (Quantizers.h), then
/// referenceW4A8Gemm; y as f32 values of the f16 results.
std::string referenceW4A8Linear(const Matrix<float> &x, const PackedW4Weight &w,
                                Matrix<float> &y);

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_REFERENCEGEMM_H
