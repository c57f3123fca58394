//===- Half.h - IEEE binary16 conversions -----------------------*- C++ -*-===//
//
// Bit-exact float <-> half conversions shared by every component that must
// agree with the GPU kernels and the ONNX export (round to nearest even,
// subnormals and infinities handled, NaN kept quiet).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_HALF_H
#define QQQ_NUMERICS_HALF_H

#include <cstdint>

namespace qqq::numerics {

/// float -> IEEE half bits, round to nearest, ties to even. Overflow gives
/// +-inf, NaN gives a quiet NaN.
uint16_t floatToHalfBits(float f);
/// IEEE half bits -> float (exact).
float halfBitsToFloat(uint16_t h);
/// f -> nearest half -> float: the value an f16 store keeps.
inline float roundToHalf(float f) { return halfBitsToFloat(floatToHalfBits(f)); }

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_HALF_H
