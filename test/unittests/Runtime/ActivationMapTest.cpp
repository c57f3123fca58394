//===- ActivationMapTest.cpp - the TMA map of a GEMM's activations --------===//
//
// encodeActivationMap with a recording encoder in place of
// cuTensorMapEncodeTiled: the map must describe x (M x K int8, row-major)
// as the kernel reads it, box 128 bytes x rows tokens with the 128-byte
// swizzle of its shared layout (kernels-templates/w4a8_gemm_sm90.cuh).
//
//===----------------------------------------------------------------------===//
#include "qqq/Runtime/ActivationMap.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

struct Recorded {
  CUtensorMapDataType type;
  cuuint32_t rank;
  void *address;
  std::vector<cuuint64_t> dims, strides;
  std::vector<cuuint32_t> box, elementStrides;
  CUtensorMapInterleave interleave;
  CUtensorMapSwizzle swizzle;
  CUtensorMapL2promotion l2;
  CUtensorMapFloatOOBfill oobFill;
};
Recorded recorded;

CUresult record(CUtensorMap *, CUtensorMapDataType type, cuuint32_t rank,
                void *address, const cuuint64_t *dims,
                const cuuint64_t *strides, const cuuint32_t *box,
                const cuuint32_t *elementStrides,
                CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oobFill) {
  recorded = {type,
              rank,
              address,
              {dims, dims + rank},
              {strides, strides + rank - 1},
              {box, box + rank},
              {elementStrides, elementStrides + rank},
              interleave,
              swizzle,
              l2,
              oobFill};
  return CUDA_SUCCESS;
}

TEST(ActivationMap, DescribesXAsTheKernelReadsIt) {
  alignas(64) CUtensorMap map{};
  const CUdeviceptr x = 0x7f0000001000;
  ASSERT_EQ(qqq::runtime::encodeActivationMap(record, map, x, /*M=*/33,
                                              /*K=*/3584, /*rows=*/64),
            CUDA_SUCCESS);
  EXPECT_EQ(recorded.type, CU_TENSOR_MAP_DATA_TYPE_UINT8);
  EXPECT_EQ(recorded.rank, 2u);
  EXPECT_EQ(recorded.address, reinterpret_cast<void *>(x));
  // Innermost first: K bytes per token row, M rows (a box past M is
  // zero-filled, as the kernel needs for its last token tile).
  EXPECT_EQ(recorded.dims, (std::vector<cuuint64_t>{3584, 33}));
  EXPECT_EQ(recorded.strides, (std::vector<cuuint64_t>{3584}));
  // One 128-byte column block of a tile_m-token tile per copy.
  EXPECT_EQ(recorded.box, (std::vector<cuuint32_t>{128, 64}));
  EXPECT_EQ(recorded.elementStrides, (std::vector<cuuint32_t>{1, 1}));
  EXPECT_EQ(recorded.interleave, CU_TENSOR_MAP_INTERLEAVE_NONE);
  EXPECT_EQ(recorded.swizzle, CU_TENSOR_MAP_SWIZZLE_128B);
  EXPECT_EQ(recorded.oobFill, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

TEST(ActivationMap, PassesTheEncoderResultOn) {
  alignas(64) CUtensorMap map{};
  auto refuse = [](CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                   const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                   const cuuint32_t *, CUtensorMapInterleave,
                   CUtensorMapSwizzle, CUtensorMapL2promotion,
                   CUtensorMapFloatOOBfill) {
    return CUDA_ERROR_INVALID_VALUE;
  };
  EXPECT_EQ(
      qqq::runtime::encodeActivationMap(refuse, map, 0x1000, 1, 4096, 256),
      CUDA_ERROR_INVALID_VALUE);
}

} // namespace
