//===- ReferenceGemm.cpp - CPU reference of the W4A8 GEMM -----------------===//
//
// Built with -ffp-contract=off: the epilogue's two f32 roundings (acc * t,
// then + bias) must not fuse into one FMA.
//
//===----------------------------------------------------------------------===//

#include "qqq/Numerics/ReferenceGemm.h"
#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Quantizers.h"

namespace qqq::numerics {

Matrix<int8_t> effectiveInt8Weight(const Matrix<int8_t> &q, int64_t groupSize,
                                   const Matrix<uint16_t> &sGrpHalf) {
  if (groupSize <= 0)
    return q;
  Matrix<int8_t> w(q.rows, q.cols);
  for (int64_t n = 0; n < q.rows; ++n)
    for (int64_t k = 0; k < q.cols; ++k)
      w.at(n, k) = twoLevelInt8(q.at(n, k), sGrpHalf.at(k / groupSize, n));
  return w;
}

Matrix<int32_t> int8GemmNT(const Matrix<int8_t> &x8, const Matrix<int8_t> &w8) {
  Matrix<int32_t> acc(x8.rows, w8.rows, 0);
  for (int64_t m = 0; m < x8.rows; ++m) {
    const int8_t *x = x8.row(m);
    for (int64_t n = 0; n < w8.rows; ++n) {
      const int8_t *w = w8.row(n);
      int32_t s = 0;
      for (int64_t k = 0; k < x8.cols; ++k)
        s += static_cast<int32_t>(x[k]) * static_cast<int32_t>(w[k]);
      acc.at(m, n) = s;
    }
  }
  return acc;
}

uint16_t w4a8Epilogue(int32_t acc, float sTok, float sCh,
                      const uint16_t *biasHalf) {
  float t = sTok * sCh;
  float y = static_cast<float>(acc) * t;
  if (biasHalf)
    y = y + halfBitsToFloat(*biasHalf);
  return floatToHalfBits(y);
}

std::string referenceW4A8Gemm(const Matrix<int8_t> &x8,
                              const std::vector<float> &sTok,
                              const PackedW4Weight &w, Matrix<uint16_t> &y) {
  if (x8.cols != w.K)
    return "activation has K = " + std::to_string(x8.cols) +
           " but the weight has K = " + std::to_string(w.K);
  if (static_cast<int64_t>(sTok.size()) != x8.rows)
    return "expected one token scale per row";
  if (static_cast<int64_t>(w.sCh.size()) != w.N)
    return "expected N channel scales";
  if (!w.biasHalf.empty() && static_cast<int64_t>(w.biasHalf.size()) != w.N)
    return "bias must have N entries";
  std::string err = checkGroupSize(w.groupSize, w.K);
  if (!err.empty())
    return err;
  if (w.groupSize > 0 &&
      (w.sGrpHalf.rows != w.K / w.groupSize || w.sGrpHalf.cols != w.N))
    return "group scales must be K/G x N";
  Matrix<int8_t> q;
  err = unpackWeights(w.layout, w.packed, w.N, w.K, q);
  if (!err.empty())
    return err;
  Matrix<int32_t> acc = int8GemmNT(x8, effectiveInt8Weight(q, w.groupSize, w.sGrpHalf));
  y = Matrix<uint16_t>(x8.rows, w.N);
  for (int64_t m = 0; m < x8.rows; ++m)
    for (int64_t n = 0; n < w.N; ++n)
      y.at(m, n) = w4a8Epilogue(acc.at(m, n), sTok[m], w.sCh[n],
                                w.biasHalf.empty() ? nullptr : &w.biasHalf[n]);
  return "";
}

std::string referenceW4A8Linear(const Matrix<float> &x, const PackedW4Weight &w,
                                Matrix<float> &y) {
  Matrix<int8_t> x8;
  std::vector<float> sTok;
  quantizeActPerToken(x, x8, sTok);
  Matrix<uint16_t> yh;
  std::string err = referenceW4A8Gemm(x8, sTok, w, yh);
  if (!err.empty())
    return err;
  y = Matrix<float>(yh.rows, yh.cols);
  for (size_t i = 0; i < yh.data.size(); ++i)
    y.data[i] = halfBitsToFloat(yh.data[i]);
  return "";
}

} // namespace qqq::numerics
