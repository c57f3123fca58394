//===- OnnxTypes.cpp - ONNX data types <-> MLIR element types --------------===//
#include "qqq/Import/OnnxTypes.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace {
// TensorProto.DataType values (onnx.proto); kept here so this file does not
// need the protobuf headers.
enum : int32_t {
  kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6,
  kInt64 = 7, kString = 8, kBool = 9, kFloat16 = 10, kDouble = 11,
  kUint32 = 12, kUint64 = 13, kComplex64 = 14, kComplex128 = 15,
  kBfloat16 = 16
};
} // namespace

Type qqq::onnxElementType(int32_t dataType, MLIRContext *ctx) {
  switch (dataType) {
  case kFloat: return Float32Type::get(ctx);
  case kFloat16: return Float16Type::get(ctx);
  case kBfloat16: return BFloat16Type::get(ctx);
  case kDouble: return Float64Type::get(ctx);
  case kInt64: return IntegerType::get(ctx, 64);
  case kInt32: return IntegerType::get(ctx, 32);
  case kInt16: return IntegerType::get(ctx, 16);
  case kInt8: return IntegerType::get(ctx, 8);
  case kUint8: return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case kBool: return IntegerType::get(ctx, 1);
  default: return nullptr;
  }
}

int32_t qqq::onnxDataType(Type t) {
  if (t.isF32()) return kFloat;
  if (t.isF16()) return kFloat16;
  if (t.isBF16()) return kBfloat16;
  if (t.isF64()) return kDouble;
  auto it = dyn_cast<IntegerType>(t);
  if (!it) return 0;
  bool isUnsigned = it.isUnsigned();
  switch (it.getWidth()) {
  case 1: return kBool;
  case 8: return isUnsigned ? kUint8 : kInt8;
  case 16: return isUnsigned ? kUint16 : kInt16;
  case 32: return isUnsigned ? kUint32 : kInt32;
  case 64: return isUnsigned ? kUint64 : kInt64;
  default: return 0;
  }
}

int64_t qqq::onnxElementBytes(Type t) {
  if (t.isInteger(1)) return 1;
  if (t.isIntOrFloat()) return (t.getIntOrFloatBitWidth() + 7) / 8;
  return 0;
}

const char *qqq::onnxDataTypeName(int32_t dataType) {
  switch (dataType) {
  case 0: return "UNDEFINED";
  case kFloat: return "FLOAT";
  case kUint8: return "UINT8";
  case kInt8: return "INT8";
  case kUint16: return "UINT16";
  case kInt16: return "INT16";
  case kInt32: return "INT32";
  case kInt64: return "INT64";
  case kString: return "STRING";
  case kBool: return "BOOL";
  case kFloat16: return "FLOAT16";
  case kDouble: return "DOUBLE";
  case kUint32: return "UINT32";
  case kUint64: return "UINT64";
  case kComplex64: return "COMPLEX64";
  case kComplex128: return "COMPLEX128";
  case kBfloat16: return "BFLOAT16";
  default: return "an unknown data type";
  }
}
