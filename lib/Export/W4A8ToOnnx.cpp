//===- W4A8ToOnnx.cpp - standard-ONNX export of the W4A8 ops ---------------===//
//
// See include/qqq/Export/W4A8ToOnnx.h for the node sequences. The int8
// weight the kernel multiplies is formed here, offline, by the numerics
// library (unpackWeights + effectiveInt8Weight), so the ONNX graph and the
// GPU kernels share one definition of it.
//
//===----------------------------------------------------------------------===//
#include "qqq/Export/W4A8ToOnnx.h"
#include "qqq/Export/OnnxExport.h"

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/ReferenceGemm.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include <cstring>

using namespace mlir;
using namespace qqq;

namespace {
// ONNX TensorProto.DataType values used by Cast.
constexpr int64_t kFloat = 1, kInt8 = 3, kFloat16 = 10;

/// The raw little-endian bytes of a constant operand (dense or
/// dense_resource), expanded if splat; failure if `v` is not a constant.
FailureOr<std::vector<char>> constantBytes(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return failure();
  auto type = cast<RankedTensorType>(v.getType());
  size_t esz = (type.getElementTypeBitWidth() + 7) / 8;
  size_t total = size_t(type.getNumElements()) * esz;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      std::vector<char> out(total);
      for (size_t i = 0; i < total; i += esz)
        std::memcpy(out.data() + i, raw.data(), esz);
      return out;
    }
    if (raw.size() != total)
      return failure();
    return std::vector<char>(raw.begin(), raw.end());
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != total)
      return failure();
    ArrayRef<char> raw = blob->getData();
    return std::vector<char>(raw.begin(), raw.end());
  }
  return failure();
}

/// Small helper around the export context for one op.
struct Emitter {
  OpExportContext &ctx;
  MLIRContext *mctx;
  std::string prefix; // node-name prefix (the layer name)

  std::string tmp(StringRef hint) {
    return ctx.makeUniqueName(prefix + "/" + hint.str());
  }
  std::string node(StringRef op, ArrayRef<std::string> in, StringRef hint,
                   DictionaryAttr attrs = {}, LogicalResult *ok = nullptr) {
    std::string out = tmp(hint);
    if (failed(ctx.addNode(op, in, {out}, tmp(hint.str() + "_node"), attrs)) &&
        ok)
      *ok = failure();
    return out;
  }
  DictionaryAttr attrs(ArrayRef<NamedAttribute> a) {
    return DictionaryAttr::get(mctx, a);
  }
  NamedAttribute i64(StringRef name, int64_t v) {
    Builder b(mctx);
    return b.getNamedAttr(name, b.getI64IntegerAttr(v));
  }
  NamedAttribute i64s(StringRef name, ArrayRef<int64_t> v) {
    Builder b(mctx);
    return b.getNamedAttr(name, b.getDenseI64ArrayAttr(v));
  }
  std::string scalarF32(StringRef hint, float v) {
    auto type = RankedTensorType::get({}, Float32Type::get(mctx));
    return ctx.addInitializer(prefix + "/" + hint.str(),
                              DenseElementsAttr::get(type, v));
  }
  std::string cast(const std::string &in, int64_t to, StringRef hint,
                   LogicalResult &ok) {
    return node("Cast", {in}, hint, attrs({i64("to", to)}), &ok);
  }
};

bool isF32(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType().isF32();
}

/// The per-token quantizer on an f32 value `xf`; returns (q8, scale) names.
std::pair<std::string, std::string> emitQuantize(Emitter &e,
                                                 const std::string &xf,
                                                 LogicalResult &ok) {
  std::string absx = e.node("Abs", {xf}, "abs", {}, &ok);
  std::string amax = e.node(
      "ReduceMax", {absx}, "amax",
      e.attrs({e.i64s("axes", {-1}), e.i64("keepdims", 1)}), &ok);
  std::string s =
      e.node("Div", {amax, e.scalarF32("c127", 127.0f)}, "scale", {}, &ok);
  // amax == 0 (a zero row): divide by 1 instead of 0, giving q = 0 exactly.
  std::string zero = e.scalarF32("c0", 0.0f);
  std::string isZero = e.node("Equal", {amax, zero}, "is_zero", {}, &ok);
  std::string d = e.node("Where", {isZero, e.scalarF32("c1", 1.0f), s},
                         "safe_scale", {}, &ok);
  std::string r = e.node("Div", {xf, d}, "x_over_s", {}, &ok);
  std::string rr = e.node("Round", {r}, "round", {}, &ok);
  std::string c =
      e.node("Clip", {rr, e.scalarF32("cm127", -127.0f), e.scalarF32("c127b", 127.0f)},
             "clip", {}, &ok);
  std::string q = e.cast(c, kInt8, "q8", ok);
  return {q, s};
}

LogicalResult exportQuantizeAct(Operation *op, OpExportContext &ctx) {
  auto qa = cast<QuantizeActOp>(op);
  Emitter e{ctx, op->getContext(), "quantize_act"};
  LogicalResult ok = success();
  std::string x = ctx.getValueName(qa.getInput());
  std::string xf = isF32(qa.getInput()) ? x : e.cast(x, kFloat, "x_f32", ok);
  auto [q, s] = emitQuantize(e, xf, ok);
  ctx.setValueName(qa.getOutput(), q);
  ctx.setValueName(qa.getScale(), s);
  return ok;
}

LogicalResult exportRmsNormQuantize(Operation *op, OpExportContext &ctx) {
  auto rq = cast<RMSNormQuantizeOp>(op);
  Emitter e{ctx, op->getContext(), "rms_norm_quantize"};
  LogicalResult ok = success();
  std::string x = ctx.getValueName(rq.getInput());
  std::string g = ctx.getValueName(rq.getGamma());
  std::string xf = isF32(rq.getInput()) ? x : e.cast(x, kFloat, "x_f32", ok);
  std::string gf = isF32(rq.getGamma()) ? g : e.cast(g, kFloat, "g_f32", ok);
  std::string sq = e.node("Mul", {xf, xf}, "sq", {}, &ok);
  std::string ms = e.node(
      "ReduceMean", {sq}, "mean_sq",
      e.attrs({e.i64s("axes", {-1}), e.i64("keepdims", 1)}), &ok);
  std::string eps = e.scalarF32(
      "eps", float(rq.getEpsilonAttr().getValueAsDouble()));
  std::string var = e.node("Add", {ms, eps}, "var", {}, &ok);
  std::string rms = e.node("Sqrt", {var}, "rms", {}, &ok);
  std::string n = e.node("Div", {xf, rms}, "normed", {}, &ok);
  std::string y = e.node("Mul", {n, gf}, "scaled", {}, &ok);
  auto [q, s] = emitQuantize(e, y, ok);
  ctx.setValueName(rq.getOutput(), q);
  ctx.setValueName(rq.getScale(), s);
  return ok;
}

LogicalResult exportW4A8Linear(Operation *op, OpExportContext &ctx) {
  auto lin = cast<W4A8LinearOp>(op);
  MLIRContext *mctx = op->getContext();
  auto wType = cast<RankedTensorType>(lin.getWeight().getType());
  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1) * 2;
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(k))
    return op->emitError() << "W4A8 ONNX export: layer '" << lin.getLayerName()
                           << "': packed weight must have a static shape";
  auto bytes = constantBytes(lin.getWeight());
  auto chBytes = constantBytes(lin.getChannelScale());
  if (failed(bytes) || failed(chBytes))
    return op->emitError() << "W4A8 ONNX export: layer '" << lin.getLayerName()
                           << "': weight and channel_scale must be constants";
  std::vector<uint8_t> packed(bytes->begin(), bytes->end());
  numerics::Matrix<int8_t> q;
  auto layout = static_cast<numerics::WeightLayout>(
      static_cast<uint32_t>(lin.getLayout()));
  std::string err = numerics::unpackWeights(layout, packed, n, k, q);
  if (!err.empty())
    return op->emitError() << "W4A8 ONNX export: layer '" << lin.getLayerName()
                           << "': cannot unpack the weight: " << err;
  int64_t g = lin.getGroupSize().value_or(0);
  numerics::Matrix<uint16_t> sGrp;
  if (g > 0) {
    auto gBytes = constantBytes(lin.getGroupScale());
    if (failed(gBytes))
      return op->emitError() << "W4A8 ONNX export: layer '"
                             << lin.getLayerName()
                             << "': group_scale must be a constant";
    sGrp = numerics::Matrix<uint16_t>(k / g, n);
    std::memcpy(sGrp.data.data(), gBytes->data(), gBytes->size());
  }
  numerics::Matrix<int8_t> w8 = numerics::effectiveInt8Weight(q, g, sGrp);
  std::vector<int8_t> wkn(k * n);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      wkn[c * n + r] = w8.at(r, c);

  Emitter e{ctx, mctx, lin.getLayerName().str()};
  LogicalResult ok = success();
  Builder b(mctx);
  std::string wName = ctx.addInitializer(
      lin.getLayerName().str() + ".weight_int8",
      DenseElementsAttr::get(RankedTensorType::get({k, n}, b.getI8Type()),
                             ArrayRef<int8_t>(wkn)));
  std::vector<float> sCh(n);
  std::memcpy(sCh.data(), chBytes->data(), n * 4);
  std::string sChName = ctx.addInitializer(
      lin.getLayerName().str() + ".channel_scale",
      DenseElementsAttr::get(RankedTensorType::get({n}, b.getF32Type()),
                             ArrayRef<float>(sCh)));

  std::string x = ctx.getValueName(lin.getInput());
  std::string sTok = ctx.getValueName(lin.getInputScale());
  std::string acc = e.node("MatMulInteger", {x, wName}, "acc", {}, &ok);
  std::string accF = e.cast(acc, kFloat, "acc_f32", ok);
  // ONNX Runtime's level-2 optimizer fuses MatMulInteger → Cast → Mul (→ Add)
  // into com.microsoft.MatMulIntegerToFloat, whose arithmetic is not this
  // epilogue (tested: the bias and per-token scales come out wrong). Two
  // Negs (exact: sign flips) break the pattern at no cost in accuracy.
  std::string neg1 = e.node("Neg", {accF}, "acc_neg", {}, &ok);
  std::string accBarrier = e.node("Neg", {neg1}, "acc_f32_barrier", {}, &ok);
  std::string t = e.node("Mul", {sTok, sChName}, "t", {}, &ok);
  std::string y = e.node("Mul", {accBarrier, t}, "y", {}, &ok);
  if (Value bias = lin.getBias()) {
    auto biasBytes = constantBytes(bias);
    if (failed(biasBytes))
      return op->emitError() << "W4A8 ONNX export: layer '"
                             << lin.getLayerName()
                             << "': bias must be a constant";
    std::vector<float> bf(n);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, biasBytes->data() + 2 * i, 2);
      bf[i] = numerics::halfBitsToFloat(h); // exact widening of the f16 bias
    }
    std::string bName = ctx.addInitializer(
        lin.getLayerName().str() + ".bias_f32",
        DenseElementsAttr::get(RankedTensorType::get({n}, b.getF32Type()),
                               ArrayRef<float>(bf)));
    y = e.node("Add", {y, bName}, "y_bias", {}, &ok);
  }
  std::string y16 = e.cast(y, kFloat16, "y_f16", ok);
  std::string out = isF32(lin.getResult()) ? e.cast(y16, kFloat, "y_f32", ok)
                                           : y16;
  ctx.setValueName(lin.getResult(), out);
  ctx.requireOpset("", 13);
  return ok;
}
} // namespace

void qqq::registerW4A8ToOnnxExporters() {
  registerOpExporter(QuantizeActOp::getOperationName(), exportQuantizeAct);
  registerOpExporter(RMSNormQuantizeOp::getOperationName(),
                     exportRmsNormQuantize);
  registerOpExporter(W4A8LinearOp::getOperationName(), exportW4A8Linear);
}
