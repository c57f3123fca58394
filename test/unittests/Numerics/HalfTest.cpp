//===- HalfTest.cpp - f16 conversions against the compiler's _Float16 ----===//

#include "qqq/Numerics/Half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace qqq::numerics;

namespace {

uint16_t compilerHalfBits(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}

TEST(Half, EveryHalfRoundTrips) {
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    uint16_t h = static_cast<uint16_t>(b);
    float f = halfBitsToFloat(h);
    _Float16 ref;
    std::memcpy(&ref, &h, 2);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(ref)));
      continue;
    }
    ASSERT_EQ(f, static_cast<float>(ref)) << "bits " << b;
    ASSERT_EQ(floatToHalfBits(f), h) << "bits " << b;
  }
}

TEST(Half, RoundsToNearestEvenLikeTheCompiler) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f))
      continue;
    ASSERT_EQ(floatToHalfBits(f), compilerHalfBits(f)) << "float bits " << bits;
  }
  // Ties, overflow boundary and subnormals.
  for (float f : {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 65519.0f,
                  65520.0f, 1e-8f, 2.98023224e-8f, 5.96046448e-8f, -0.0f,
                  6.1035156e-5f, 3.0517578e-5f})
    EXPECT_EQ(floatToHalfBits(f), compilerHalfBits(f)) << f;
}

} // namespace
