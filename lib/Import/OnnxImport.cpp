//===- OnnxImport.cpp - ONNX model -> MLIR (qqq dialect) --------------------===//
//
// Reads the ModelProto with protobuf (onnx.proto from libonnx-dev), checks
// it (defined values, acyclic graph, declared opset domains), then writes
// `func.func @main`: initializers first as dense_resource constants, then
// every node in topological order, as a raised qqq op or a qqq.onnx_node.
//
//===----------------------------------------------------------------------===//
#include "qqq/Import/OnnxImport.h"

#include "OnnxGraph.h"
#include "OnnxShapeInference.h"
#include "OnnxTensorData.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Import/OnnxTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <fcntl.h>
#include <limits>
#include <unistd.h>

using namespace mlir;
using namespace qqq;
using namespace qqq::onnx_import;

void qqq::loadOnnxImportDialects(MLIRContext *ctx) {
  ctx->loadDialect<QQQDialect, func::FuncDialect, arith::ArithDialect>();
}

namespace {

bool isDefaultDomain(StringRef d) { return d.empty() || d == "ai.onnx"; }

class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, const onnx::ModelProto &model,
                StringRef modelName, StringRef baseDir,
                const OnnxImportOptions &options)
      : ctx(ctx), model(model), graph(model.graph()), index(model.graph()),
        b(ctx), reader(ctx, baseDir.str(), modelName.str()),
        fileLoc(FileLineColLoc::get(ctx, modelName, 0, 0)), options(options) {}

  OwningOpRef<ModuleOp> run();

private:
  InFlightDiagnostic error() { return emitError(fileLoc); }
  std::string describeNode(int i) {
    const auto &n = graph.node(i);
    return "node '" + nodeNames[i] + "' (" +
           (n.domain().empty() ? "" : n.domain() + ".") + n.op_type() + ")";
  }
  LogicalResult checkModel();
  LogicalResult checkGraph();
  LogicalResult topologicalOrder();
  void nameNodes();
  void collectTypes();
  Type valueType(const onnx::TypeProto &type, SmallVectorImpl<std::string> *dims);
  Type typeOf(StringRef name);
  DictionaryAttr convertAttributes(int node);
  Attribute convertAttribute(const onnx::AttributeProto &a, int node);
  DenseElementsAttr constantValue(StringRef name);
  DictionaryAttr ioAttrs(StringRef name, ArrayRef<std::string> dims);
  LogicalResult emitNode(int i);
  LogicalResult emitRaised(const RaisedOp &r);
  Value lookup(StringRef name, int node);
  void setModuleAttributes(ModuleOp module);

  MLIRContext *ctx;
  const onnx::ModelProto &model;
  const onnx::GraphProto &graph;
  GraphIndex index;
  OpBuilder b;
  TensorReader reader;
  Location fileLoc;
  const OnnxImportOptions &options;

  std::vector<std::string> nodeNames;
  std::vector<int> order;
  llvm::StringMap<Type> types;
  llvm::StringMap<SmallVector<std::string>> inputDims, outputDims;
  llvm::StringMap<Value> values;
  DenseMap<int, RaisedOp> plans;
  llvm::DenseSet<int> planned;
  Value noneValue;
};

LogicalResult GraphImporter::checkModel() {
  if (!model.has_graph() || model.ir_version() <= 0) {
    error() << "not an ONNX model: no ir_version or graph";
    return failure();
  }
  bool hasDefault = false;
  llvm::StringSet<> domains;
  for (const auto &op : model.opset_import()) {
    std::string d = isDefaultDomain(op.domain()) ? "" : op.domain();
    if (d.empty())
      hasDefault = true;
    domains.insert(d);
  }
  if (!hasDefault) {
    error() << "the model imports no version of the default ONNX domain "
               "(opset_import has no entry for \"\")";
    return failure();
  }
  for (int i = 0, e = graph.node_size(); i < e; ++i) {
    const auto &n = graph.node(i);
    std::string d = isDefaultDomain(n.domain()) ? "" : n.domain();
    if (!domains.contains(d)) {
      error() << describeNode(i) << " uses domain '" << n.domain()
              << "', which the model's opset_import does not declare";
      return failure();
    }
    if (n.op_type().empty()) {
      error() << "node '" << nodeNames[i] << "' has no op_type";
      return failure();
    }
  }
  return success();
}

void GraphImporter::nameNodes() {
  llvm::StringSet<> used;
  for (const auto &n : graph.node())
    if (!n.name().empty())
      used.insert(n.name());
  for (int i = 0, e = graph.node_size(); i < e; ++i) {
    const auto &n = graph.node(i);
    std::string name = n.name();
    if (name.empty()) {
      // Deterministic, unique names for unnamed nodes: op type + position.
      int suffix = i;
      do
        name = n.op_type() + "_" + std::to_string(suffix++);
      while (used.contains(name));
      used.insert(name);
    }
    nodeNames.push_back(name);
  }
}

LogicalResult GraphImporter::checkGraph() {
  llvm::StringSet<> defined;
  auto define = [&](const std::string &name, StringRef what) -> LogicalResult {
    if (name.empty()) {
      error() << what << " has an empty name";
      return failure();
    }
    if (!defined.insert(name).second) {
      error() << "value '" << name << "' is defined more than once (again as "
              << what << ")";
      return failure();
    }
    return success();
  };
  for (const auto &t : graph.initializer())
    if (failed(define(t.name(), "an initializer")))
      return failure();
  for (const auto &in : graph.input())
    if (!index.initializers.count(in.name()) &&
        failed(define(in.name(), "a graph input")))
      return failure();
  for (int i = 0, e = graph.node_size(); i < e; ++i)
    for (const auto &out : graph.node(i).output())
      if (!out.empty() && failed(define(out, "an output of " + describeNode(i))))
        return failure();
  for (int i = 0, e = graph.node_size(); i < e; ++i) {
    const auto &n = graph.node(i);
    for (const auto &in : n.input())
      if (!in.empty() && !defined.contains(in)) {
        error() << describeNode(i) << " uses value '" << in
                << "', which nothing defines (dangling value name)";
        return failure();
      }
    for (const auto &a : n.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH ||
          a.type() == onnx::AttributeProto::GRAPHS || a.has_g() ||
          a.graphs_size() > 0) {
        error() << describeNode(i) << " has subgraph attribute '" << a.name()
                << "'; qqq does not import subgraphs (If/Loop/Scan)";
        return failure();
      }
  }
  for (const auto &o : graph.output())
    if (!defined.contains(o.name())) {
      error() << "graph output '" << o.name()
              << "' is not defined by any node, input or initializer";
      return failure();
    }
  return success();
}

LogicalResult GraphImporter::topologicalOrder() {
  // Kahn's algorithm over value dependencies; keeps the file's order where
  // it is already topological.
  int n = graph.node_size();
  std::vector<int> pending(n, 0);
  for (int i = 0; i < n; ++i)
    for (const auto &in : graph.node(i).input())
      if (!in.empty() && index.producerIndex(in) >= 0)
        ++pending[i];
  std::vector<int> ready;
  for (int i = n - 1; i >= 0; --i)
    if (pending[i] == 0)
      ready.push_back(i);
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    int i = ready.back();
    ready.pop_back();
    order.push_back(i);
    done[i] = true;
    std::vector<int> released;
    for (const auto &out : graph.node(i).output()) {
      if (out.empty())
        continue;
      auto it = index.consumers.find(out);
      if (it == index.consumers.end())
        continue;
      for (int c : it->second)
        for (const auto &in : graph.node(c).input())
          if (in == out && --pending[c] == 0)
            released.push_back(c);
    }
    // Smallest index first, so the original order is preserved.
    std::sort(released.begin(), released.end(), std::greater<int>());
    for (int c : released)
      ready.push_back(c);
    std::sort(ready.begin(), ready.end(), std::greater<int>());
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i)
      if (!done[i]) {
        error() << "the graph has a cycle through " << describeNode(i);
        return failure();
      }
  }
  return success();
}

Type GraphImporter::valueType(const onnx::TypeProto &type,
                              SmallVectorImpl<std::string> *dims) {
  if (!type.has_tensor_type())
    return nullptr;
  const auto &tt = type.tensor_type();
  Type et = onnxElementType(tt.elem_type(), ctx);
  if (!et)
    return nullptr;
  if (!tt.has_shape())
    return UnrankedTensorType::get(et);
  SmallVector<int64_t> shape;
  for (const auto &d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0)
      shape.push_back(d.dim_value());
    else
      shape.push_back(ShapedType::kDynamic);
    if (dims)
      dims->push_back(d.has_dim_param() ? d.dim_param() : std::string());
  }
  return RankedTensorType::get(shape, et);
}

void GraphImporter::collectTypes() {
  // Declared types win over inferred ones (inserted first, never replaced
  // by `try_emplace` below).
  for (const auto &vi : graph.value_info())
    if (Type t = valueType(vi.type(), nullptr))
      types[vi.name()] = t;
  for (const auto &vi : graph.output()) {
    SmallVector<std::string> dims;
    if (Type t = valueType(vi.type(), &dims))
      types[vi.name()] = t;
    outputDims[vi.name()] = dims;
  }
  for (const auto &vi : graph.input()) {
    SmallVector<std::string> dims;
    if (Type t = valueType(vi.type(), &dims))
      types[vi.name()] = t;
    inputDims[vi.name()] = dims;
  }
  for (const auto &t : graph.initializer()) {
    Type et = onnxElementType(t.data_type(), ctx);
    if (!et)
      continue; // reported when the initializer is read
    SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
    if (llvm::all_of(shape, [](int64_t d) { return d >= 0; }))
      types[t.name()] = RankedTensorType::get(shape, et);
  }
  if (options.inferShapes) {
    // Fill the gaps with ONNX's own shape inference (a failure only means
    // fewer known types).
    std::string ignored;
    for (const auto &vi : inferValueInfo(model, ignored))
      if (Type t = valueType(vi.type(), nullptr))
        types.try_emplace(vi.name(), t);
  }
}

Type GraphImporter::typeOf(StringRef name) {
  auto it = types.find(name);
  return it == types.end() ? Type() : it->second;
}

DenseElementsAttr GraphImporter::constantValue(StringRef name) {
  auto init = index.initializers.find(name);
  if (init != index.initializers.end()) {
    const auto &t = *init->second;
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
      return nullptr;
    int64_t numel = 1;
    for (int64_t d : t.dims())
      numel *= d;
    if (numel > 64)
      return nullptr;
    // Errors here would be reported again when the initializer is read.
    ScopedDiagnosticHandler silence(ctx, [](Diagnostic &) { return success(); });
    return dyn_cast_or_null<DenseElementsAttr>(
        reader.readAttributeTensor(t, fileLoc));
  }
  const auto *c = index.producerOf(name, "Constant");
  if (!c || c->output_size() != 1)
    return nullptr;
  for (const auto &a : c->attribute())
    if (a.name() == "value" && a.has_t()) {
      ScopedDiagnosticHandler silence(ctx, [](Diagnostic &) { return success(); });
      return dyn_cast_or_null<DenseElementsAttr>(
          reader.readAttributeTensor(a.t(), fileLoc));
    }
  return nullptr;
}

Attribute GraphImporter::convertAttribute(const onnx::AttributeProto &a,
                                          int node) {
  using AP = onnx::AttributeProto;
  if (!a.ref_attr_name().empty()) {
    error() << describeNode(node) << " attribute '" << a.name()
            << "' refers to a function attribute, which qqq does not support";
    return nullptr;
  }
  switch (a.type()) {
  case AP::FLOAT:
    return b.getF32FloatAttr(a.f());
  case AP::INT:
    return b.getI64IntegerAttr(a.i());
  case AP::STRING:
    return b.getStringAttr(a.s());
  case AP::TENSOR:
    return reader.readAttributeTensor(a.t(), fileLoc);
  case AP::FLOATS:
    return b.getDenseF32ArrayAttr(
        SmallVector<float>(a.floats().begin(), a.floats().end()));
  case AP::INTS:
    return b.getDenseI64ArrayAttr(
        SmallVector<int64_t>(a.ints().begin(), a.ints().end()));
  case AP::STRINGS: {
    SmallVector<Attribute> list;
    for (const auto &s : a.strings())
      list.push_back(b.getStringAttr(s));
    return b.getArrayAttr(list);
  }
  case AP::TENSORS: {
    SmallVector<Attribute> list;
    for (const auto &t : a.tensors()) {
      Attribute v = reader.readAttributeTensor(t, fileLoc);
      if (!v)
        return nullptr;
      list.push_back(v);
    }
    return b.getArrayAttr(list);
  }
  default:
    error() << describeNode(node) << " attribute '" << a.name()
            << "' has type " << AP::AttributeType_Name(a.type())
            << ", which qqq does not support";
    return nullptr;
  }
}

DictionaryAttr GraphImporter::convertAttributes(int node) {
  SmallVector<NamedAttribute> attrs;
  llvm::StringSet<> seen;
  for (const auto &a : graph.node(node).attribute()) {
    if (a.name().empty() || !seen.insert(a.name()).second) {
      error() << describeNode(node) << " has an empty or repeated attribute "
              << "name '" << a.name() << "'";
      return nullptr;
    }
    Attribute v = convertAttribute(a, node);
    if (!v) {
      if (!a.has_t())
        return nullptr;
      error() << "in attribute '" << a.name() << "' of " << describeNode(node);
      return nullptr;
    }
    attrs.push_back(b.getNamedAttr(a.name(), v));
  }
  return b.getDictionaryAttr(attrs);
}

Value GraphImporter::lookup(StringRef name, int node) {
  if (name.empty()) {
    if (!noneValue) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(b.getInsertionBlock());
      noneValue = NoneOp::create(b, fileLoc, b.getNoneType()).getResult();
    }
    return noneValue;
  }
  auto it = values.find(name);
  if (it == values.end()) {
    error() << describeNode(node) << " uses value '" << name
            << "' before it is defined";
    return nullptr;
  }
  return it->second;
}

LogicalResult GraphImporter::emitRaised(const RaisedOp &r) {
  Value x = lookup(r.input, r.root), p = lookup(r.param, r.root);
  if (!x || !p)
    return failure();
  SmallVector<Value> operands{x, p};
  SmallVector<NamedAttribute> attrs(r.extraAttrs.begin(), r.extraAttrs.end());
  attrs.push_back(b.getNamedAttr("qqq.onnx_output", b.getStringAttr(r.output)));
  Operation *op;
  if (r.kind == RaisedOp::Linear) {
    if (!r.bias.empty()) {
      Value bias = lookup(r.bias, r.root);
      if (!bias)
        return failure();
      operands.push_back(bias);
    }
    attrs.push_back(b.getNamedAttr("layer_name", b.getStringAttr(r.layerName)));
    attrs.push_back(b.getNamedAttr("input_name", b.getStringAttr(r.input)));
    if (r.weightKN)
      attrs.push_back(b.getNamedAttr("weight_kn", b.getUnitAttr()));
    op = LinearOp::create(b, fileLoc, TypeRange{r.resultType}, operands, attrs);
  } else {
    attrs.push_back(b.getNamedAttr("epsilon", b.getF32FloatAttr(r.epsilon)));
    attrs.push_back(b.getNamedAttr("qqq.onnx_node_name",
                                   b.getStringAttr(r.layerName)));
    op = RMSNormOp::create(b, fileLoc, TypeRange{r.resultType}, operands, attrs);
  }
  values[r.output] = op->getResult(0);
  return success();
}

LogicalResult GraphImporter::emitNode(int i) {
  auto plan = plans.find(i);
  if (plan != plans.end())
    return emitRaised(plan->second);
  if (planned.count(i))
    return success(); // part of a raised group emitted at its root
  const auto &n = graph.node(i);
  SmallVector<Value> operands;
  for (const auto &in : n.input()) {
    Value v = lookup(in, i);
    if (!v)
      return failure();
    operands.push_back(v);
  }
  DictionaryAttr onnxAttrs = convertAttributes(i);
  if (!onnxAttrs)
    return failure();
  SmallVector<Type> resultTypes;
  SmallVector<Attribute> outNames;
  for (const auto &out : n.output()) {
    Type t = out.empty() ? Type() : typeOf(out);
    resultTypes.push_back(t ? t : b.getNoneType());
    outNames.push_back(b.getStringAttr(out));
  }
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr("op_type", b.getStringAttr(n.op_type())),
      b.getNamedAttr("domain", b.getStringAttr(n.domain())),
      b.getNamedAttr("node_name", b.getStringAttr(nodeNames[i])),
      b.getNamedAttr("onnx_attrs", onnxAttrs),
      b.getNamedAttr("qqq.onnx_outputs", b.getArrayAttr(outNames))};
  if (n.name().empty())
    attrs.push_back(b.getNamedAttr("qqq.onnx_unnamed", b.getUnitAttr()));
  auto op = OnnxNodeOp::create(b, fileLoc, resultTypes, operands, attrs);
  for (int o = 0, e = n.output_size(); o < e; ++o)
    if (!n.output(o).empty())
      values[n.output(o)] = op->getResult(o);
  return success();
}

DictionaryAttr GraphImporter::ioAttrs(StringRef name,
                                      ArrayRef<std::string> dims) {
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr("qqq.onnx_name", b.getStringAttr(name))};
  if (llvm::any_of(dims, [](const std::string &d) { return !d.empty(); })) {
    SmallVector<Attribute> list;
    for (const auto &d : dims)
      list.push_back(b.getStringAttr(d));
    attrs.push_back(b.getNamedAttr("qqq.onnx_dims", b.getArrayAttr(list)));
  }
  return b.getDictionaryAttr(attrs);
}

void GraphImporter::setModuleAttributes(ModuleOp module) {
  SmallVector<Attribute> opsets;
  for (const auto &op : model.opset_import())
    opsets.push_back(b.getArrayAttr(
        {b.getStringAttr(op.domain()), b.getI64IntegerAttr(op.version())}));
  module->setAttr("qqq.onnx_ir_version", b.getI64IntegerAttr(model.ir_version()));
  module->setAttr("qqq.onnx_opset_import", b.getArrayAttr(opsets));
  auto setStr = [&](StringRef name, const std::string &value) {
    if (!value.empty())
      module->setAttr(name, b.getStringAttr(value));
  };
  setStr("qqq.onnx_producer_name", model.producer_name());
  setStr("qqq.onnx_producer_version", model.producer_version());
  setStr("qqq.onnx_model_domain", model.domain());
  setStr("qqq.onnx_doc_string", model.doc_string());
  setStr("qqq.onnx_graph_name", graph.name());
  setStr("qqq.onnx_graph_doc_string", graph.doc_string());
  if (model.model_version() != 0)
    module->setAttr("qqq.onnx_model_version",
                    b.getI64IntegerAttr(model.model_version()));
  if (model.metadata_props_size() > 0) {
    SmallVector<Attribute> props;
    for (const auto &p : model.metadata_props())
      props.push_back(
          b.getArrayAttr({b.getStringAttr(p.key()), b.getStringAttr(p.value())}));
    module->setAttr("qqq.onnx_metadata_props", b.getArrayAttr(props));
  }
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  nameNodes();
  if (failed(checkModel()) || failed(checkGraph()) ||
      failed(topologicalOrder()))
    return nullptr;
  collectTypes();

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  setModuleAttributes(*module);
  b.setInsertionPointToEnd(module->getBody());

  // Graph inputs (those that are not also initializers) are arguments.
  SmallVector<Type> argTypes;
  SmallVector<Attribute> argAttrs;
  SmallVector<std::string> argNames;
  for (const auto &in : graph.input()) {
    if (index.initializers.count(in.name()))
      continue;
    Type t = typeOf(in.name());
    if (!t) {
      error() << "graph input '" << in.name()
              << "' has no supported tensor type (element type "
              << (in.type().has_tensor_type()
                      ? onnxDataTypeName(in.type().tensor_type().elem_type())
                      : "not a tensor")
              << ")";
      return nullptr;
    }
    argTypes.push_back(t);
    argAttrs.push_back(ioAttrs(in.name(), inputDims[in.name()]));
    argNames.push_back(in.name());
  }
  auto func = func::FuncOp::create(b, fileLoc, "main",
                                   b.getFunctionType(argTypes, {}));
  func.setAllArgAttrs(argAttrs);
  Block *body = func.addEntryBlock();
  for (auto [name, arg] : llvm::zip(argNames, body->getArguments()))
    values[name] = arg;
  b.setInsertionPointToEnd(body);

  // Initializers, in file order.
  for (const auto &t : graph.initializer()) {
    ElementsAttr data = reader.readInitializer(t, fileLoc);
    if (!data)
      return nullptr;
    auto c = arith::ConstantOp::create(b, fileLoc, cast<TypedAttr>(data));
    c->setAttr("qqq.onnx_name", b.getStringAttr(t.name()));
    values[t.name()] = c.getResult();
  }

  if (options.raiseOps) {
    PlanContext pc{index,
                   b,
                   [&](StringRef n) { return typeOf(n); },
                   [&](StringRef n, Type t) { types[n] = t; },
                   [&](StringRef n) { return constantValue(n); },
                   [&](int i) { return nodeNames[i]; },
                   [&](int i) {
                     ScopedDiagnosticHandler silence(
                         ctx, [](Diagnostic &) { return success(); });
                     return convertAttributes(i);
                   }};
    plans = planRaising(pc, order);
    for (auto &kv : plans)
      for (int m : kv.second.members)
        planned.insert(m);
  }
  for (int i : order)
    if (failed(emitNode(i)))
      return nullptr;

  SmallVector<Value> results;
  SmallVector<Attribute> resAttrs;
  for (const auto &o : graph.output()) {
    auto it = values.find(o.name());
    if (it == values.end()) {
      error() << "graph output '" << o.name() << "' is not produced";
      return nullptr;
    }
    results.push_back(it->second);
    resAttrs.push_back(ioAttrs(o.name(), outputDims[o.name()]));
  }
  func::ReturnOp::create(b, fileLoc, results);
  func.setFunctionType(b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setAllResultAttrs(resAttrs);

  if (failed(verify(*module))) {
    error() << "the imported module does not verify (see above)";
    return nullptr;
  }
  return module;
}

OwningOpRef<ModuleOp> importModel(const onnx::ModelProto &model,
                                  StringRef name, StringRef baseDir,
                                  MLIRContext *ctx,
                                  const OnnxImportOptions &options) {
  loadOnnxImportDialects(ctx);
  GraphImporter importer(ctx, model, name, baseDir, options);
  return importer.run();
}

/// Parses with the total-bytes limit raised to the protobuf maximum (2 GB);
/// anything bigger must use external data.
bool parseModel(google::protobuf::io::ZeroCopyInputStream &stream,
                onnx::ModelProto &model) {
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
  return model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

} // namespace

OwningOpRef<ModuleOp> qqq::importOnnxModel(StringRef path, MLIRContext *ctx,
                                           const OnnxImportOptions &options) {
  Location loc = FileLineColLoc::get(ctx, path, 0, 0);
  std::string pathStr = path.str();
  int fd = ::open(pathStr.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    emitError(loc) << "cannot open ONNX model '" << path
                   << "': " << std::strerror(errno);
    return nullptr;
  }
  onnx::ModelProto model;
  bool parsed;
  {
    google::protobuf::io::FileInputStream stream(fd);
    stream.SetCloseOnDelete(true);
    parsed = parseModel(stream, model);
  }
  if (!parsed) {
    emitError(loc) << "'" << path
                   << "' is not a valid ONNX model (protobuf parse failed: "
                      "truncated, corrupt or not an ONNX file)";
    return nullptr;
  }
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  return importModel(model, path, dir, ctx, options);
}

OwningOpRef<ModuleOp>
qqq::importOnnxModelFromBuffer(StringRef bytes, StringRef bufferName,
                               StringRef baseDir, MLIRContext *ctx,
                               const OnnxImportOptions &options) {
  Location loc = FileLineColLoc::get(ctx, bufferName, 0, 0);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    emitError(loc) << "'" << bufferName
                   << "' is larger than 2 GB; import it from its file";
    return nullptr;
  }
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream stream(bytes.data(),
                                                static_cast<int>(bytes.size()));
  if (!parseModel(stream, model)) {
    emitError(loc) << "'" << bufferName
                   << "' is not a valid ONNX model (protobuf parse failed: "
                      "truncated, corrupt or not an ONNX file)";
    return nullptr;
  }
  return importModel(model, bufferName, baseDir, ctx, options);
}
