//===- QQQOps.h - qqq operations ---------------------------------*- C++ -*-===//
#ifndef QQQ_DIALECT_QQQ_IR_QQQOPS_H
#define QQQ_DIALECT_QQQ_IR_QQQOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"

#define GET_OP_CLASSES
#include "qqq/Dialect/QQQ/IR/QQQOps.h.inc"

#endif // QQQ_DIALECT_QQQ_IR_QQQOPS_H
