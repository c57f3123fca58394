//===- Packing.cpp - int4 weight layouts ----------------------------------===//

#include "qqq/Numerics/Packing.h"

// Set by lib/Numerics/CMakeLists.txt when KernelLayouts.cpp is built.
#ifdef QQQ_HAVE_KERNEL_LAYOUTS
#include "qqq/Numerics/KernelLayouts.h"
#endif

namespace qqq::numerics {

const char *weightLayoutName(WeightLayout layout) {
  switch (layout) {
  case WeightLayout::RowMajor:
    return "row_major";
  case WeightLayout::Sm90Interleaved:
    return "sm90_interleaved";
  case WeightLayout::Sm80Interleaved:
    return "sm80_interleaved";
  }
  return "unknown";
}

std::string packRowMajor(const Matrix<int8_t> &q, std::vector<uint8_t> &packed) {
  const int64_t N = q.rows, K = q.cols;
  if (K % 2 != 0)
    return "row_major packing needs an even K, got K = " + std::to_string(K);
  packed.assign(static_cast<size_t>(N * K / 2), 0);
  for (int64_t n = 0; n < N; ++n) {
    const int8_t *r = q.row(n);
    for (int64_t j = 0; j < K / 2; ++j) {
      int lo = r[2 * j], hi = r[2 * j + 1];
      if (lo < -8 || lo > 7 || hi < -8 || hi > 7)
        return "int4 value out of [-8, 7] at row " + std::to_string(n) +
               ", column " + std::to_string(lo < -8 || lo > 7 ? 2 * j : 2 * j + 1);
      packed[static_cast<size_t>(n * (K / 2) + j)] = packNibbles(lo, hi);
    }
  }
  return "";
}

std::string unpackRowMajor(const std::vector<uint8_t> &packed, int64_t N,
                           int64_t K, Matrix<int8_t> &q) {
  if (N < 0 || K < 0 || K % 2 != 0)
    return "row_major unpacking needs N >= 0 and an even K >= 0, got N = " +
           std::to_string(N) + ", K = " + std::to_string(K);
  if (static_cast<int64_t>(packed.size()) != N * K / 2)
    return "packed weight has " + std::to_string(packed.size()) +
           " bytes, expected N*K/2 = " + std::to_string(N * K / 2);
  q = Matrix<int8_t>(N, K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < K / 2; ++j) {
      uint8_t b = packed[static_cast<size_t>(n * (K / 2) + j)];
      q.at(n, 2 * j) = static_cast<int8_t>(lowNibble(b));
      q.at(n, 2 * j + 1) = static_cast<int8_t>(highNibble(b));
    }
  return "";
}

std::string packWeights(WeightLayout layout, const Matrix<int8_t> &q,
                        std::vector<uint8_t> &packed) {
  if (layout == WeightLayout::RowMajor)
    return packRowMajor(q, packed);
#ifdef QQQ_HAVE_KERNEL_LAYOUTS
  return packKernelLayout(layout, q, packed);
#else
  return std::string("weight layout ") + weightLayoutName(layout) +
         " is not available in this build (no KernelLayouts)";
#endif
}

std::string unpackWeights(WeightLayout layout,
                          const std::vector<uint8_t> &packed, int64_t N,
                          int64_t K, Matrix<int8_t> &q) {
  if (layout == WeightLayout::RowMajor)
    return unpackRowMajor(packed, N, K, q);
#ifdef QQQ_HAVE_KERNEL_LAYOUTS
  return unpackKernelLayout(layout, packed, N, K, q);
#else
  return std::string("weight layout ") + weightLayoutName(layout) +
         " is not available in this build (no KernelLayouts)";
#endif
}

} // namespace qqq::numerics
