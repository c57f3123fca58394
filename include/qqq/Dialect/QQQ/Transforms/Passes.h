//===- Passes.h - qqq transformation passes ----------------------*- C++ -*-===//
#ifndef QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_H
#define QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"

namespace qqq {

#define GEN_PASS_DECL
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"

} // namespace qqq

#endif // QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_H
