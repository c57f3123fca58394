//===- Passes.td - qqq transformation passes ---------------*- tablegen -*-===//
#ifndef QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_TD
#define QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

// One def per pass; the implementation lives in lib/Dialect/QQQ/Transforms/<Name>.cpp
// and derives from the tablegen'd impl::<Name>PassBase.

#endif // QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_TD
