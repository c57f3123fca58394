//===- OnnxTensorData.cpp - ONNX tensors -> MLIR elements attrs -------------===//
#include "OnnxTensorData.h"

#include "qqq/Import/OnnxTypes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;
using namespace qqq;
using namespace qqq::onnx_import;

/// The data types qqq accepts for tensor data (issue 3: f32, f16, bf16, i64,
/// i32, i8, u8, bool).
static bool isSupportedDataType(int32_t dt) {
  using TP = onnx::TensorProto;
  switch (dt) {
  case TP::FLOAT: case TP::FLOAT16: case TP::BFLOAT16: case TP::INT64:
  case TP::INT32: case TP::INT8: case TP::UINT8: case TP::BOOL:
    return true;
  default:
    return false;
  }
}

/// A valid resource key from a tensor name (keys are identifiers in the
/// printed IR, so everything but [A-Za-z0-9_.] becomes '_').
static std::string resourceKey(llvm::StringRef name) {
  std::string key = name.empty() ? std::string("tensor") : name.str();
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  return key;
}

RankedTensorType TensorReader::tensorType(const onnx::TensorProto &t,
                                          Location loc) {
  int32_t dt = t.data_type();
  if (!isSupportedDataType(dt)) {
    emitError(loc) << "tensor '" << t.name() << "' has unsupported data type "
                   << onnxDataTypeName(dt) << " (" << dt
                   << "); supported: FLOAT, FLOAT16, BFLOAT16, INT64, INT32, "
                      "INT8, UINT8, BOOL";
    return nullptr;
  }
  SmallVector<int64_t> shape;
  __int128 numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) {
      emitError(loc) << "tensor '" << t.name() << "' has negative dimension "
                     << d;
      return nullptr;
    }
    numel *= d;
    if (numel > (__int128(1) << 50)) {
      emitError(loc) << "tensor '" << t.name() << "' is too large";
      return nullptr;
    }
    shape.push_back(d);
  }
  return RankedTensorType::get(shape, onnxElementType(dt, ctx));
}

/// Appends `count` typed values converted to `T`.
template <typename T, typename Range>
static void appendAs(std::string &out, const Range &values) {
  for (auto v : values) {
    T x = static_cast<T>(v);
    out.append(reinterpret_cast<const char *>(&x), sizeof(T));
  }
}

bool TensorReader::inlineBytes(const onnx::TensorProto &t,
                               RankedTensorType type, std::string &out,
                               Location loc) {
  using TP = onnx::TensorProto;
  int64_t expected = type.getNumElements() * onnxElementBytes(type.getElementType());
  if (t.has_raw_data()) {
    out = t.raw_data();
  } else {
    out.clear();
    switch (t.data_type()) {
    case TP::FLOAT: appendAs<float>(out, t.float_data()); break;
    case TP::INT64: appendAs<int64_t>(out, t.int64_data()); break;
    case TP::INT32: appendAs<int32_t>(out, t.int32_data()); break;
    case TP::FLOAT16: case TP::BFLOAT16:
      appendAs<uint16_t>(out, t.int32_data()); break;
    case TP::INT8: appendAs<int8_t>(out, t.int32_data()); break;
    case TP::UINT8: case TP::BOOL: appendAs<uint8_t>(out, t.int32_data()); break;
    default: break;
    }
  }
  if (static_cast<int64_t>(out.size()) != expected) {
    emitError(loc) << "tensor '" << t.name() << "' holds " << out.size()
                   << " bytes of data but its shape " << type
                   << " needs " << expected;
    return false;
  }
  return true;
}

std::shared_ptr<llvm::MemoryBuffer>
TensorReader::mapFile(StringRef location, const std::string &tensorName,
                      Location loc) {
  if (baseDir.empty()) {
    emitError(loc) << "tensor '" << tensorName
                   << "' uses external data, which is not allowed for a model "
                      "read from memory";
    return nullptr;
  }
  // The location is relative to the model's directory and must stay in it.
  if (location.empty() || llvm::sys::path::is_absolute(location) ||
      llvm::sys::path::is_absolute(location, llvm::sys::path::Style::windows) ||
      location.starts_with("/") || location.starts_with("\\")) {
    emitError(loc) << "tensor '" << tensorName << "': external data location '"
                   << location << "' must be a relative path inside the model "
                                  "directory";
    return nullptr;
  }
  for (auto it = llvm::sys::path::begin(location),
            e = llvm::sys::path::end(location);
       it != e; ++it)
    if (*it == "..") {
      emitError(loc) << "tensor '" << tensorName
                     << "': external data location '" << location
                     << "' must not contain '..'";
      return nullptr;
    }
  if (location.contains('\\') || location.contains(':')) {
    emitError(loc) << "tensor '" << tensorName << "': external data location '"
                   << location << "' must be a plain relative path";
    return nullptr;
  }
  auto found = mappedFiles.find(location);
  if (found != mappedFiles.end())
    return found->second;

  SmallString<256> path(baseDir);
  llvm::sys::path::append(path, location);
  SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(path, realFile)) {
    emitError(loc) << "tensor '" << tensorName << "': external data file '"
                   << path << "' does not exist or cannot be read";
    return nullptr;
  }
  if (llvm::sys::fs::real_path(baseDir, realDir) ||
      !StringRef(realFile).starts_with((realDir + "/").str())) {
    emitError(loc) << "tensor '" << tensorName << "': external data file '"
                   << path << "' resolves to '" << realFile
                   << "', outside the model directory";
    return nullptr;
  }
  // Map the whole file once; tensors are slices of it. The file is never
  // read into memory: pages come in when the data is used.
  auto buffer = llvm::MemoryBuffer::getFile(realFile, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false,
                                            /*IsVolatile=*/false);
  if (!buffer) {
    emitError(loc) << "tensor '" << tensorName
                   << "': cannot map external data file '" << path
                   << "': " << buffer.getError().message();
    return nullptr;
  }
  std::shared_ptr<llvm::MemoryBuffer> shared = std::move(*buffer);
  mappedFiles[location] = shared;
  return shared;
}

/// The largest power-of-two alignment (up to 64) of `p`.
static size_t alignmentOf(const char *p) {
  size_t a = 64;
  while (a > 1 && reinterpret_cast<uintptr_t>(p) % a != 0)
    a /= 2;
  return a;
}

ElementsAttr TensorReader::readInitializer(const onnx::TensorProto &t,
                                           Location loc) {
  RankedTensorType type = tensorType(t, loc);
  if (!type)
    return nullptr;
  int64_t expected =
      type.getNumElements() * onnxElementBytes(type.getElementType());
  std::string key = resourceKey(t.name());

  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset" || kv.key() == "length") {
        char *end = nullptr;
        long long v = std::strtoll(kv.value().c_str(), &end, 10);
        if (kv.value().empty() || *end != '\0' || v < 0) {
          emitError(loc) << "tensor '" << t.name() << "': external data "
                         << kv.key() << " '" << kv.value()
                         << "' is not a non-negative integer";
          return nullptr;
        }
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    if (location.empty()) {
      emitError(loc) << "tensor '" << t.name()
                     << "' has external data without a location";
      return nullptr;
    }
    std::shared_ptr<llvm::MemoryBuffer> file = mapFile(location, t.name(), loc);
    if (!file)
      return nullptr;
    if (length < 0)
      length = static_cast<int64_t>(file->getBufferSize()) - offset;
    if (length != expected) {
      emitError(loc) << "tensor '" << t.name() << "': external data length "
                     << length << " does not match its shape " << type
                     << " (" << expected << " bytes)";
      return nullptr;
    }
    if (offset > static_cast<int64_t>(file->getBufferSize()) ||
        length > static_cast<int64_t>(file->getBufferSize()) - offset) {
      emitError(loc) << "tensor '" << t.name() << "': external data ["
                     << offset << ", " << offset + length << ") lies beyond "
                     << "the end of '" << location << "' ("
                     << file->getBufferSize() << " bytes)";
      return nullptr;
    }
    const char *data = file->getBufferStart() + offset;
    // The blob's deleter owns a reference to the mapping: MLIR keeps the
    // mapped pages alive for as long as the attribute exists.
    AsmResourceBlob blob(
        ArrayRef<char>(data, length), alignmentOf(data),
        [file](void *, size_t, size_t) mutable { file.reset(); },
        /*dataIsMutable=*/false);
    return DenseResourceElementsAttr::get(type, key, std::move(blob));
  }

  std::string bytes;
  if (!inlineBytes(t, type, bytes, loc))
    return nullptr;
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(bytes.data(), bytes.size()), 64);
  return DenseResourceElementsAttr::get(type, key, std::move(blob));
}

ElementsAttr TensorReader::readAttributeTensor(const onnx::TensorProto &t,
                                               Location loc) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    emitError(loc) << "tensor attribute '" << t.name()
                   << "' uses external data, which qqq does not support";
    return nullptr;
  }
  RankedTensorType type = tensorType(t, loc);
  if (!type)
    return nullptr;
  std::string bytes;
  if (!inlineBytes(t, type, bytes, loc))
    return nullptr;
  if (type.getElementType().isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return DenseElementsAttr::get(type, values);
  }
  bool detectedSplat = false;
  if (!DenseElementsAttr::isValidRawBuffer(
          type, ArrayRef<char>(bytes.data(), bytes.size()), detectedSplat)) {
    emitError(loc) << "tensor attribute '" << t.name()
                   << "' has malformed data";
    return nullptr;
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(bytes.data(), bytes.size()));
}
