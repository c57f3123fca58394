//===- OnnxGraph.h - indexes and raising plans of an ONNX graph -*- C++ -*-===//
//
// Private to lib/Import. `GraphIndex` answers the questions the pattern
// matchers ask (who produces / consumes a value, is it a constant);
// `planRaising` decides which node groups become qqq.linear / qqq.rms_norm.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_LIB_IMPORT_ONNXGRAPH_H
#define QQQ_LIB_IMPORT_ONNXGRAPH_H

#include "OnnxTensorData.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace qqq::onnx_import {

struct GraphIndex {
  const onnx::GraphProto &graph;
  llvm::StringMap<const onnx::TensorProto *> initializers;
  llvm::StringMap<int> producer;                       // value -> node
  llvm::StringMap<llvm::SmallVector<int, 2>> consumers; // value -> nodes
  llvm::StringSet<> graphOutputs;

  explicit GraphIndex(const onnx::GraphProto &graph);
  /// Number of distinct consumer nodes, plus one if it is a graph output.
  int useCount(llvm::StringRef value) const;
  /// The node producing `value` if it is of `opType` (default domain).
  const onnx::NodeProto *producerOf(llvm::StringRef value,
                                    llvm::StringRef opType) const;
  int producerIndex(llvm::StringRef value) const;
};

/// A node group that becomes one qqq op.
struct RaisedOp {
  enum Kind { Linear, RMSNorm } kind;
  int root = -1;                   // node whose position emits the op
  std::vector<int> members;        // all nodes of the group (root included)
  std::string input, param, bias;  // ONNX value names (param: weight/gamma)
  std::string output;
  std::string layerName;           // the anchor node's name
  bool weightKN = false;
  double epsilon = 0;
  mlir::RankedTensorType resultType;
  llvm::SmallVector<mlir::NamedAttribute> extraAttrs; // qqq.onnx_* attributes
};

/// Everything the planner needs from the importer.
struct PlanContext {
  const GraphIndex &index;
  mlir::Builder &builder;
  /// Type of a value as known so far (null if unknown).
  std::function<mlir::Type(llvm::StringRef)> typeOf;
  /// Records the type of a raised op's output.
  std::function<void(llvm::StringRef, mlir::Type)> setType;
  /// A small constant (initializer with inline data or Constant node) as a
  /// DenseElementsAttr, or null.
  std::function<mlir::DenseElementsAttr(llvm::StringRef)> constantValue;
  /// The unique name given to node `i`.
  std::function<std::string(int)> nodeName;
  /// ONNX attributes of node `i` in the onnx_attrs encoding (null on error).
  std::function<mlir::DictionaryAttr(int)> nodeAttrs;
};

/// Matches raising patterns; `order` is a topological order of the nodes.
/// Returns the groups keyed by their root node.
llvm::DenseMap<int, RaisedOp> planRaising(PlanContext &ctx,
                                          llvm::ArrayRef<int> order);

} // namespace qqq::onnx_import

#endif // QQQ_LIB_IMPORT_ONNXGRAPH_H
