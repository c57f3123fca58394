//===- Smooth.cpp - qqq-smooth: OS+ / SmoothQuant scales folded away -------===//
//
// For an activation x read only by linear layers, per-channel scales s turn
// X·Wᵀ into (X/s)·(W·diag(s))ᵀ. The division is folded into x's producer so
// the model computes the same function:
//   - qqq.rms_norm:            γ ← γ / s                      (q/k/v, gate/up)
//   - onnx Mul(a, linear(..)): that linear's rows and bias / s (down_proj's
//                              input silu(gate)·up: up_proj rows)
//   - attention output:        v_proj rows and bias / s (o_proj's input:
//                              attention is linear in V per channel), only
//                              when v_proj's rows map one to one onto
//                              o_proj's channels (kv-heads == heads)
// Any other producer, and o_proj under grouped-query attention (one v row
// feeds several heads' channels), is skipped with a message naming the
// layers. The scales come from the numerics library; this file moves data
// and keeps the in-memory calibration statistics consistent (x → x/s).
//
//===----------------------------------------------------------------------===//
#include "AttentionPaths.h"
#include "QuantizeSteps.h"
#include "Report.h"
#include "WeightConstants.h"

#include "qqq/Calibration/CalibrationStats.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Numerics/Smoothing.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace qqq {
#define GEN_PASS_DEF_QQQSMOOTHPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;
using numerics::Matrix;

namespace {
/// Where the scales of one activation can be folded.
struct Producer {
  RMSNormOp norm;       // γ / s
  LinearOp rowsLinear;  // rows (and bias) / s
};
} // namespace

/// v_proj for each o_proj its values reach (layer names matching
/// `vProjPattern`); v_proj layers whose values do not reach exactly one
/// linear are left out.
static llvm::DenseMap<Operation *, LinearOp>
valueProjections(ModuleOp module, StringRef vProjPattern) {
  llvm::DenseMap<Operation *, LinearOp> byOProj;
  if (vProjPattern.empty())
    return byOProj;
  module.walk([&](LinearOp v) {
    if (!v.getLayerName().contains(vProjPattern))
      return;
    std::string ignored;
    FailureOr<LinearOp> o = followToOProj(v, ignored);
    if (succeeded(o))
      byOProj[o->getOperation()] = v;
  });
  return byOProj;
}

/// The foldable producer of `x` (`onlyReader`: its reader when it has
/// exactly one), or a reason why there is none.
static FailureOr<Producer>
findProducer(Value x, LinearOp onlyReader,
             const llvm::DenseMap<Operation *, LinearOp> &vProjOf,
             std::string &why) {
  // The attention output: o_proj's values come from v_proj.
  if (onlyReader) {
    auto it = vProjOf.find(onlyReader.getOperation());
    if (it != vProjOf.end()) {
      LinearOp v = it->second;
      LinearOp o = onlyReader;
      if (v.getOutFeatures() != o.getInFeatures()) {
        why = "grouped-query attention: '" + v.getLayerName().str() +
              "' has " + std::to_string(v.getOutFeatures()) + " rows for " +
              std::to_string(o.getInFeatures()) + " channels of '" +
              o.getLayerName().str() +
              "' (one v row feeds several heads, so per-channel scales "
              "cannot be folded exactly)";
        return failure();
      }
      if (v.getBias() && failed(readFloatConstant(v.getBias()))) {
        why = "'" + v.getLayerName().str() + "' has a non-constant bias";
        return failure();
      }
      return Producer{nullptr, v};
    }
  }
  Operation *def = x.getDefiningOp();
  if (auto norm = dyn_cast_or_null<RMSNormOp>(def)) {
    if (failed(readFloatConstant(norm.getGamma()))) {
      why = "rms_norm γ is not a constant";
      return failure();
    }
    return Producer{norm, nullptr};
  }
  if (auto node = dyn_cast_or_null<OnnxNodeOp>(def)) {
    if (node.getOpType() == "Mul" && node.getDomain().empty() &&
        node.getInputs().size() == 2 &&
        node.getInputs()[0].getType() == node.getInputs()[1].getType() &&
        node.getInputs()[0].getType() == x.getType()) {
      for (Value in : node.getInputs()) {
        auto lin = in.getDefiningOp<LinearOp>();
        if (!lin || !in.hasOneUse())
          continue;
        if (lin.getBias() && failed(readFloatConstant(lin.getBias())))
          continue;
        return Producer{nullptr, lin};
      }
    }
    why = "producer is onnx '" + node.getOpType().str() +
          "', not an elementwise Mul with a single-use linear operand";
    return failure();
  }
  why = def ? "producer '" + def->getName().getStringRef().str() +
                  "' cannot absorb per-channel scales"
            : "activation is a function argument";
  return failure();
}

static void foldIntoProducer(Producer p, const std::vector<float> &s) {
  if (p.norm) {
    std::vector<float> gamma = *readFloatConstant(p.norm.getGamma());
    for (size_t j = 0; j < gamma.size(); ++j)
      gamma[j] /= s[j];
    replaceFloatOperand(p.norm.getGammaMutable(), gamma);
    return;
  }
  LinearOp lin = p.rowsLinear;
  Matrix<float> w = *readLinearWeight(lin);
  for (int64_t n = 0; n < w.rows; ++n)
    for (int64_t k = 0; k < w.cols; ++k)
      w.at(n, k) /= s[n];
  replaceLinearWeight(lin, w);
  if (lin.getBias()) {
    std::vector<float> bias = *readFloatConstant(lin.getBias());
    for (size_t n = 0; n < bias.size(); ++n)
      bias[n] /= s[n];
    replaceFloatOperand(lin.getBiasMutable()[0], bias);
  }
}

LogicalResult qqq::runSmooth(ModuleOp module, const SmoothConfig &cfg,
                             llvm::json::Array &records) {
  if (cfg.calibration.empty())
    return module.emitError()
           << "qqq-smooth needs calibration=<stats.safetensors>";
  auto loaded = CalibrationRegistry::get(cfg.calibration);
  if (!loaded)
    return module.emitError() << "qqq-smooth: "
                              << llvm::toString(loaded.takeError());
  CalibrationStats *calib = *loaded;

  llvm::DenseMap<Operation *, LinearOp> vProjOf =
      valueProjections(module, cfg.vProjPattern);
  // Activations read by linear layers, in program order.
  llvm::MapVector<Value, SmallVector<LinearOp>> acts;
  module.walk([&](LinearOp op) { acts[op.getInput()].push_back(op); });
  int64_t index = 0;
  for (auto &[x, readers] : acts) {
    ++index;
    StageTimer timer;
    std::string names;
    for (LinearOp r : readers)
      names += (names.empty() ? "" : ",") + r.getLayerName().str();
    StringRef actName = readers.front().getInputName();
    llvm::json::Object rec{{"stage", "smooth"},
                           {"activation", actName},
                           {"layers", names}};
    auto skipWith = [&](const std::string &why) {
      llvm::errs() << "[qqq-smooth] " << index << "/" << acts.size() << " "
                   << actName << " (" << names << "): skipped: " << why
                   << "\n";
      rec["skipped"] = why;
      records.push_back(std::move(rec));
    };
    bool onlyLinears = llvm::all_of(x.getUsers(), [](Operation *u) {
      return isa<LinearOp>(u);
    });
    if (!onlyLinears) {
      skipWith("the activation has readers other than linear layers");
      continue;
    }
    std::string why;
    FailureOr<Producer> producer = findProducer(
        x, readers.size() == 1 ? readers.front() : LinearOp(), vProjOf, why);
    if (failed(producer)) {
      skipWith(why);
      continue;
    }
    ActivationStats *stats = calib->lookup(actName);
    if (!stats) {
      skipWith("no calibration statistics for '" + actName.str() + "'");
      continue;
    }
    std::vector<Matrix<float>> weights;
    bool readable = true;
    for (LinearOp r : readers) {
      auto w = readLinearWeight(r);
      if (failed(w) || w->cols != stats->channels) {
        readable = false;
        break;
      }
      weights.push_back(std::move(*w));
    }
    if (!readable) {
      skipWith("a reader's weight is not a constant of K = " +
               std::to_string(stats->channels) + " columns");
      continue;
    }
    std::vector<const Matrix<float> *> wptrs;
    for (auto &w : weights)
      wptrs.push_back(&w);

    std::vector<float> s;
    if (cfg.smoothQuant) {
      std::vector<float> amax(stats->channels);
      for (int64_t j = 0; j < stats->channels; ++j)
        amax[j] = std::max(std::fabs(stats->min[j]), std::fabs(stats->max[j]));
      Matrix<float> all(0, stats->channels);
      for (auto &w : weights) {
        all.data.insert(all.data.end(), w.data.begin(), w.data.end());
        all.rows += w.rows;
      }
      s = numerics::smoothQuantScales(amax, all, float(cfg.alpha));
      rec["alpha"] = cfg.alpha;
    } else {
      if (stats->sampleRows == 0) {
        skipWith("the calibration sample of '" + actName.str() +
                 "' is empty (the threshold search needs rows)");
        continue;
      }
      Matrix<float> xs(stats->sampleRows, stats->channels);
      xs.data = stats->sample;
      numerics::SmoothSearchOptions so;
      so.groupSize = cfg.groupSize;
      so.gridPoints = cfg.grid;
      numerics::SmoothSearchResult r =
          numerics::searchOsPlusThreshold(xs, wptrs, so);
      s = r.scales;
      rec["threshold"] = std::isinf(r.threshold) ? -1.0 : double(r.threshold);
      rec["error"] = r.error;
      rec["error_no_smoothing"] = r.errorNoSmoothing;
    }
    double smax = 1, smin = 1;
    bool identity = true;
    for (float v : s) {
      smax = std::max(smax, double(v));
      smin = std::min(smin, double(v));
      identity &= v == 1.0f;
      if (!(v > 0) || !std::isfinite(v)) {
        identity = true; // never fold a non-positive or non-finite scale
        break;
      }
    }
    rec["scale_max"] = smax;
    rec["scale_min"] = smin;
    if (!identity) {
      foldIntoProducer(*producer, s);
      for (size_t i = 0; i < readers.size(); ++i) {
        numerics::multiplyColumns(weights[i], s);
        replaceLinearWeight(readers[i], weights[i]);
      }
      std::vector<double> sd(s.begin(), s.end());
      stats->divideChannels(sd);
    }
    rec["folded_into"] = producer->norm ? "rms_norm gamma"
                                        : "rows of " +
                                              producer->rowsLinear
                                                  .getLayerName()
                                                  .str();
    rec["applied"] = !identity;
    rec["seconds"] = timer.seconds();
    llvm::errs() << "[qqq-smooth] " << index << "/" << acts.size() << " "
                 << actName << " (" << names << "): "
                 << (identity ? "no smoothing chosen" : "scales in [")
                 << (identity ? "" : llvm::formatv("{0:g}, {1:g}]", smin, smax).str())
                 << " (" << llvm::format("%.2f", timer.seconds()) << " s)\n";
    records.push_back(std::move(rec));
  }
  return success();
}

namespace {
struct QQQSmoothPass : qqq::impl::QQQSmoothPassBase<QQQSmoothPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (mode != "osplus" && mode != "smoothquant") {
      module.emitError() << "qqq-smooth: mode must be osplus or smoothquant, "
                            "got '"
                         << mode << "'";
      return signalPassFailure();
    }
    SmoothConfig cfg;
    cfg.calibration = calibration;
    cfg.smoothQuant = mode == "smoothquant";
    cfg.alpha = alpha;
    cfg.grid = grid;
    cfg.groupSize = groupSize;
    cfg.vProjPattern = vProj;
    llvm::json::Array records;
    if (failed(runSmooth(module, cfg, records)))
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
