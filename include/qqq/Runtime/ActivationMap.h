//===- ActivationMap.h - TMA tensor map of a GEMM's activations -*- C++ -*-===//
//
// The sm_90a GEMM reads its 128-byte swizzled activation tiles by TMA
// (cp.async.bulk.tensor) through a tensor map passed by value as its last
// argument (include/qqq/CodeGen/KernelCatalog.h). The map depends on the
// activation pointer and M, so it is encoded on the host for every launch
// (no device call). Header-only: the runtime passes the driver entry point
// it resolved with dlsym, the GPU test harness the linked one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cuda.h>

#include <cstdint>

namespace qqq::runtime {

/// Encodes x (M x K int8, row-major, 16-byte aligned) as a 2-D tensor {K, M}
/// with boxes of 128 bytes x `rows` tokens (codegen::activationMapRows),
/// the 128-byte swizzle the kernel's shared layout expects and rows past M
/// zero-filled. `encode` is cuTensorMapEncodeTiled.
template <typename EncodeFn>
CUresult encodeActivationMap(EncodeFn encode, CUtensorMap &map, CUdeviceptr x,
                             int64_t M, int64_t K, int64_t rows) {
  cuuint64_t dims[2] = {static_cast<cuuint64_t>(K), static_cast<cuuint64_t>(M)};
  cuuint64_t rowPitch[1] = {static_cast<cuuint64_t>(K)};
  cuuint32_t box[2] = {128, static_cast<cuuint32_t>(rows)};
  cuuint32_t elementStrides[2] = {1, 1};
  return encode(&map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2,
                reinterpret_cast<void *>(x), dims, rowPitch, box,
                elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

} // namespace qqq::runtime
