//===- OnnxPatterns.cpp - which ONNX node groups become qqq ops -------------===//
//
// Linear layers: MatMul(x, W) with W an initializer (K x N, kept as is with
// `weight_kn`) or Transpose(W) of an N x K initializer; Gemm(x, W, c) with
// default alpha/beta/transA; an Add of a 1-D initializer after a MatMul is
// its bias. RMSNorm: SimplifiedLayerNormalization, RMSNormalization and the
// decomposed chain
//   [Cast] Pow(x,2)|Mul(x,x) ReduceMean(-1) Add(eps) Sqrt
//   Div(x, .)|Mul(x, Reciprocal(.)) [Cast] Mul(., gamma)
// Each group records what export needs to write the same nodes back
// (`qqq.onnx_*` attributes; docs/onnx.md lists them).
//
//===----------------------------------------------------------------------===//
#include "OnnxGraph.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace qqq;
using namespace qqq::onnx_import;

GraphIndex::GraphIndex(const onnx::GraphProto &graph) : graph(graph) {
  for (const auto &t : graph.initializer())
    initializers[t.name()] = &t;
  for (int i = 0, e = graph.node_size(); i < e; ++i) {
    const auto &n = graph.node(i);
    for (const auto &out : n.output())
      if (!out.empty())
        producer[out] = i;
    for (const auto &in : n.input()) {
      if (in.empty())
        continue;
      auto &list = consumers[in];
      if (list.empty() || list.back() != i)
        list.push_back(i);
    }
  }
  for (const auto &o : graph.output())
    graphOutputs.insert(o.name());
}

int GraphIndex::useCount(StringRef value) const {
  int n = graphOutputs.contains(value) ? 1 : 0;
  auto it = consumers.find(value);
  if (it != consumers.end())
    n += it->second.size();
  return n;
}

int GraphIndex::producerIndex(StringRef value) const {
  auto it = producer.find(value);
  return it == producer.end() ? -1 : it->second;
}

const onnx::NodeProto *GraphIndex::producerOf(StringRef value,
                                              StringRef opType) const {
  int i = producerIndex(value);
  if (i < 0)
    return nullptr;
  const auto &n = graph.node(i);
  if (n.op_type() != opType || !(n.domain().empty() || n.domain() == "ai.onnx"))
    return nullptr;
  return &n;
}

namespace {

bool isFloatType(Type t) { return t && (t.isF32() || t.isF16() || t.isBF16()); }

RankedTensorType rankedFloat(Type t) {
  auto r = dyn_cast_or_null<RankedTensorType>(t);
  return r && isFloatType(r.getElementType()) ? r : nullptr;
}

const onnx::AttributeProto *findAttr(const onnx::NodeProto &n, StringRef name) {
  for (const auto &a : n.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

/// The value of a scalar constant as double, if it is one.
std::optional<double> scalarValue(DenseElementsAttr attr) {
  if (!attr || attr.getNumElements() != 1)
    return std::nullopt;
  Type et = attr.getElementType();
  if (isa<FloatType>(et)) {
    APFloat v = *attr.value_begin<APFloat>();
    bool lost = false;
    v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    return v.convertToDouble();
  }
  if (isa<IntegerType>(et) && !et.isInteger(1))
    return static_cast<double>((*attr.value_begin<APInt>()).getSExtValue());
  return std::nullopt;
}

class Planner {
public:
  Planner(PlanContext &ctx) : ctx(ctx), idx(ctx.index), b(ctx.builder) {}

  DenseMap<int, RaisedOp> run(ArrayRef<int> order) {
    for (int i : order) {
      if (claimed.count(i))
        continue;
      const auto &n = idx.graph.node(i);
      bool dflt = n.domain().empty() || n.domain() == "ai.onnx";
      std::optional<RaisedOp> r;
      if (dflt && n.op_type() == "MatMul")
        r = matchMatMul(i);
      else if (dflt && n.op_type() == "Gemm")
        r = matchGemm(i);
      else if (n.op_type() == "SimplifiedLayerNormalization" ||
               (dflt && n.op_type() == "RMSNormalization"))
        r = matchFusedNorm(i);
      else if (dflt && n.op_type() == "Mul")
        r = matchDecomposedNorm(i);
      if (!r)
        continue;
      for (int m : r->members)
        claimed.insert(m);
      ctx.setType(r->output, r->resultType);
      plans[r->root] = std::move(*r);
    }
    return std::move(plans);
  }

private:
  NamedAttribute attr(StringRef name, Attribute value) {
    return b.getNamedAttr(name, value);
  }
  bool free(int node) const { return node >= 0 && !claimed.count(node); }
  bool isInternal(StringRef value, int uses) const {
    return !idx.graphOutputs.contains(value) && idx.useCount(value) == uses;
  }
  /// A 2-D float initializer.
  RankedTensorType weightType(StringRef name) {
    if (!idx.initializers.count(name))
      return nullptr;
    auto t = rankedFloat(ctx.typeOf(name));
    return t && t.getRank() == 2 ? t : nullptr;
  }
  /// A 1-D initializer of `extent` elements of type `et`.
  bool isVector(StringRef name, int64_t extent, Type et) {
    if (!idx.initializers.count(name))
      return false;
    auto t = rankedFloat(ctx.typeOf(name));
    return t && t.getRank() == 1 && t.getElementType() == et &&
           (ShapedType::isDynamic(extent) || t.getDimSize(0) == extent);
  }
  static RankedTensorType linearResult(RankedTensorType x, int64_t n) {
    SmallVector<int64_t> shape(x.getShape());
    shape.back() = n;
    return RankedTensorType::get(shape, x.getElementType());
  }
  bool inputMatches(RankedTensorType x, int64_t k) {
    int64_t last = x.getDimSize(x.getRank() - 1);
    return ShapedType::isDynamic(last) || last == k;
  }

  std::optional<RaisedOp> matchMatMul(int i) {
    const auto &n = idx.graph.node(i);
    if (n.input_size() != 2 || n.output_size() != 1)
      return std::nullopt;
    RaisedOp r;
    r.kind = RaisedOp::Linear;
    r.input = n.input(0);
    r.layerName = ctx.nodeName(i);
    r.members = {i};
    auto x = rankedFloat(ctx.typeOf(n.input(0)));
    if (!x || x.getRank() < 2)
      return std::nullopt;
    int64_t k, nOut;
    if (auto w = weightType(n.input(1))) {
      r.param = n.input(1);
      r.weightKN = true;
      k = w.getDimSize(0);
      nOut = w.getDimSize(1);
    } else if (const auto *t = idx.producerOf(n.input(1), "Transpose")) {
      int ti = idx.producerIndex(n.input(1));
      auto w = t->input_size() == 1 ? weightType(t->input(0)) : nullptr;
      if (!w || !free(ti) || !isInternal(n.input(1), 1))
        return std::nullopt;
      if (const auto *perm = findAttr(*t, "perm"))
        if (perm->ints_size() != 2 || perm->ints(0) != 1 || perm->ints(1) != 0)
          return std::nullopt;
      r.param = t->input(0);
      nOut = w.getDimSize(0);
      k = w.getDimSize(1);
      r.members.push_back(ti);
      r.extraAttrs.push_back(attr(
          "qqq.onnx_transpose",
          b.getDictionaryAttr({attr("node", b.getStringAttr(ctx.nodeName(ti))),
                               attr("output", b.getStringAttr(n.input(1)))})));
    } else {
      return std::nullopt;
    }
    if (x.getElementType() !=
            cast<RankedTensorType>(ctx.typeOf(r.param)).getElementType() ||
        !inputMatches(x, k))
      return std::nullopt;
    r.root = i;
    r.output = n.output(0);
    r.extraAttrs.push_back(attr("qqq.onnx_form", b.getStringAttr("MatMul")));
    // A following Add of a 1-D initializer is the bias.
    auto cons = idx.consumers.find(n.output(0));
    if (isInternal(n.output(0), 1) && cons != idx.consumers.end()) {
      int ai = cons->second.front();
      const auto &a = idx.graph.node(ai);
      if (free(ai) && a.op_type() == "Add" &&
          (a.domain().empty() || a.domain() == "ai.onnx") &&
          a.input_size() == 2 && a.output_size() == 1) {
        bool biasFirst = a.input(1) == n.output(0);
        StringRef bias = biasFirst ? a.input(0) : a.input(1);
        if (bias != n.output(0) && isVector(bias, nOut, x.getElementType())) {
          r.bias = bias.str();
          r.root = ai;
          r.members.push_back(ai);
          r.output = a.output(0);
          r.extraAttrs.push_back(attr(
              "qqq.onnx_bias_add",
              b.getDictionaryAttr(
                  {attr("node", b.getStringAttr(ctx.nodeName(ai))),
                   attr("matmul_output", b.getStringAttr(n.output(0))),
                   attr("bias_first", b.getBoolAttr(biasFirst))})));
        }
      }
    }
    r.resultType = linearResult(x, nOut);
    return r;
  }

  std::optional<RaisedOp> matchGemm(int i) {
    const auto &n = idx.graph.node(i);
    if (n.input_size() < 2 || n.output_size() != 1)
      return std::nullopt;
    for (const auto &a : n.attribute()) {
      if ((a.name() == "alpha" || a.name() == "beta") && a.f() != 1.0f)
        return std::nullopt;
      if (a.name() == "transA" && a.i() != 0)
        return std::nullopt;
    }
    const auto *transB = findAttr(n, "transB");
    bool tb = transB && transB->i() != 0;
    auto x = rankedFloat(ctx.typeOf(n.input(0)));
    auto w = weightType(n.input(1));
    if (!x || x.getRank() != 2 || !w || w.getElementType() != x.getElementType())
      return std::nullopt;
    int64_t k = tb ? w.getDimSize(1) : w.getDimSize(0);
    int64_t nOut = tb ? w.getDimSize(0) : w.getDimSize(1);
    if (!inputMatches(x, k))
      return std::nullopt;
    RaisedOp r;
    r.kind = RaisedOp::Linear;
    r.root = i;
    r.members = {i};
    r.input = n.input(0);
    r.param = n.input(1);
    r.weightKN = !tb;
    r.layerName = ctx.nodeName(i);
    r.output = n.output(0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
      if (!isVector(n.input(2), nOut, x.getElementType()))
        return std::nullopt;
      r.bias = n.input(2);
    }
    DictionaryAttr attrs = ctx.nodeAttrs(i);
    if (!attrs)
      return std::nullopt;
    r.extraAttrs.push_back(attr("qqq.onnx_form", b.getStringAttr("Gemm")));
    r.extraAttrs.push_back(attr("qqq.onnx_attrs", attrs));
    r.resultType = linearResult(x, nOut);
    return r;
  }

  std::optional<RaisedOp> matchFusedNorm(int i) {
    const auto &n = idx.graph.node(i);
    if (n.input_size() != 2 || n.output_size() < 1)
      return std::nullopt;
    for (int o = 1; o < n.output_size(); ++o)
      if (!n.output(o).empty() && idx.useCount(n.output(o)) != 0)
        return std::nullopt;
    auto x = rankedFloat(ctx.typeOf(n.input(0)));
    if (!x || x.getRank() < 1)
      return std::nullopt;
    int64_t last = x.getDimSize(x.getRank() - 1);
    if (!isVector(n.input(1), last, x.getElementType()))
      return std::nullopt;
    double eps = 1e-5;
    for (const auto &a : n.attribute()) {
      if (a.name() == "epsilon")
        eps = a.f();
      else if (a.name() == "axis" && a.i() != -1 && a.i() != x.getRank() - 1)
        return std::nullopt;
    }
    if (!(eps > 0))
      return std::nullopt;
    DictionaryAttr attrs = ctx.nodeAttrs(i);
    if (!attrs)
      return std::nullopt;
    RaisedOp r;
    r.kind = RaisedOp::RMSNorm;
    r.root = i;
    r.members = {i};
    r.input = n.input(0);
    r.param = n.input(1);
    r.output = n.output(0);
    r.layerName = ctx.nodeName(i);
    r.epsilon = eps;
    r.resultType = x;
    r.extraAttrs.push_back(attr("qqq.onnx_form", b.getStringAttr(n.op_type())));
    r.extraAttrs.push_back(attr("qqq.onnx_domain", b.getStringAttr(n.domain())));
    r.extraAttrs.push_back(attr("qqq.onnx_attrs", attrs));
    r.extraAttrs.push_back(attr("qqq.onnx_num_outputs",
                                b.getI64IntegerAttr(n.output_size())));
    return r;
  }

  /// The node producing `value` as op `opType`, if free and `value` has
  /// exactly `uses` uses.
  /// The node producing `value` as op `opType` with `numInputs` inputs and
  /// one output, if free and `value` has exactly `uses` uses.
  const onnx::NodeProto *chainNode(StringRef value, StringRef opType, int uses,
                                   int &index, int numInputs) {
    const auto *n = idx.producerOf(value, opType);
    index = idx.producerIndex(value);
    if (!n || !free(index) || !isInternal(value, uses) ||
        n->output_size() != 1)
      return nullptr;
    // ReduceMean's axes input is optional.
    bool inputsOk = opType == "ReduceMean"
                        ? n->input_size() == 1 || n->input_size() == 2
                        : n->input_size() == numInputs;
    return inputsOk ? n : nullptr;
  }

  std::optional<RaisedOp> matchDecomposedNorm(int mi) {
    const auto &mul = idx.graph.node(mi);
    if (mul.input_size() != 2 || mul.output_size() != 1)
      return std::nullopt;
    // Final Mul by gamma (either operand order).
    for (int gammaPos = 0; gammaPos < 2; ++gammaPos) {
      StringRef gamma = mul.input(gammaPos);
      StringRef normed = mul.input(1 - gammaPos);
      if (!idx.initializers.count(gamma) || gamma == normed)
        continue;
      if (auto r = matchChain(mi, gamma, normed, gammaPos == 0))
        return r;
    }
    return std::nullopt;
  }

  std::optional<RaisedOp> matchChain(int mi, StringRef gamma, StringRef normed,
                                     bool gammaFirst) {
    SmallVector<int> nodes; // in graph order, filled backwards
    SmallVector<NamedAttribute> info;
    int ni;
    // Optional Cast back to the input type.
    std::optional<int64_t> castOut;
    StringRef n = normed;
    if (const auto *c = chainNode(normed, "Cast", 1, ni, 1)) {
      const auto *to = findAttr(*c, "to");
      if (!to || c->input_size() != 1)
        return std::nullopt;
      castOut = to->i();
      nodes.push_back(ni);
      n = c->input(0);
    }
    // Div(x, s) or Mul(x, Reciprocal(s)).
    StringRef x0, s;
    std::string normalize;
    bool recipFirst = false;
    if (const auto *d = chainNode(n, "Div", 1, ni, 2)) {
      x0 = d->input(0);
      s = d->input(1);
      normalize = "Div";
      nodes.push_back(ni);
    } else if (const auto *m = chainNode(n, "Mul", 1, ni, 2)) {
      nodes.push_back(ni);
      int ri;
      for (int pos = 0; pos < 2 && normalize.empty(); ++pos)
        if (const auto *rc = chainNode(m->input(pos), "Reciprocal", 1, ri, 1)) {
          x0 = m->input(1 - pos);
          s = rc->input(0);
          recipFirst = pos == 0;
          normalize = "Reciprocal";
          nodes.push_back(ri);
        }
      if (normalize.empty())
        return std::nullopt;
    } else {
      return std::nullopt;
    }
    const auto *sq = chainNode(s, "Sqrt", 1, ni, 1);
    if (!sq)
      return std::nullopt;
    nodes.push_back(ni);
    const auto *add = chainNode(sq->input(0), "Add", 1, ni, 2);
    if (!add || add->input_size() != 2)
      return std::nullopt;
    nodes.push_back(ni);
    bool epsFirst = false;
    DenseElementsAttr epsValue;
    StringRef mean;
    for (int pos = 0; pos < 2 && !epsValue; ++pos)
      if (auto c = ctx.constantValue(add->input(pos)))
        if (scalarValue(c)) {
          epsValue = c;
          epsFirst = pos == 0;
          mean = add->input(1 - pos);
        }
    if (!epsValue || !(*scalarValue(epsValue) > 0))
      return std::nullopt;
    const auto *rm = chainNode(mean, "ReduceMean", 1, ni, 1);
    if (!rm)
      return std::nullopt;
    nodes.push_back(ni);
    // Square: Pow(x0, 2) or Mul(x0, x0).
    StringRef sqVal = rm->input(0);
    std::string square;
    DenseElementsAttr exponent;
    int pi;
    if (const auto *p = chainNode(sqVal, "Pow", 1, pi, 2)) {
      exponent = ctx.constantValue(p->input(1));
      if (p->input(0) != x0 || !exponent || scalarValue(exponent) != 2.0)
        return std::nullopt;
      square = "Pow";
    } else if (const auto *m = chainNode(sqVal, "Mul", 1, pi, 2)) {
      if (m->input(0) != x0 || m->input(1) != x0)
        return std::nullopt;
      square = "Mul";
    } else {
      return std::nullopt;
    }
    nodes.push_back(pi);
    // Optional Cast of the input (x0 is used by the square and normalize).
    StringRef x = x0;
    std::optional<int64_t> castIn;
    if (const auto *c = chainNode(x0, "Cast", 2, ni, 1)) {
      const auto *to = findAttr(*c, "to");
      if (!to || c->input_size() != 1)
        return std::nullopt;
      castIn = to->i();
      x = c->input(0);
      nodes.push_back(ni);
    }
    auto xt = rankedFloat(ctx.typeOf(x));
    auto x0t = rankedFloat(ctx.typeOf(x0));
    if (!xt || xt.getRank() < 1 || (castIn && !x0t))
      return std::nullopt;
    // The result must have the input's type (qqq.rms_norm's contract).
    Type computeType = castIn ? x0t.getElementType() : xt.getElementType();
    auto gt = rankedFloat(ctx.typeOf(gamma));
    if (!gt || gt.getRank() != 1 ||
        !isVector(gamma, xt.getDimSize(xt.getRank() - 1), gt.getElementType()))
      return std::nullopt;
    if (gt.getElementType() != xt.getElementType())
      return std::nullopt;
    if (!castOut && computeType != xt.getElementType())
      return std::nullopt;
    // Reduce over the last axis, keeping it.
    SmallVector<int64_t> axes;
    bool axesAsInput = false;
    DenseElementsAttr axesTensor;
    for (const auto &a : rm->attribute()) {
      if (a.name() == "keepdims" && a.i() != 1)
        return std::nullopt;
      if (a.name() == "noop_with_empty_axes" && a.i() != 0)
        return std::nullopt;
      if (a.name() == "axes")
        axes.assign(a.ints().begin(), a.ints().end());
    }
    if (rm->input_size() > 1 && !rm->input(1).empty()) {
      axesTensor = ctx.constantValue(rm->input(1));
      if (!axesTensor || !axesTensor.getElementType().isInteger(64))
        return std::nullopt;
      axesAsInput = true;
      for (const APInt &v : axesTensor.getValues<APInt>())
        axes.push_back(v.getSExtValue());
    }
    int64_t rank = (castIn ? x0t : xt).getRank();
    if (axes.size() != 1 || (axes[0] != -1 && axes[0] != rank - 1))
      return std::nullopt;
    DictionaryAttr rmAttrs = ctx.nodeAttrs(ni = idx.producerIndex(mean));
    if (!rmAttrs)
      return std::nullopt;

    // Chain order in the graph: castIn, square, reducemean, add, sqrt,
    // [reciprocal], div|mul, [castOut], mul.
    std::reverse(nodes.begin(), nodes.end());
    nodes.push_back(mi);
    SmallVector<Attribute> names, outs;
    for (int node : nodes) {
      names.push_back(b.getStringAttr(ctx.nodeName(node)));
      if (node != mi)
        outs.push_back(b.getStringAttr(idx.graph.node(node).output(0)));
    }
    info.push_back(attr("nodes", b.getArrayAttr(names)));
    info.push_back(attr("values", b.getArrayAttr(outs)));
    if (castIn)
      info.push_back(attr("cast_in", b.getI64IntegerAttr(*castIn)));
    if (castOut)
      info.push_back(attr("cast_out", b.getI64IntegerAttr(*castOut)));
    info.push_back(attr("square", b.getStringAttr(square)));
    if (exponent)
      info.push_back(attr("exponent", exponent));
    info.push_back(attr("eps", epsValue));
    info.push_back(attr("eps_first", b.getBoolAttr(epsFirst)));
    info.push_back(attr("reduce_attrs", rmAttrs));
    if (axesAsInput)
      info.push_back(attr("axes", axesTensor));
    info.push_back(attr("normalize", b.getStringAttr(normalize)));
    info.push_back(attr("reciprocal_first", b.getBoolAttr(recipFirst)));
    info.push_back(attr("gamma_first", b.getBoolAttr(gammaFirst)));

    RaisedOp r;
    r.kind = RaisedOp::RMSNorm;
    r.root = mi;
    r.members.assign(nodes.begin(), nodes.end());
    r.input = x.str();
    r.param = gamma.str();
    r.output = idx.graph.node(mi).output(0);
    r.layerName = ctx.nodeName(mi);
    r.epsilon = *scalarValue(epsValue);
    r.resultType = xt;
    r.extraAttrs.push_back(attr("qqq.onnx_form", b.getStringAttr("decomposed")));
    r.extraAttrs.push_back(attr("qqq.onnx_chain", b.getDictionaryAttr(info)));
    return r;
  }

  PlanContext &ctx;
  const GraphIndex &idx;
  Builder &b;
  llvm::DenseSet<int> claimed;
  DenseMap<int, RaisedOp> plans;
};

} // namespace

DenseMap<int, RaisedOp> qqq::onnx_import::planRaising(PlanContext &ctx,
                                                      ArrayRef<int> order) {
  return Planner(ctx).run(order);
}
