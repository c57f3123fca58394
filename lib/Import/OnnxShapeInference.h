//===- OnnxShapeInference.h - ONNX's shape inference, contained -*- C++ -*-===//
//
// Private to lib/Import. Runs libonnx's shape inference on a copy of the
// graph without the data of large tensors and returns the value_info it inferred. libonnx
// reports failures by exceptions, so this is the one file of the importer
// compiled with -fexceptions; nothing escapes it.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_LIB_IMPORT_ONNXSHAPEINFERENCE_H
#define QQQ_LIB_IMPORT_ONNXSHAPEINFERENCE_H

#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace qqq::onnx_import {

/// The value_info ONNX's shape inference derives for `model` (libonnx knows
/// operators up to its opset; unknown ops are skipped). On failure returns
/// what it had and sets `error`.
std::vector<onnx::ValueInfoProto> inferValueInfo(const onnx::ModelProto &model,
                                                 std::string &error);

} // namespace qqq::onnx_import

#endif // QQQ_LIB_IMPORT_ONNXSHAPEINFERENCE_H
