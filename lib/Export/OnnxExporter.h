//===- OnnxExporter.h - the exporter's state (private) ----------*- C++ -*-===//
#ifndef QQQ_LIB_EXPORT_ONNXEXPORTER_H
#define QQQ_LIB_EXPORT_ONNXEXPORTER_H

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Export/OnnxExport.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"

#include <deque>
#include <vector>

#include "onnx/onnx_pb.h"

namespace qqq::onnx_export {

class Exporter : public OpExportContext {
public:
  Exporter(mlir::ModuleOp module, const OnnxExportOptions &options,
           std::string dataFileName)
      : module(module), options(options), dataFileName(std::move(dataFileName)),
        graph(model.mutable_graph()) {}

  mlir::LogicalResult run();
  mlir::LogicalResult write(llvm::StringRef outputPath);

  // OpExportContext
  std::string getValueName(mlir::Value value) override;
  void setValueName(mlir::Value value, llvm::StringRef name) override;
  std::string makeUniqueName(llvm::StringRef hint) override;
  mlir::LogicalResult addNode(llvm::StringRef opType,
                              llvm::ArrayRef<std::string> inputs,
                              llvm::ArrayRef<std::string> outputs,
                              llvm::StringRef nodeName,
                              mlir::DictionaryAttr attributes = {},
                              llvm::StringRef domain = "") override;
  std::string addInitializer(llvm::StringRef nameHint,
                             mlir::ElementsAttr value) override;
  void requireOpset(llvm::StringRef domain, int64_t version) override;

private:
  void setModelFields();
  int64_t defaultOpset();
  /// Names `value` after `preferred` (made unique) and returns the name.
  std::string defineValue(mlir::Value value, llvm::StringRef preferred);
  mlir::LogicalResult exportOp(mlir::Operation *op);
  mlir::LogicalResult exportOnnxNode(OnnxNodeOp op);
  mlir::LogicalResult exportLinear(LinearOp op);
  mlir::LogicalResult exportRMSNorm(RMSNormOp op);
  mlir::LogicalResult exportExtractSlice(mlir::tensor::ExtractSliceOp op);
  mlir::LogicalResult exportDim(mlir::tensor::DimOp op);
  mlir::LogicalResult exportDecomposedNorm(RMSNormOp op,
                                           mlir::DictionaryAttr chain,
                                           const std::string &output);
  mlir::LogicalResult tensorBytes(mlir::ElementsAttr value, mlir::Location loc,
                                  llvm::ArrayRef<char> &bytes);
  mlir::LogicalResult fillTensor(onnx::TensorProto &t, mlir::ElementsAttr value,
                                 mlir::Location loc, bool allowExternal);
  mlir::LogicalResult convertAttribute(onnx::AttributeProto &a,
                                       mlir::Attribute value,
                                       mlir::Location loc);

  struct Chunk {
    uint64_t offset;
    llvm::ArrayRef<char> bytes;
  };

  mlir::ModuleOp module;
  const OnnxExportOptions &options;
  std::string dataFileName;
  onnx::ModelProto model;
  onnx::GraphProto *graph;
  llvm::DenseMap<mlir::Value, std::string> names;
  /// Returned values -> the graph output name they should carry.
  llvm::DenseMap<mlir::Value, std::string> outputNames;
  std::vector<std::pair<mlir::Value, std::string>> valueOrder;
  llvm::StringSet<> usedNames;
  std::vector<Chunk> externalChunks; // data still owned by MLIR attributes
  std::deque<std::vector<char>> owned; // data made for export (splats, bools)
  uint64_t externalSize = 0;
  bool failed_ = false;
};

} // namespace qqq::onnx_export

#endif // QQQ_LIB_EXPORT_ONNXEXPORTER_H
