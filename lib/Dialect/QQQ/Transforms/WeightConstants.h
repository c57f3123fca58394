//===- WeightConstants.h - reading and writing constant tensors -*- C++ -*-===//
//
// The passes move weights between IR constants (dense or dense_resource
// attributes of arith.constant) and the numerics library's matrices.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_LIB_DIALECT_QQQ_TRANSFORMS_WEIGHTCONSTANTS_H
#define QQQ_LIB_DIALECT_QQQ_TRANSFORMS_WEIGHTCONSTANTS_H

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Numerics/Matrix.h"
#include "qqq/Numerics/Packing.h"

#include "mlir/IR/Builders.h"
#include "mlir/Support/LLVM.h"

#include <vector>

namespace qqq {

/// The numerics library's name of a #qqq.layout (same values, QQQAttrs.td).
inline numerics::WeightLayout toNumerics(WeightLayout l) {
  return static_cast<numerics::WeightLayout>(static_cast<uint32_t>(l));
}

/// The elements of a constant float tensor (f32/f16/bf16) as f32, row-major;
/// failure when `v` is not produced by a constant with readable data.
mlir::FailureOr<std::vector<float>> readFloatConstant(mlir::Value v);

/// The bytes of a constant i8 tensor (dense), row-major; failure otherwise.
mlir::FailureOr<std::vector<uint8_t>> readByteConstant(mlir::Value v);

/// The weight of a linear layer as N x K (transposing a `weight_kn` weight).
mlir::FailureOr<numerics::Matrix<float>> readLinearWeight(LinearOp op);

/// A new arith.constant holding `values` (f32, converted to `type`'s element
/// type f32/f16/bf16), inserted at the builder's position.
mlir::Value makeFloatConstant(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::RankedTensorType type,
                              llvm::ArrayRef<float> values);
/// A new arith.constant of raw bytes (i8, or f16 given as half bits).
mlir::Value makeRawConstant(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::RankedTensorType type,
                            llvm::ArrayRef<char> bytes);

/// Replaces the weight of `op` by `w` (N x K), keeping its layout and element
/// type. The old constant is left for DCE (other users may share it).
void replaceLinearWeight(LinearOp op, const numerics::Matrix<float> &w);

/// Points `operand` at a new constant holding `values` (its type kept) and
/// erases the old constant when nothing else reads it.
void replaceFloatOperand(mlir::OpOperand &operand, llvm::ArrayRef<float> values);

/// Erases `op` when it is an arith.constant nobody reads any more.
void eraseIfDeadConstant(mlir::Operation *op);

} // namespace qqq

#endif
