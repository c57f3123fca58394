//===- QQQDialect.cpp - qqq dialect registration ---------------------------===//
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"

using namespace mlir;
using namespace qqq;

#include "qqq/Dialect/QQQ/IR/QQQDialect.cpp.inc"

void QQQDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "qqq/Dialect/QQQ/IR/QQQOps.cpp.inc"
      >();
  registerAttributes();
}
