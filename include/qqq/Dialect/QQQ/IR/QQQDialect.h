//===- QQQDialect.h - qqq dialect --------------------------------*- C++ -*-===//
#ifndef QQQ_DIALECT_QQQ_IR_QQQDIALECT_H
#define QQQ_DIALECT_QQQ_IR_QQQDIALECT_H

#include "mlir/IR/Dialect.h"

#include "qqq/Dialect/QQQ/IR/QQQDialect.h.inc"

#endif // QQQ_DIALECT_QQQ_IR_QQQDIALECT_H
