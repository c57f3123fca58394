//===- W4A8TestLayers.h - random W4A8 layers for the export tests -*- C++ -*-===//
//
// The export tests build `quantize_act → w4a8_linear` modules from random
// weights and compare what ONNX Runtime computes with the numerics
// reference; these are the shared pieces.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_TEST_UNITTESTS_TRANSFORMS_W4A8TESTLAYERS_H
#define QQQ_TEST_UNITTESTS_TRANSFORMS_W4A8TESTLAYERS_H

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Numerics/ReferenceGemm.h"

#include "mlir/IR/Builders.h"

#include <random>

namespace qqq::testlayers {

/// N x K weights ~ N(0, 0.05²), RTN-quantized (per channel, or two-level
/// with `groupSize`), packed in `layout`, with a random f16 bias when
/// `bias`. `packed` is empty when this build cannot pack `layout`.
numerics::PackedW4Weight randomWeight(numerics::WeightLayout layout, int64_t N,
                                      int64_t K, int64_t groupSize, bool bias,
                                      std::mt19937 &rng);

/// A qqq.w4a8_linear of `w` reading `quant`'s outputs, its weight, scales
/// and bias as arith.constants, inserted at the builder's position.
W4A8LinearOp addLinear(mlir::OpBuilder &b, mlir::Location loc,
                       QuantizeActOp quant, const numerics::PackedW4Weight &w,
                       mlir::Type resultType, llvm::StringRef name);

} // namespace qqq::testlayers

#endif
