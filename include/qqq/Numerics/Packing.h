//===- Packing.h - int4 weight layouts --------------------------*- C++ -*-===//
//
// Packing of N x K int4 weights (values in [-8, 7]) into N*K/2 bytes.
//
// row_major (#qqq.layout<row_major>): row n occupies bytes [n*K/2, (n+1)*K/2);
// byte j of the row holds k = 2j in its low nibble and k = 2j+1 in its high
// nibble, both two's complement. K must be even.
//
// The GPU layouts (sm90_interleaved, sm80_interleaved) are pure permutations
// of the same nibbles defined by the kernel engineers in
// include/qqq/Numerics/KernelLayouts.h, which must declare
//   std::string packKernelLayout(WeightLayout layout, const Matrix<int8_t> &q,
//                                std::vector<uint8_t> &packed);
//   std::string unpackKernelLayout(WeightLayout layout,
//                                  const std::vector<uint8_t> &packed,
//                                  int64_t N, int64_t K, Matrix<int8_t> &q);
// (empty string = success). packWeights/unpackWeights dispatch to them when
// that header exists; otherwise those layouts report "not available".
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_PACKING_H
#define QQQ_NUMERICS_PACKING_H

#include "qqq/Numerics/Matrix.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::numerics {

/// Mirrors QQQ_WeightLayout in QQQAttrs.td (same names and values).
enum class WeightLayout : uint32_t {
  RowMajor = 0,
  Sm90Interleaved = 1,
  Sm80Interleaved = 2,
};
const char *weightLayoutName(WeightLayout layout);

/// row_major packing of q (N x K) into N*K/2 bytes. Returns an error string
/// (empty on success): K odd or a value outside [-8, 7].
std::string packRowMajor(const Matrix<int8_t> &q, std::vector<uint8_t> &packed);
/// Exact inverse of packRowMajor.
std::string unpackRowMajor(const std::vector<uint8_t> &packed, int64_t N,
                           int64_t K, Matrix<int8_t> &q);

/// Any layout (dispatches to the kernel layouts when available).
std::string packWeights(WeightLayout layout, const Matrix<int8_t> &q,
                        std::vector<uint8_t> &packed);
std::string unpackWeights(WeightLayout layout,
                          const std::vector<uint8_t> &packed, int64_t N,
                          int64_t K, Matrix<int8_t> &q);

/// Nibble helpers (two's complement int4).
inline uint8_t packNibbles(int lo, int hi) {
  return static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
}
inline int lowNibble(uint8_t b) { return static_cast<int>(static_cast<int8_t>(b << 4) >> 4); }
inline int highNibble(uint8_t b) { return static_cast<int>(static_cast<int8_t>(b) >> 4); }

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_PACKING_H
