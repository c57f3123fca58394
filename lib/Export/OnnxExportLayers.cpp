//===- OnnxExportLayers.cpp - qqq.linear / qqq.rms_norm -> ONNX ops ---------===//
//
// Writes back the ONNX form a layer was imported from (its `qqq.onnx_*`
// attributes), with the op's current weight, bias, gamma and epsilon, so an
// unchanged model exports to the same nodes and computes bit-identical
// results. Layers without a recorded form (made by passes) export as
// MatMul(+Add) and as the decomposed RMSNorm chain of standard ops.
//
//===----------------------------------------------------------------------===//
#include "OnnxExporter.h"
#include "qqq/Import/OnnxTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace qqq;
using namespace qqq::onnx_export;

static std::string strOr(DictionaryAttr d, StringRef key, StringRef fallback) {
  if (d)
    if (auto s = d.getAs<StringAttr>(key))
      return s.getValue().str();
  return fallback.str();
}

static bool boolOr(DictionaryAttr d, StringRef key, bool fallback) {
  if (d)
    if (auto b = d.getAs<BoolAttr>(key))
      return b.getValue();
  return fallback;
}

LogicalResult Exporter::exportLinear(LinearOp op) {
  Builder b(op.getContext());
  std::string x = getValueName(op.getInput());
  std::string w = getValueName(op.getWeight());
  std::string layer = op.getLayerName().str();
  auto outAttr = op->getAttrOfType<StringAttr>("qqq.onnx_output");
  std::string out = defineValue(op.getResult(),
                                outAttr ? outAttr.getValue() : StringRef(layer + "_out"));
  std::string form = op->hasAttr("qqq.onnx_form")
                         ? op->getAttrOfType<StringAttr>("qqq.onnx_form").getValue().str()
                         : "MatMul";
  auto inputType = cast<RankedTensorType>(op.getInput().getType());

  if (form == "Gemm" && inputType.getRank() == 2) {
    SmallVector<NamedAttribute> attrs;
    if (auto saved = op->getAttrOfType<DictionaryAttr>("qqq.onnx_attrs"))
      for (NamedAttribute a : saved)
        if (a.getName() != "transB")
          attrs.push_back(a);
    auto saved = op->getAttrOfType<DictionaryAttr>("qqq.onnx_attrs");
    if (!op.getWeightKn() || (saved && saved.get("transB")))
      attrs.push_back(b.getNamedAttr("transB",
                                     b.getI64IntegerAttr(op.getWeightKn() ? 0 : 1)));
    SmallVector<std::string> inputs{x, w};
    if (op.getBias())
      inputs.push_back(getValueName(op.getBias()));
    return addNode("Gemm", inputs, {out}, layer, b.getDictionaryAttr(attrs));
  }

  // MatMul(x, W_kn) or MatMul(x, Transpose(W_nk)), then Add(bias).
  std::string weightKN = w;
  if (!op.getWeightKn()) {
    auto t = op->getAttrOfType<DictionaryAttr>("qqq.onnx_transpose");
    weightKN = makeUniqueName(strOr(t, "output", w + "_transposed"));
    if (failed(addNode("Transpose", {w}, {weightKN},
                       strOr(t, "node", layer + "_transpose"),
                       b.getDictionaryAttr({b.getNamedAttr(
                           "perm", b.getDenseI64ArrayAttr({1, 0}))}))))
      return failure();
  }
  if (!op.getBias())
    return addNode("MatMul", {x, weightKN}, {out}, layer);
  auto add = op->getAttrOfType<DictionaryAttr>("qqq.onnx_bias_add");
  std::string mm = makeUniqueName(strOr(add, "matmul_output", layer + "_matmul"));
  if (failed(addNode("MatMul", {x, weightKN}, {mm}, layer)))
    return failure();
  std::string bias = getValueName(op.getBias());
  bool biasFirst = boolOr(add, "bias_first", false);
  SmallVector<std::string> addIn =
      biasFirst ? SmallVector<std::string>{bias, mm} : SmallVector<std::string>{mm, bias};
  return addNode("Add", addIn, {out}, strOr(add, "node", layer + "_bias"));
}

LogicalResult Exporter::exportRMSNorm(RMSNormOp op) {
  Builder b(op.getContext());
  auto outAttr = op->getAttrOfType<StringAttr>("qqq.onnx_output");
  auto nodeAttr = op->getAttrOfType<StringAttr>("qqq.onnx_node_name");
  std::string nodeName = nodeAttr ? nodeAttr.getValue().str() : makeUniqueName("rms_norm");
  std::string out = defineValue(
      op.getResult(), outAttr ? outAttr.getValue() : StringRef(nodeName + "_out"));
  std::string form = op->hasAttr("qqq.onnx_form")
                         ? op->getAttrOfType<StringAttr>("qqq.onnx_form").getValue().str()
                         : "decomposed";
  float eps = op.getEpsilon().convertToFloat();
  if (form == "SimplifiedLayerNormalization" || form == "RMSNormalization") {
    SmallVector<NamedAttribute> attrs;
    bool hadEps = false;
    if (auto saved = op->getAttrOfType<DictionaryAttr>("qqq.onnx_attrs"))
      for (NamedAttribute a : saved) {
        if (a.getName() == "epsilon") {
          hadEps = true;
          auto f = cast<FloatAttr>(a.getValue());
          attrs.push_back(static_cast<float>(f.getValueAsDouble()) == eps
                              ? a
                              : b.getNamedAttr("epsilon", b.getF32FloatAttr(eps)));
        } else {
          attrs.push_back(a);
        }
      }
    if (!hadEps && eps != 1e-5f)
      attrs.push_back(b.getNamedAttr("epsilon", b.getF32FloatAttr(eps)));
    auto domain = op->getAttrOfType<StringAttr>("qqq.onnx_domain");
    return addNode(form,
                   {getValueName(op.getInput()), getValueName(op.getGamma())},
                   {out}, nodeName, b.getDictionaryAttr(attrs),
                   domain ? domain.getValue() : "");
  }
  return exportDecomposedNorm(op, op->getAttrOfType<DictionaryAttr>("qqq.onnx_chain"),
                              out);
}

/// A scalar-shaped tensor of `like`'s type holding `value`.
static DenseElementsAttr scalarLike(ShapedType like, double value) {
  return DenseElementsAttr::get(like, FloatAttr::get(like.getElementType(), value));
}

LogicalResult Exporter::exportDecomposedNorm(RMSNormOp op, DictionaryAttr chain,
                                             const std::string &output) {
  Builder b(op.getContext());
  auto xType = cast<RankedTensorType>(op.getInput().getType());
  std::optional<int64_t> castIn, castOut;
  if (chain)
    if (auto c = chain.getAs<IntegerAttr>("cast_in"))
      castIn = c.getInt();
  if (chain)
    if (auto c = chain.getAs<IntegerAttr>("cast_out"))
      castOut = c.getInt();
  std::string square = strOr(chain, "square", "Pow");
  std::string normalize = strOr(chain, "normalize", "Div");

  // The recorded node and value names, in chain order.
  SmallVector<std::string> nodeNames, valueNames;
  if (chain) {
    if (auto a = chain.getAs<ArrayAttr>("nodes"))
      for (Attribute s : a)
        nodeNames.push_back(cast<StringAttr>(s).getValue().str());
    if (auto a = chain.getAs<ArrayAttr>("values"))
      for (Attribute s : a)
        valueNames.push_back(cast<StringAttr>(s).getValue().str());
  }
  size_t steps = 5 + (castIn ? 1 : 0) + (castOut ? 1 : 0) +
                 (normalize == "Reciprocal" ? 1 : 0) + 1;
  auto base = op->getAttrOfType<StringAttr>("qqq.onnx_node_name");
  std::string prefix = base ? base.getValue().str() : "rms_norm";
  size_t step = 0;
  auto emit = [&](StringRef opType, SmallVector<std::string> inputs,
                  DictionaryAttr attrs = {}) -> std::string {
    size_t i = step++;
    std::string node = nodeNames.size() == steps ? nodeNames[i]
                                                 : prefix + "/" + opType.str();
    std::string out =
        i + 1 == steps ? output
                       : makeUniqueName(valueNames.size() == steps - 1
                                            ? valueNames[i]
                                            : prefix + "/" + opType.str() + "_out");
    if (failed(addNode(opType, inputs, {out}, node, attrs)))
      failed_ = true;
    return out;
  };

  std::string x0 = getValueName(op.getInput());
  RankedTensorType computeType = xType;
  if (castIn) {
    x0 = emit("Cast", {x0}, b.getDictionaryAttr({b.getNamedAttr(
                                "to", b.getI64IntegerAttr(*castIn))}));
    computeType = RankedTensorType::get(
        xType.getShape(), onnxElementType(*castIn, op.getContext()));
  }
  auto scalarType = RankedTensorType::get({}, computeType.getElementType());
  std::string sq;
  if (square == "Mul") {
    sq = emit("Mul", {x0, x0});
  } else {
    ElementsAttr exponent = chain ? chain.getAs<ElementsAttr>("exponent") : nullptr;
    if (!exponent)
      exponent = scalarLike(scalarType, 2.0);
    sq = emit("Pow", {x0, addInitializer(prefix + "/exponent", exponent)});
  }
  DictionaryAttr reduceAttrs = chain ? chain.getAs<DictionaryAttr>("reduce_attrs") : nullptr;
  ElementsAttr axes = chain ? chain.getAs<ElementsAttr>("axes") : nullptr;
  SmallVector<std::string> rmIn{sq};
  if (!chain) {
    // Opset 18 moved ReduceMean's axes from an attribute to an input.
    if (defaultOpset() >= 18)
      axes = DenseElementsAttr::get(RankedTensorType::get({1}, b.getI64Type()),
                                    ArrayRef<int64_t>{-1});
    else
      reduceAttrs = b.getDictionaryAttr(
          {b.getNamedAttr("axes", b.getDenseI64ArrayAttr({-1})),
           b.getNamedAttr("keepdims", b.getI64IntegerAttr(1))});
  }
  if (axes)
    rmIn.push_back(addInitializer(prefix + "/axes", axes));
  std::string mean = emit("ReduceMean", rmIn, reduceAttrs);

  // Epsilon: the recorded tensor if the op's value is unchanged.
  ElementsAttr epsAttr = chain ? chain.getAs<ElementsAttr>("eps") : nullptr;
  float eps = op.getEpsilon().convertToFloat();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(epsAttr)) {
    APFloat v = *dense.value_begin<APFloat>();
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    if (v.convertToFloat() != eps)
      epsAttr = scalarLike(cast<ShapedType>(dense.getType()), eps);
  } else {
    epsAttr = scalarLike(scalarType, eps);
  }
  std::string epsName = addInitializer(prefix + "/epsilon", epsAttr);
  bool epsFirst = boolOr(chain, "eps_first", false);
  std::string sum = emit("Add", epsFirst ? SmallVector<std::string>{epsName, mean}
                                         : SmallVector<std::string>{mean, epsName});
  std::string root = emit("Sqrt", {sum});
  std::string normed;
  if (normalize == "Reciprocal") {
    std::string r = emit("Reciprocal", {root});
    normed = emit("Mul", boolOr(chain, "reciprocal_first", false)
                             ? SmallVector<std::string>{r, x0}
                             : SmallVector<std::string>{x0, r});
  } else {
    normed = emit("Div", {x0, root});
  }
  if (castOut)
    normed = emit("Cast", {normed}, b.getDictionaryAttr({b.getNamedAttr(
                                        "to", b.getI64IntegerAttr(*castOut))}));
  std::string gamma = getValueName(op.getGamma());
  emit("Mul", boolOr(chain, "gamma_first", false)
                  ? SmallVector<std::string>{gamma, normed}
                  : SmallVector<std::string>{normed, gamma});
  return failure(failed_);
}
