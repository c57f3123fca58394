//===- QQQAttrs.h - qqq attributes and enums ---------------------*- C++ -*-===//
#ifndef QQQ_DIALECT_QQQ_IR_QQQATTRS_H
#define QQQ_DIALECT_QQQ_IR_QQQATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "qqq/Dialect/QQQ/IR/QQQEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h.inc"

#endif // QQQ_DIALECT_QQQ_IR_QQQATTRS_H
