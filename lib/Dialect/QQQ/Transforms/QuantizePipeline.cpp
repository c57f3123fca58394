//===- QuantizePipeline.cpp - qqq-quantize-pipeline ------------------------===//
//
// smooth | smoothquant (optional) → gptq | rtn → quantize-act → pack, on one
// module. The calibration file is loaded once through CalibrationRegistry;
// smoothing updates those statistics in memory, so GPTQ sees the Hessian of
// the smoothed activations. All stages' records and times go into one
// report, written atomically.
//
//===----------------------------------------------------------------------===//
#include "QuantizeSteps.h"
#include "Report.h"

#include "qqq/Dialect/QQQ/Transforms/Passes.h"

#include "llvm/Support/raw_ostream.h"

namespace qqq {
#define GEN_PASS_DEF_QQQQUANTIZEPIPELINEPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;

namespace {
struct QQQQuantizePipelinePass
    : qqq::impl::QQQQuantizePipelinePassBase<QQQQuantizePipelinePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (method != "gptq" && method != "rtn") {
      module.emitError() << "qqq-quantize-pipeline: method must be gptq or "
                            "rtn, got '"
                         << method << "'";
      return signalPassFailure();
    }
    std::optional<Preprocess> pre = symbolizePreprocess(preprocess);
    if (!pre) {
      module.emitError() << "qqq-quantize-pipeline: preprocess must be none, "
                            "smooth, smoothquant or rotate, got '"
                         << preprocess << "'";
      return signalPassFailure();
    }
    llvm::json::Array stages;
    StageTimer total;
    auto runStage = [&](StringRef name, auto &&fn) -> LogicalResult {
      StageTimer t;
      llvm::errs() << "[qqq-quantize-pipeline] stage " << name << "\n";
      llvm::json::Array records;
      LogicalResult r = fn(records);
      double secs = t.seconds();
      llvm::errs() << "[qqq-quantize-pipeline] stage " << name << " "
                   << (succeeded(r) ? "done" : "FAILED") << " in "
                   << llvm::format("%.2f", secs) << " s\n";
      stages.push_back(llvm::json::Object{{"stage", name},
                                          {"seconds", secs},
                                          {"ok", succeeded(r)},
                                          {"records", std::move(records)}});
      return r;
    };

    bool ok = true;
    if (*pre == Preprocess::smooth || *pre == Preprocess::smoothquant) {
      SmoothConfig sc;
      sc.calibration = calibration;
      sc.smoothQuant = *pre == Preprocess::smoothquant;
      sc.alpha = alpha;
      sc.groupSize = groupSize;
      ok = succeeded(runStage(*pre == Preprocess::smooth ? "smooth"
                                                         : "smoothquant",
                              [&](llvm::json::Array &r) {
                                return runSmooth(module, sc, r);
                              }));
    }
    if (*pre == Preprocess::rotate) {
      RotateConfig rc;
      rc.calibration = calibration;
      rc.seed = rotateSeed;
      rc.headDim = headDim >= 0 ? int64_t(headDim) : inferHeadDim(module);
      ok = succeeded(runStage("rotate", [&](llvm::json::Array &r) {
        return runRotate(module, rc, r);
      }));
    }
    if (ok) {
      GptqConfig gc;
      gc.calibration = calibration;
      gc.rtn = method == "rtn";
      gc.groupSize = groupSize;
      gc.actOrder = actOrder;
      gc.mseClip = mseClip;
      gc.damp = damp;
      gc.sinkWeight = sinkWeight;
      gc.sinkLayers = sinkLayers;
      gc.skip = skip;
      gc.preprocess = *pre;
      ok = succeeded(runStage(method, [&](llvm::json::Array &r) {
        return runGptq(module, gc, r);
      }));
    }
    if (ok)
      ok = succeeded(runStage("quantize-act", [&](llvm::json::Array &r) {
        return runQuantizeAct(module, r);
      }));
    if (ok)
      ok = succeeded(runStage("pack", [&](llvm::json::Array &r) {
        return runPack(module, layout, r);
      }));

    if (!report.empty()) {
      llvm::json::Object options{
          {"calibration", std::string(calibration)},
          {"preprocess", std::string(preprocess)},
          {"method", std::string(method)},
          {"group_size", int64_t(groupSize)},
          {"act_order", bool(actOrder)},
          {"mse_clip", bool(mseClip)},
          {"damp", double(damp)},
          {"sink_weight", double(sinkWeight)},
          {"sink_layers", std::string(sinkLayers)},
          {"skip", std::string(skip)},
          {"layout", std::string(layout)}};
      llvm::json::Object doc{{"pipeline", "qqq-quantize-pipeline"},
                             {"options", std::move(options)},
                             {"ok", ok},
                             {"seconds", total.seconds()},
                             {"stages", std::move(stages)}};
      if (llvm::Error e = writeJsonAtomically(report, std::move(doc))) {
        module.emitError() << llvm::toString(std::move(e));
        return signalPassFailure();
      }
    }
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
