//===- Passes.h - qqq conversion passes --------------------------*- C++ -*-===//
#ifndef QQQ_CONVERSION_PASSES_H
#define QQQ_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace qqq {

#define GEN_PASS_DECL
#include "qqq/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qqq/Conversion/Passes.h.inc"

} // namespace qqq

#endif // QQQ_CONVERSION_PASSES_H
