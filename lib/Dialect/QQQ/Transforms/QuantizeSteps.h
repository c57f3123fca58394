//===- QuantizeSteps.h - the quantization passes as functions ---*- C++ -*-===//
//
// Each pass is a thin wrapper around one of these functions so that
// qqq-quantize-pipeline can run them in sequence on one module, sharing the
// in-memory calibration statistics (CalibrationRegistry) and collecting
// every stage's per-layer JSON records into one report.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_LIB_DIALECT_QQQ_TRANSFORMS_QUANTIZESTEPS_H
#define QQQ_LIB_DIALECT_QQQ_TRANSFORMS_QUANTIZESTEPS_H

#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace qqq {

struct SmoothConfig {
  std::string calibration;
  bool smoothQuant = false; // false: OS+ threshold search
  double alpha = 0.5;
  int64_t grid = 20;
  int64_t groupSize = 0;    // weight quantizer of the search's error model
  std::string vProjPattern = "v_proj"; // o_proj's scales go into its rows
};
/// Folds smoothing scales into each activation's producer (RMSNorm γ,
/// up_proj rows, v_proj rows) and its linear readers.
mlir::LogicalResult runSmooth(mlir::ModuleOp module, const SmoothConfig &cfg,
                              llvm::json::Array &records);

struct RotateConfig {
  std::string calibration;  // empty: no statistics to transform
  uint64_t seed = 0;
  int64_t headDim = 0;      // 0: no per-head v/o rotation
  std::string vProjPattern = "v_proj";
};
/// Folds a randomized Hadamard rotation of the residual stream (and, with
/// headDim, per-head between v_proj and o_proj) into the weights.
mlir::LogicalResult runRotate(mlir::ModuleOp module, const RotateConfig &cfg,
                              llvm::json::Array &records);
/// hidden_size / num_attention_heads from the `qqq.config` model metadata
/// (written by python -m qqq.models), or 0 when the module has none.
int64_t inferHeadDim(mlir::ModuleOp module);

struct GptqConfig {
  std::string calibration;
  bool rtn = false;
  int64_t groupSize = 0;
  bool actOrder = false;
  bool mseClip = false;
  double damp = 0.01;
  double sinkWeight = 0.5; // share of the windows' first tokens in H
  std::string sinkLayers = "[qkv]_proj$"; // layers whose H gets it
  int64_t blockSize = 128;
  std::string skip = "lm_head";
  Preprocess preprocess = Preprocess::none;
};
/// qqq.linear → qqq.quantize_act + qqq.w4a8_linear (row-major int4).
mlir::LogicalResult runGptq(mlir::ModuleOp module, const GptqConfig &cfg,
                            llvm::json::Array &records);

/// Merges duplicate quantizers and fuses rms_norm + quantize_act.
mlir::LogicalResult runQuantizeAct(mlir::ModuleOp module,
                                   llvm::json::Array &records);

/// Re-packs every qqq.w4a8_linear weight into `layout`.
mlir::LogicalResult runPack(mlir::ModuleOp module, llvm::StringRef layout,
                            llvm::json::Array &records);

} // namespace qqq

#endif
