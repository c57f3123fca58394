//===- OnnxTensorData.h - ONNX tensors -> MLIR elements attrs ---*- C++ -*-===//
//
// Private to lib/Import. Turns TensorProtos (initializers, tensor attributes)
// into MLIR attributes; external data is memory-mapped and handed to MLIR as
// a blob whose deleter keeps the mapping alive.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_LIB_IMPORT_ONNXTENSORDATA_H
#define QQQ_LIB_IMPORT_ONNXTENSORDATA_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>

#include "onnx/onnx_pb.h"

namespace qqq::onnx_import {

class TensorReader {
public:
  /// `baseDir` resolves external data; empty forbids it.
  TensorReader(mlir::MLIRContext *ctx, std::string baseDir, std::string modelName)
      : ctx(ctx), baseDir(std::move(baseDir)), modelName(std::move(modelName)) {}

  /// An initializer as a dense_resource attribute (no copy for external
  /// data). Emits an error at `loc` naming the tensor and returns null.
  mlir::ElementsAttr readInitializer(const onnx::TensorProto &tensor,
                                     mlir::Location loc);

  /// A tensor attribute (Constant values and the like) as a
  /// DenseElementsAttr. External data is not allowed here.
  mlir::ElementsAttr readAttributeTensor(const onnx::TensorProto &tensor,
                                         mlir::Location loc);

private:
  /// The tensor's MLIR type, or null after an error.
  mlir::RankedTensorType tensorType(const onnx::TensorProto &t,
                                    mlir::Location loc);
  /// Bytes of an inline tensor (raw_data or the typed fields), in ONNX raw
  /// layout. False after an error.
  bool inlineBytes(const onnx::TensorProto &t, mlir::RankedTensorType type,
                   std::string &out, mlir::Location loc);
  /// The mapping of an external data file, mapped once per file.
  std::shared_ptr<llvm::MemoryBuffer> mapFile(llvm::StringRef location,
                                              const std::string &tensorName,
                                              mlir::Location loc);

  mlir::MLIRContext *ctx;
  std::string baseDir;
  std::string modelName;
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> mappedFiles;
};

} // namespace qqq::onnx_import

#endif // QQQ_LIB_IMPORT_ONNXTENSORDATA_H
