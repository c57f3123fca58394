//===- OnnxTypes.h - ONNX data types <-> MLIR element types -----*- C++ -*-===//
#ifndef QQQ_IMPORT_ONNXTYPES_H
#define QQQ_IMPORT_ONNXTYPES_H

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Types.h"

#include <cstdint>

namespace qqq {

/// The MLIR element type of an ONNX TensorProto.DataType, or null when qqq
/// does not support it. Signed integers are signless, UINT8 is `ui8`, BOOL
/// is `i1`. Supported: FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT16,
/// INT8, UINT8, BOOL.
mlir::Type onnxElementType(int32_t dataType, mlir::MLIRContext *context);

/// The ONNX TensorProto.DataType of an element type (0 when there is none).
int32_t onnxDataType(mlir::Type elementType);

/// Bytes per element in ONNX raw/external data (BOOL: 1), 0 if unknown.
int64_t onnxElementBytes(mlir::Type elementType);

/// The name of an ONNX data type, for error messages.
const char *onnxDataTypeName(int32_t dataType);

} // namespace qqq

#endif // QQQ_IMPORT_ONNXTYPES_H
