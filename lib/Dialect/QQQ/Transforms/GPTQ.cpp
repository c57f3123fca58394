//===- GPTQ.cpp - qqq-gptq: int4 weights by GPTQ or RTN ------------------===//
//
// Replaces each selected qqq.linear by qqq.quantize_act + qqq.w4a8_linear.
// The numbers come from the numerics library (GPTQ, RTN, two-level scales);
// this file only moves data between the IR and those functions, packs the
// int4 values row-major and records per-layer error statistics.
//
//===----------------------------------------------------------------------===//
#include "QuantizeSteps.h"
#include "Report.h"
#include "WeightConstants.h"

#include "qqq/Calibration/CalibrationStats.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Numerics/GPTQ.h"
#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/Quantizers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace qqq {
#define GEN_PASS_DEF_QQQGPTQPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;
using numerics::Matrix;

namespace {
/// What one layer's quantization produced, in the kernel's terms.
struct QuantizedLayer {
  Matrix<int8_t> q;                 // N x K
  std::vector<float> channelScale;  // N
  Matrix<uint16_t> groupScaleHalf;  // K/G x N (per group only)
  Matrix<float> effective;          // N x K, the weight the kernel applies
  double gptqLoss = -1;
  int64_t deadColumns = 0;
};
} // namespace

static QuantizedLayer quantizeLayer(const Matrix<float> &w,
                                    const Matrix<double> *hessian,
                                    const GptqConfig &cfg) {
  QuantizedLayer out;
  Matrix<float> groupScale;
  if (cfg.rtn) {
    numerics::Int4Weight r =
        numerics::quantizeWeightRTN(w, cfg.groupSize, cfg.mseClip);
    out.q = std::move(r.q);
    out.channelScale = std::move(r.channelScale);
    groupScale = std::move(r.groupScale);
  } else {
    numerics::GptqOptions o;
    o.groupSize = cfg.groupSize;
    o.actOrder = cfg.actOrder;
    o.staticGroups = cfg.actOrder; // act-order needs static groups (kernel)
    o.mseClip = cfg.mseClip;
    o.dampPercent = cfg.damp;
    o.blockSize = cfg.blockSize;
    numerics::GptqResult r = numerics::gptqQuantize(w, *hessian, o);
    out.q = std::move(r.q);
    out.channelScale = std::move(r.channelScale);
    groupScale = std::move(r.groupScale);
    out.gptqLoss = r.quantLoss;
    out.deadColumns = r.deadColumns;
  }
  if (cfg.groupSize > 0) {
    numerics::TwoLevelScales two =
        numerics::computeTwoLevelScales(out.q, groupScale, cfg.groupSize);
    out.effective = numerics::dequantizeTwoLevel(out.q, two, cfg.groupSize);
    out.channelScale = std::move(two.sCh);
    out.groupScaleHalf = std::move(two.sGrpHalf);
  } else {
    out.effective = Matrix<float>(w.rows, w.cols);
    for (int64_t n = 0; n < w.rows; ++n)
      for (int64_t k = 0; k < w.cols; ++k)
        out.effective.at(n, k) = float(out.q.at(n, k)) * out.channelScale[n];
  }
  return out;
}

/// Relative errors of the quantized layer: of the weight, and of the output
/// on the calibration sample rows with per-token int8 activations (what the
/// W4A8 kernel computes, before the f16 rounding of the result).
static void errorStats(const Matrix<float> &w, const Matrix<float> &what,
                       const ActivationStats *stats, llvm::json::Object &rec) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < w.size(); ++i) {
    double d = double(w.data[i]) - what.data[i];
    num += d * d;
    den += double(w.data[i]) * w.data[i];
  }
  rec["weight_rel_err"] = den > 0 ? std::sqrt(num / den) : 0.0;
  if (!stats || stats->sampleRows == 0)
    return;
  int64_t rows = std::min<int64_t>(stats->sampleRows, 64), k = w.cols;
  Matrix<float> x(rows, k);
  std::copy(stats->sample.begin(), stats->sample.begin() + rows * k,
            x.data.begin());
  Matrix<float> xq = x;
  numerics::fakeQuantizeActPerToken(xq);
  double onum = 0, oden = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < w.rows; ++n) {
      double ref = 0, got = 0;
      const float *wr = w.row(n), *qr = what.row(n);
      const float *xr = x.row(r), *xqr = xq.row(r);
      for (int64_t kk = 0; kk < k; ++kk) {
        ref += double(xr[kk]) * wr[kk];
        got += double(xqr[kk]) * qr[kk];
      }
      onum += (ref - got) * (ref - got);
      oden += ref * ref;
    }
  rec["output_rel_err"] = oden > 0 ? std::sqrt(onum / oden) : 0.0;
  rec["output_rows"] = rows;
}

/// Builds quantize_act + w4a8_linear for `op` from `ql`; failure (with a
/// diagnostic) when the layer's types cannot be expressed.
static LogicalResult rewriteLinear(LinearOp op, const QuantizedLayer &ql,
                                   const GptqConfig &cfg) {
  auto xType = cast<RankedTensorType>(op.getInput().getType());
  auto yType = cast<RankedTensorType>(op.getResult().getType());
  if (!yType.getElementType().isF16() && !yType.getElementType().isF32())
    return op.emitError() << "layer '" << op.getLayerName()
                          << "': W4A8 results are f16 (or f32 widened), not "
                          << yType.getElementType();
  MLIRContext *ctx = op.getContext();
  OpBuilder b(op);
  Location loc = op.getLoc();
  int64_t n = ql.q.rows, k = ql.q.cols;

  Value bias;
  if (Value origBias = op.getBias()) {
    auto values = readFloatConstant(origBias);
    if (failed(values))
      return op.emitError() << "layer '" << op.getLayerName()
                            << "': bias must be a constant to become f16";
    bias = makeFloatConstant(
        b, loc, RankedTensorType::get({n}, Float16Type::get(ctx)), *values);
  }

  SmallVector<int64_t> scaleShape(xType.getShape());
  scaleShape.back() = 1;
  auto qType = RankedTensorType::get(xType.getShape(), b.getI8Type());
  auto sType = RankedTensorType::get(scaleShape, b.getF32Type());
  auto quant = QuantizeActOp::create(b, loc, qType, sType, op.getInput());

  std::vector<uint8_t> packed;
  std::string packError = numerics::packRowMajor(ql.q, packed);
  if (!packError.empty())
    return op.emitError() << "layer '" << op.getLayerName()
                          << "': packing failed: " << packError;
  Value weight = makeRawConstant(
      b, loc, RankedTensorType::get({n, k / 2}, b.getI8Type()),
      ArrayRef<char>(reinterpret_cast<const char *>(packed.data()),
                     packed.size()));
  Value chScale = makeFloatConstant(
      b, loc, RankedTensorType::get({n}, b.getF32Type()), ql.channelScale);
  Value grpScale;
  IntegerAttr groupSizeAttr;
  if (cfg.groupSize > 0) {
    grpScale = makeRawConstant(
        b, loc,
        RankedTensorType::get({k / cfg.groupSize, n}, Float16Type::get(ctx)),
        ArrayRef<char>(reinterpret_cast<const char *>(
                           ql.groupScaleHalf.data.data()),
                       ql.groupScaleHalf.data.size() * 2));
    groupSizeAttr = b.getI64IntegerAttr(cfg.groupSize);
  }
  auto scheme = QuantSchemeAttr::get(
      ctx, 4, 8, cfg.groupSize, true,
      cfg.rtn ? QuantMethod::rtn : QuantMethod::gptq, cfg.preprocess);
  auto layout = WeightLayoutAttr::get(ctx, WeightLayout::row_major);
  auto lin = W4A8LinearOp::create(
      b, loc, yType, quant.getOutput(), quant.getScale(), weight, chScale,
      grpScale, bias, layout, groupSizeAttr, op.getLayerNameAttr(), scheme,
      /*kernels=*/ArrayAttr(), /*parts=*/ArrayAttr(),
      /*part_sizes=*/DenseI64ArrayAttr());
  op.getResult().replaceAllUsesWith(lin.getResult());
  Operation *oldWeight = op.getWeight().getDefiningOp();
  Operation *oldBias = op.getBias() ? op.getBias().getDefiningOp() : nullptr;
  op.erase();
  // The float weights are dead now unless another op shares them.
  for (Operation *c : {oldWeight, oldBias})
    if (c && c->use_empty() && isa<arith::ConstantOp>(c))
      c->erase();
  return success();
}

LogicalResult qqq::runGptq(ModuleOp module, const GptqConfig &cfg,
                           llvm::json::Array &records) {
  llvm::Regex skip(cfg.skip);
  std::string regexError;
  if (!cfg.skip.empty() && !skip.isValid(regexError))
    return module.emitError() << "qqq-gptq: bad skip regex '" << cfg.skip
                              << "': " << regexError;
  llvm::Regex sinkLayers(cfg.sinkLayers);
  if (!sinkLayers.isValid(regexError))
    return module.emitError() << "qqq-gptq: bad sink-layers regex '"
                              << cfg.sinkLayers << "': " << regexError;
  CalibrationStats *calib = nullptr;
  if (!cfg.calibration.empty()) {
    auto loaded = CalibrationRegistry::get(cfg.calibration);
    if (!loaded)
      return module.emitError() << "qqq-gptq: "
                                << llvm::toString(loaded.takeError());
    calib = *loaded;
  } else if (!cfg.rtn) {
    return module.emitError()
           << "qqq-gptq: method=gptq needs calibration=<stats.safetensors> "
              "(or use method=rtn)";
  }

  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp op) { linears.push_back(op); });
  int64_t index = 0, total = linears.size();
  bool warnedNoFirst = false;
  for (LinearOp op : linears) {
    ++index;
    std::string name = op.getLayerName().str();
    llvm::json::Object rec{{"stage", "gptq"}, {"layer", name}};
    if (!cfg.skip.empty() && skip.match(name)) {
      llvm::errs() << "[qqq-gptq] " << index << "/" << total << " " << name
                   << ": skipped (matches skip='" << cfg.skip << "')\n";
      rec["skipped"] = "skip filter";
      records.push_back(std::move(rec));
      continue;
    }
    StageTimer timer;
    auto w = readLinearWeight(op);
    if (failed(w))
      return op.emitError() << "qqq-gptq: layer '" << name
                            << "': weight is not a readable constant";
    if (w->cols % 2 != 0)
      return op.emitError() << "qqq-gptq: layer '" << name << "': K = "
                            << w->cols << " is odd; int4 packing needs pairs";
    std::string bad = numerics::checkGroupSize(cfg.groupSize, w->cols);
    if (!bad.empty())
      return op.emitError() << "qqq-gptq: layer '" << name << "' (K = "
                            << w->cols << "): group-size " << cfg.groupSize
                            << ": " << bad;
    ActivationStats *stats =
        calib ? calib->lookup(op.getInputName()) : nullptr;
    if (calib && !stats && !cfg.rtn)
      return op.emitError() << "qqq-gptq: layer '" << name
                            << "': calibration file '" << cfg.calibration
                            << "' has no statistics for its input '"
                            << op.getInputName() << "'";
    if (stats && stats->channels != w->cols)
      return op.emitError() << "qqq-gptq: layer '" << name << "': calibration "
                            << "statistics of '" << op.getInputName()
                            << "' have " << stats->channels
                            << " channels, the weight has K = " << w->cols;
    Matrix<double> hessian;
    if (!cfg.rtn) {
      hessian = Matrix<double>(w->cols, w->cols);
      hessian.data = stats->xtx;
      double sinkWeight = sinkLayers.match(name) ? cfg.sinkWeight : 0.0;
      if (sinkWeight != 0.0 && stats->countFirst > 0)
        numerics::addFirstTokenWeight(hessian, stats->xtxFirst, stats->count,
                                      stats->countFirst, sinkWeight);
      else if (sinkWeight != 0.0 && !warnedNoFirst) {
        warnedNoFirst = true;
        op.emitWarning() << "qqq-gptq: calibration file '" << cfg.calibration
                         << "' has no first-token statistics ('"
                         << op.getInputName()
                         << ".xtx_first'): sink-weight is ignored; re-run "
                            "python -m qqq.calibrate to get them";
      }
      rec["sink_weight"] = stats->countFirst > 0 ? sinkWeight : 0.0;
      numerics::finalizeHessian(hessian, stats->count);
    }
    // Shapes and the group size are checked above: the numerics library
    // throws only on those, and this code is built without exceptions.
    QuantizedLayer ql = quantizeLayer(*w, cfg.rtn ? nullptr : &hessian, cfg);
    errorStats(*w, ql.effective, stats, rec);
    rec["n"] = w->rows;
    rec["k"] = w->cols;
    rec["method"] = cfg.rtn ? "rtn" : "gptq";
    rec["group_size"] = cfg.groupSize;
    if (ql.gptqLoss >= 0)
      rec["gptq_loss"] = ql.gptqLoss;
    rec["dead_columns"] = ql.deadColumns;
    if (failed(rewriteLinear(op, ql, cfg)))
      return failure();
    rec["seconds"] = timer.seconds();
    llvm::errs() << "[qqq-gptq] " << index << "/" << total << " " << name
                 << " " << w->rows << "x" << w->cols << " weight_rel_err="
                 << llvm::format("%.4g", *rec.getNumber("weight_rel_err"));
    if (auto e = rec.getNumber("output_rel_err"))
      llvm::errs() << " output_rel_err=" << llvm::format("%.4g", *e);
    llvm::errs() << " (" << llvm::format("%.2f", timer.seconds()) << " s)\n";
    records.push_back(std::move(rec));
  }
  return success();
}

static FailureOr<Preprocess> parsePreprocess(StringRef s) {
  if (auto p = symbolizePreprocess(s))
    return *p;
  return failure();
}

namespace {
struct QQQGPTQPass : qqq::impl::QQQGPTQPassBase<QQQGPTQPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    GptqConfig cfg;
    if (method != "gptq" && method != "rtn") {
      module.emitError() << "qqq-gptq: method must be gptq or rtn, got '"
                         << method << "'";
      return signalPassFailure();
    }
    auto pre = parsePreprocess(preprocess);
    if (failed(pre)) {
      module.emitError() << "qqq-gptq: unknown preprocess '" << preprocess
                         << "' (none, smooth, smoothquant, rotate)";
      return signalPassFailure();
    }
    cfg.calibration = calibration;
    cfg.rtn = method == "rtn";
    cfg.groupSize = groupSize;
    cfg.actOrder = actOrder;
    cfg.mseClip = mseClip;
    cfg.damp = damp;
    cfg.sinkWeight = sinkWeight;
    cfg.sinkLayers = sinkLayers;
    cfg.blockSize = blockSize;
    cfg.skip = skip;
    cfg.preprocess = *pre;
    llvm::json::Array records;
    if (failed(runGptq(module, cfg, records)))
      return signalPassFailure();
    if (!report.empty())
      if (llvm::Error e = writeJsonAtomically(
              report, llvm::json::Object{{"layers", std::move(records)}})) {
        module.emitError() << llvm::toString(std::move(e));
        return signalPassFailure();
      }
  }
};
} // namespace
