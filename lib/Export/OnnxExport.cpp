//===- OnnxExport.cpp - MLIR (qqq dialect) -> ONNX model --------------------===//
//
// Walks `func.func @main` in order and writes one ONNX graph: arguments are
// graph inputs, constants initializers, `qqq.onnx_node` its node verbatim,
// `qqq.linear`/`qqq.rms_norm` the standard ONNX ops they were imported from
// (the `qqq.onnx_*` attributes say which; lib/Export/OnnxExportLayers.cpp),
// and other ops go through the hooks of `registerOpExporter`. Big
// initializers go to `<model>.data`; both files are written to a temporary
// file and renamed.
//
//===----------------------------------------------------------------------===//
#include "qqq/Export/OnnxExport.h"

#include "OnnxExporter.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Import/OnnxTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/Error.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace qqq;
using namespace qqq::onnx_export;

static llvm::StringMap<OpExporterFn> &hookRegistry() {
  static llvm::StringMap<OpExporterFn> registry;
  return registry;
}

void qqq::registerOpExporter(StringRef opName, OpExporterFn fn) {
  hookRegistry()[opName] = std::move(fn);
}

//===----------------------------------------------------------------------===//
// Names, tensors, attributes
//===----------------------------------------------------------------------===//

std::string Exporter::makeUniqueName(StringRef hint) {
  std::string base = hint.empty() ? std::string("v") : hint.str();
  if (!usedNames.contains(base)) {
    usedNames.insert(base);
    return base;
  }
  for (unsigned i = 1;; ++i) {
    std::string name = base + "_" + std::to_string(i);
    if (!usedNames.contains(name)) {
      usedNames.insert(name);
      return name;
    }
  }
}

std::string Exporter::getValueName(Value value) {
  if (isa<NoneType>(value.getType()) && value.getDefiningOp<NoneOp>())
    return "";
  auto it = names.find(value);
  if (it != names.end())
    return it->second;
  // Constants become initializers when a node first uses them, so constants
  // a hook reads from directly (or nothing uses) leave no dead initializer.
  if (auto c = value.getDefiningOp<arith::ConstantOp>())
    if (auto data = dyn_cast<ElementsAttr>(c.getValue())) {
      auto name = c->getAttrOfType<StringAttr>("qqq.onnx_name");
      std::string n = addInitializer(name ? name.getValue() : "const", data);
      names[value] = n;
      return n;
    }
  return std::string();
}

void Exporter::setValueName(Value value, StringRef name) {
  names[value] = name.str();
  valueOrder.push_back({value, name.str()});
  usedNames.insert(name);
}

std::string Exporter::defineValue(Value value, StringRef preferred) {
  // A returned value takes the graph output's name, so no Identity is needed.
  auto out = outputNames.find(value);
  if (out != outputNames.end() && !usedNames.contains(out->second))
    preferred = out->second;
  std::string name = makeUniqueName(preferred.empty() ? "v" : preferred);
  names[value] = name;
  valueOrder.push_back({value, name});
  return name;
}

void Exporter::requireOpset(StringRef domain, int64_t version) {
  for (auto &op : *model.mutable_opset_import())
    if (op.domain() == domain ||
        ((domain.empty() || domain == "ai.onnx") &&
         (op.domain().empty() || op.domain() == "ai.onnx"))) {
      if (op.version() < version) {
        // Other nodes keep the form of the old version; ONNX changed some
        // operators' inputs between versions (e.g. ReduceMean at 18).
        if (op.domain().empty() || op.domain() == "ai.onnx")
          emitWarning(module.getLoc())
              << "raising the model's default opset from " << op.version()
              << " to " << version << "; existing nodes are not converted";
        op.set_version(version);
      }
      return;
    }
  auto *op = model.add_opset_import();
  op->set_domain(domain.str());
  op->set_version(version);
}

int64_t Exporter::defaultOpset() {
  for (const auto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      return op.version();
  return 0;
}

LogicalResult Exporter::tensorBytes(ElementsAttr value, Location loc,
                                    ArrayRef<char> &bytes) {
  auto type = cast<ShapedType>(value.getType());
  int64_t expected = type.getNumElements() * onnxElementBytes(type.getElementType());
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob) {
      emitError(loc) << "the data of resource '" << res.getRawHandle().getKey()
                     << "' is missing (was it elided when printing?)";
      return failure();
    }
    bytes = blob->getData();
  } else if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (type.getElementType().isInteger(1) || dense.isSplat()) {
      owned.emplace_back();
      std::vector<char> &buf = owned.back();
      if (type.getElementType().isInteger(1)) {
        for (bool v : dense.getValues<bool>())
          buf.push_back(v ? 1 : 0);
      } else {
        ArrayRef<char> one = dense.getRawData();
        for (int64_t i = 0, e = type.getNumElements(); i < e; ++i)
          buf.insert(buf.end(), one.begin(), one.end());
      }
      bytes = ArrayRef<char>(buf.data(), buf.size());
    } else {
      bytes = dense.getRawData();
    }
  } else {
    emitError(loc) << "cannot export constant of kind " << value;
    return failure();
  }
  if (static_cast<int64_t>(bytes.size()) != expected) {
    emitError(loc) << "constant holds " << bytes.size() << " bytes but "
                   << type << " needs " << expected;
    return failure();
  }
  return success();
}

LogicalResult Exporter::fillTensor(onnx::TensorProto &t, ElementsAttr value,
                                   Location loc, bool allowExternal) {
  auto type = cast<ShapedType>(value.getType());
  int32_t dt = onnxDataType(type.getElementType());
  if (dt == 0) {
    emitError(loc) << "tensor '" << t.name() << "' has element type "
                   << type.getElementType() << ", which ONNX cannot hold";
    return failure();
  }
  t.set_data_type(dt);
  for (int64_t d : type.getShape())
    t.add_dims(d);
  ArrayRef<char> bytes;
  if (failed(tensorBytes(value, loc, bytes)))
    return failure();
  if (allowExternal && options.externalDataThreshold > 0 &&
      bytes.size() >= options.externalDataThreshold) {
    // 64-byte aligned, so readers may map the tensors in place.
    externalSize = (externalSize + 63) / 64 * 64;
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char *k, const std::string &v) {
      auto *e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", dataFileName);
    add("offset", std::to_string(externalSize));
    add("length", std::to_string(bytes.size()));
    externalChunks.push_back({externalSize, bytes});
    externalSize += bytes.size();
  } else {
    t.set_raw_data(bytes.data(), bytes.size());
  }
  return success();
}

std::string Exporter::addInitializer(StringRef nameHint, ElementsAttr value) {
  std::string name = makeUniqueName(nameHint.empty() ? "const" : nameHint);
  onnx::TensorProto *t = graph->add_initializer();
  t->set_name(name);
  if (failed(fillTensor(*t, value, module.getLoc(), /*allowExternal=*/true)))
    failed_ = true;
  return name;
}

LogicalResult Exporter::convertAttribute(onnx::AttributeProto &a,
                                         Attribute value, Location loc) {
  using AP = onnx::AttributeProto;
  if (auto i = dyn_cast<IntegerAttr>(value)) {
    a.set_type(AP::INT);
    a.set_i(i.getType().isInteger(1) ? (i.getValue().getBoolValue() ? 1 : 0)
                                     : i.getValue().getSExtValue());
  } else if (auto f = dyn_cast<FloatAttr>(value)) {
    a.set_type(AP::FLOAT);
    a.set_f(static_cast<float>(f.getValueAsDouble()));
  } else if (auto s = dyn_cast<StringAttr>(value)) {
    a.set_type(AP::STRING);
    a.set_s(s.getValue().str());
  } else if (auto ints = dyn_cast<DenseI64ArrayAttr>(value)) {
    a.set_type(AP::INTS);
    for (int64_t v : ints.asArrayRef())
      a.add_ints(v);
  } else if (auto floats = dyn_cast<DenseF32ArrayAttr>(value)) {
    a.set_type(AP::FLOATS);
    for (float v : floats.asArrayRef())
      a.add_floats(v);
  } else if (auto t = dyn_cast<ElementsAttr>(value)) {
    a.set_type(AP::TENSOR);
    return fillTensor(*a.mutable_t(), t, loc, /*allowExternal=*/false);
  } else if (auto list = dyn_cast<ArrayAttr>(value)) {
    if (list.empty() || llvm::all_of(list, llvm::IsaPred<StringAttr>)) {
      a.set_type(AP::STRINGS);
      for (Attribute s : list)
        a.add_strings(cast<StringAttr>(s).getValue().str());
    } else if (llvm::all_of(list, llvm::IsaPred<IntegerAttr>)) {
      a.set_type(AP::INTS);
      for (Attribute v : list)
        a.add_ints(cast<IntegerAttr>(v).getValue().getSExtValue());
    } else if (llvm::all_of(list, llvm::IsaPred<FloatAttr>)) {
      a.set_type(AP::FLOATS);
      for (Attribute v : list)
        a.add_floats(cast<FloatAttr>(v).getValueAsDouble());
    } else if (llvm::all_of(list, llvm::IsaPred<ElementsAttr>)) {
      a.set_type(AP::TENSORS);
      for (Attribute v : list)
        if (failed(fillTensor(*a.add_tensors(), cast<ElementsAttr>(v), loc,
                              /*allowExternal=*/false)))
          return failure();
    } else {
      emitError(loc) << "attribute '" << a.name()
                     << "' is a list of mixed kinds: " << value;
      return failure();
    }
  } else {
    emitError(loc) << "attribute '" << a.name() << "' (" << value
                   << ") has no ONNX equivalent";
    return failure();
  }
  return success();
}

LogicalResult Exporter::addNode(StringRef opType, ArrayRef<std::string> inputs,
                                ArrayRef<std::string> outputs,
                                StringRef nodeName, DictionaryAttr attributes,
                                StringRef domain) {
  onnx::NodeProto *n = graph->add_node();
  n->set_op_type(opType.str());
  if (!nodeName.empty())
    n->set_name(nodeName.str());
  if (!domain.empty())
    n->set_domain(domain.str());
  for (const auto &in : inputs)
    n->add_input(in);
  for (const auto &out : outputs)
    n->add_output(out);
  if (attributes)
    for (NamedAttribute na : attributes) {
      onnx::AttributeProto *a = n->add_attribute();
      a->set_name(na.getName().str());
      if (failed(convertAttribute(*a, na.getValue(), module.getLoc()))) {
        emitError(module.getLoc()) << "in node '" << nodeName << "' ("
                                   << opType << ")";
        return failure();
      }
    }
  return success();
}

/// Writes `type` into a ValueInfoProto type; false for types ONNX cannot
/// describe (unknown types are left out of value_info).
static bool fillType(onnx::TypeProto &proto, Type type, ArrayAttr dimNames) {
  auto shaped = dyn_cast<TensorType>(type);
  if (!shaped)
    return false;
  int32_t dt = onnxDataType(shaped.getElementType());
  if (!dt)
    return false;
  auto *tt = proto.mutable_tensor_type();
  tt->set_elem_type(dt);
  if (!shaped.hasRank())
    return true;
  auto *shape = tt->mutable_shape();
  for (int64_t i = 0, e = shaped.getRank(); i < e; ++i) {
    auto *dim = shape->add_dim();
    int64_t d = shaped.getDimSize(i);
    if (!ShapedType::isDynamic(d))
      dim->set_dim_value(d);
    else if (dimNames && static_cast<int64_t>(dimNames.size()) == e)
      if (auto s = dyn_cast<StringAttr>(dimNames[i]); s && !s.empty())
        dim->set_dim_param(s.getValue().str());
  }
  return true;
}

//===----------------------------------------------------------------------===//
// The walk
//===----------------------------------------------------------------------===//

void Exporter::setModelFields() {
  auto intAttr = [&](StringRef n) { return module->getAttrOfType<IntegerAttr>(n); };
  auto strAttr = [&](StringRef n) {
    auto s = module->getAttrOfType<StringAttr>(n);
    return s ? s.getValue().str() : std::string();
  };
  model.set_ir_version(intAttr("qqq.onnx_ir_version")
                           ? intAttr("qqq.onnx_ir_version").getInt()
                           : 8);
  if (auto opsets = module->getAttrOfType<ArrayAttr>("qqq.onnx_opset_import")) {
    for (Attribute a : opsets) {
      auto pair = dyn_cast<ArrayAttr>(a);
      if (!pair || pair.size() != 2)
        continue;
      auto *op = model.add_opset_import();
      op->set_domain(cast<StringAttr>(pair[0]).getValue().str());
      op->set_version(cast<IntegerAttr>(pair[1]).getInt());
    }
  }
  if (defaultOpset() == 0)
    requireOpset("", 17);
  model.set_producer_name(module->hasAttr("qqq.onnx_producer_name")
                              ? strAttr("qqq.onnx_producer_name")
                              : "qqq");
  if (module->hasAttr("qqq.onnx_producer_version"))
    model.set_producer_version(strAttr("qqq.onnx_producer_version"));
  if (module->hasAttr("qqq.onnx_model_domain"))
    model.set_domain(strAttr("qqq.onnx_model_domain"));
  if (module->hasAttr("qqq.onnx_doc_string"))
    model.set_doc_string(strAttr("qqq.onnx_doc_string"));
  if (auto v = intAttr("qqq.onnx_model_version"))
    model.set_model_version(v.getInt());
  if (auto props = module->getAttrOfType<ArrayAttr>("qqq.onnx_metadata_props"))
    for (Attribute a : props)
      if (auto pair = dyn_cast<ArrayAttr>(a); pair && pair.size() == 2) {
        auto *p = model.add_metadata_props();
        p->set_key(cast<StringAttr>(pair[0]).getValue().str());
        p->set_value(cast<StringAttr>(pair[1]).getValue().str());
      }
  graph->set_name(module->hasAttr("qqq.onnx_graph_name")
                      ? strAttr("qqq.onnx_graph_name")
                      : "main");
  if (module->hasAttr("qqq.onnx_graph_doc_string"))
    graph->set_doc_string(strAttr("qqq.onnx_graph_doc_string"));
}

LogicalResult Exporter::exportOnnxNode(OnnxNodeOp op) {
  SmallVector<std::string> inputs, outputs;
  for (Value v : op.getInputs())
    inputs.push_back(getValueName(v));
  auto outNames = op->getAttrOfType<ArrayAttr>("qqq.onnx_outputs");
  for (auto [i, r] : llvm::enumerate(op.getOutputs())) {
    std::string preferred;
    if (outNames && outNames.size() == op.getNumResults())
      preferred = cast<StringAttr>(outNames[i]).getValue().str();
    if (preferred.empty() && isa<NoneType>(r.getType()) && r.use_empty() &&
        outNames) {
      outputs.push_back(""); // an absent optional output
      continue;
    }
    outputs.push_back(defineValue(
        r, preferred.empty() ? op.getNodeName().str() + "_out" : preferred));
  }
  std::string nodeName = op->hasAttr("qqq.onnx_unnamed") ? "" : op.getNodeName().str();
  return addNode(op.getOpType(), inputs, outputs, nodeName, op.getOnnxAttrs(),
                 op.getDomain());
}

LogicalResult Exporter::exportOp(Operation *op) {
  auto hook = hookRegistry().find(op->getName().getStringRef());
  if (hook != hookRegistry().end())
    return hook->second(op, *this);
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    // Written when first used (getValueName); unused ones are dropped.
    // Index constants that only say which dimension a tensor.dim reads
    // need no ONNX value (see exportDim).
    bool onlyDims = llvm::all_of(op->getUsers(), [](Operation *u) {
      return isa<tensor::DimOp>(u);
    });
    if (!isa<ElementsAttr>(c.getValue()) && !(onlyDims && !op->use_empty()))
      return op->emitError("only tensor constants can be exported to ONNX");
    return success();
  }
  if (isa<NoneOp>(op))
    return success();
  if (auto n = dyn_cast<OnnxNodeOp>(op))
    return exportOnnxNode(n);
  if (auto l = dyn_cast<LinearOp>(op))
    return exportLinear(l);
  if (auto r = dyn_cast<RMSNormOp>(op))
    return exportRMSNorm(r);
  if (auto s = dyn_cast<tensor::ExtractSliceOp>(op))
    return exportExtractSlice(s);
  if (auto d = dyn_cast<tensor::DimOp>(op))
    return exportDim(d);
  return op->emitError() << "'" << op->getName()
                         << "' cannot be exported to ONNX (no exporter is "
                            "registered for it)";
}

LogicalResult Exporter::run() {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main || main.isExternal())
    return module.emitError("export needs a 'func.func @main' with a body");
  setModelFields();
  Operation *returnOp = main.getBody().front().getTerminator();
  for (auto [i, v] : llvm::enumerate(returnOp->getOperands()))
    if (auto wanted = main.getResultAttrOfType<StringAttr>(i, "qqq.onnx_name"))
      outputNames.try_emplace(v, wanted.getValue().str());

  // Arguments -> graph inputs.
  for (BlockArgument arg : main.getArguments()) {
    auto name = main.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "qqq.onnx_name");
    std::string n = defineValue(
        arg, name ? name.getValue() : "input_" + std::to_string(arg.getArgNumber()));
    auto *vi = graph->add_input();
    vi->set_name(n);
    if (!fillType(*vi->mutable_type(), arg.getType(),
                  main.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "qqq.onnx_dims")))
      return main.emitError() << "argument " << arg.getArgNumber() << " ('" << n
                              << "') has type " << arg.getType()
                              << ", which ONNX cannot describe";
  }
  Operation *terminator = main.getBody().front().getTerminator();
  for (Operation &op : main.getBody().front().without_terminator())
    if (failed(exportOp(&op)) || failed_)
      return failure();

  // Returned values -> graph outputs (an Identity where the name must differ).
  llvm::StringSet<> emittedOutputs;
  for (auto [i, v] : llvm::enumerate(terminator->getOperands())) {
    auto wanted = main.getResultAttrOfType<StringAttr>(i, "qqq.onnx_name");
    std::string have = getValueName(v);
    if (have.empty())
      return main.emitError() << "result " << i << " has no ONNX value";
    std::string out = have;
    bool isInput = isa<BlockArgument>(v);
    if ((wanted && wanted.getValue() != have) || emittedOutputs.contains(have) ||
        isInput) {
      if (wanted && wanted.getValue() == have && isInput)
        out = have; // ONNX allows an input to be an output directly
      else {
        out = makeUniqueName(wanted ? wanted.getValue() : StringRef("output"));
        if (failed(addNode("Identity", {have}, {out}, out + "_identity")))
          return failure();
      }
    }
    emittedOutputs.insert(out);
    auto *vi = graph->add_output();
    vi->set_name(out);
    // An output of unknown type (`none`, see docs/onnx.md) keeps no type, as
    // in the model it was imported from.
    if (!isa<NoneType>(v.getType()) &&
        !fillType(*vi->mutable_type(), v.getType(),
                  main.getResultAttrOfType<ArrayAttr>(i, "qqq.onnx_dims")))
      return main.emitError() << "result " << i << " ('" << out << "') has type "
                              << v.getType() << ", which ONNX cannot describe";
  }

  // value_info for every intermediate value of a known type.
  llvm::StringSet<> skip = emittedOutputs;
  for (const auto &in : graph->input())
    skip.insert(in.name());
  for (const auto &t : graph->initializer())
    skip.insert(t.name());
  for (const auto &[value, name] : valueOrder) {
    if (name.empty() || skip.contains(name))
      continue;
    onnx::ValueInfoProto vi;
    if (fillType(*vi.mutable_type(), value.getType(), nullptr)) {
      vi.set_name(name);
      *graph->add_value_info() = vi;
      skip.insert(name);
    }
  }
  return failure(failed_);
}

LogicalResult Exporter::write(StringRef outputPath) {
  if (!externalChunks.empty()) {
    SmallString<256> dataPath(outputPath);
    llvm::sys::path::remove_filename(dataPath);
    llvm::sys::path::append(dataPath, dataFileName);
    llvm::Error err = llvm::writeToOutput(dataPath, [&](raw_ostream &os) {
      uint64_t pos = 0;
      for (const auto &chunk : externalChunks) {
        os.write_zeros(chunk.offset - pos);
        os.write(chunk.bytes.data(), chunk.bytes.size());
        pos = chunk.offset + chunk.bytes.size();
      }
      return llvm::Error::success();
    });
    if (err) {
      emitError(module.getLoc()) << "cannot write external data '" << dataPath
                                 << "': " << llvm::toString(std::move(err));
      return failure();
    }
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    emitError(module.getLoc()) << "cannot serialize the ONNX model (over 2 GB "
                                  "inline? lower the external data threshold)";
    return failure();
  }
  llvm::Error err = llvm::writeToOutput(outputPath, [&](raw_ostream &os) {
    os << bytes;
    return llvm::Error::success();
  });
  if (err) {
    emitError(module.getLoc()) << "cannot write '" << outputPath
                               << "': " << llvm::toString(std::move(err));
    return failure();
  }
  return success();
}

LogicalResult qqq::exportOnnxModel(ModuleOp module, StringRef outputPath,
                                   const OnnxExportOptions &options) {
  OnnxExportOptions opts = options;
  if (outputPath == "-")
    opts.externalDataThreshold = 0; // no place for a data file next to stdout
  Exporter exporter(module, opts,
                    llvm::sys::path::filename(outputPath).str() + ".data");
  if (failed(exporter.run()))
    return failure();
  return exporter.write(outputPath);
}
