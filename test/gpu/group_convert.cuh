// group_convert.cuh - runs the kernels' per-group int4 -> int8 conversion
// (qqq::group_scale4, rne(q * s) in f16x2) on every case: one thread per f16
// scale, two packed words holding q = -8..-1 and q = 0..7 in nibbles 0..7.
// out[16 i + 8 word + nibble] is the int8 for scale i; the host compares it
// with rne(q * float(s)) computed on the CPU.
#pragma once
#include "qqq_common.cuh"

namespace qqq_test {

__global__ void group_convert_all(const unsigned short *scales, int n,
                                  signed char *out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  qqq::u32 s2 = qqq::half2_bits(scales[i]);
  const qqq::u32 words[2] = {0xFEDCBA98u, 0x76543210u};
  for (int wi = 0; wi < 2; ++wi) {
    qqq::u32 lo = qqq::group_scale4<0>(words[wi], s2); // nibbles 0, 2, 4, 6
    qqq::u32 hi = qqq::group_scale4<1>(words[wi], s2); // nibbles 1, 3, 5, 7
    for (int b = 0; b < 4; ++b) {
      out[16 * i + 8 * wi + 2 * b] = static_cast<signed char>(lo >> (8 * b));
      out[16 * i + 8 * wi + 2 * b + 1] =
          static_cast<signed char>(hi >> (8 * b));
    }
  }
}

} // namespace qqq_test
