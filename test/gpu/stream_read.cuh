// stream_read.cuh - the bandwidth probe of the W4A8 benchmark: reads a
// buffer once with 16-byte loads (UNROLL in flight per thread) and keeps
// nothing. Its time for a layer's packed weights is what one kernel launch
// needs just to stream those bytes, the practical floor of a decode-size
// GEMM (the copy-bandwidth floor ignores launch, ramp and tail).
#pragma once

namespace qqq_test {

template <int UNROLL>
__global__ void __launch_bounds__(512)
    stream_read(const uint4 *__restrict__ p, long long n16, unsigned *out) {
  unsigned acc = 0;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + (UNROLL - 1) * stride < n16; i += UNROLL * stride) {
    uint4 v[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u)
      v[u] = __ldg(p + i + u * stride);
#pragma unroll
    for (int u = 0; u < UNROLL; ++u)
      acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  for (; i < n16; i += stride) {
    uint4 v = __ldg(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  // Data-dependent and practically never taken: the loads cannot be
  // removed, and nothing is written.
  if (acc == 0x9E3779B9u)
    out[blockIdx.x] = acc;
}

} // namespace qqq_test
