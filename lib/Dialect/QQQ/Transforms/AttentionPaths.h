//===- AttentionPaths.h - from v_proj to the o_proj it feeds ----*- C++ -*-===//
//
// Attention is linear in V per channel, so the passes that fold per-channel
// transforms between v_proj and o_proj (qqq-rotate per head, qqq-smooth's
// o_proj scales) first prove that v_proj's values reach exactly one linear
// layer, through ONNX nodes only.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_LIB_DIALECT_QQQ_TRANSFORMS_ATTENTIONPATHS_H
#define QQQ_LIB_DIALECT_QQQ_TRANSFORMS_ATTENTIONPATHS_H

#include "qqq/Dialect/QQQ/IR/QQQOps.h"

#include <string>

namespace qqq {

/// Follows v_proj's output through the attention's ONNX nodes to its o_proj.
/// Fails (with `why`) when the values reach anything that is not an ONNX
/// node or that o_proj, e.g. a graph output such as a KV cache.
mlir::FailureOr<LinearOp> followToOProj(LinearOp vProj, std::string &why);

} // namespace qqq

#endif
