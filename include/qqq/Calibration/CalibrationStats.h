//===- CalibrationStats.h - per-activation calibration statistics -*- C++ -*-===//
//
// The statistics `python -m qqq.calibrate` writes (docs/python.md), one entry
// per linear-layer input activation, keyed by the `input_name` of the
// `qqq.linear`:
//   <act>.min f32[K], <act>.max f32[K]   per-channel extremes
//   <act>.xtx f64[K,K]                   Σ x xᵀ over all calibration tokens
//   <act>.count i64[1]                   number of tokens
//   <act>.sample f32[R,K]                a fixed random sample of rows
//   <act>.first f32[W,K] (optional)      the first token of each of the W
//                                        windows (the attention sink); read
//                                        as xtxFirst = Σ x₀x₀ᵀ, countFirst = W
//   <act>.xtx_first f64[K,K], <act>.count_first i64[1] (optional, the first
//                                        format: that sum stored directly)
//
// Design: the quantization passes share one in-memory copy. A file is loaded
// once, lazily, by the first pass that needs it (CalibrationRegistry::get),
// and cached by its path for the life of the process. Passes that change the
// activations (smoothing divides channels by s, rotation multiplies by Q)
// update the cached statistics in place, so a later pass of the same pipeline
// (GPTQ) sees the statistics of the transformed activations without touching
// the file again. Separate qqq-opt invocations each start from the file.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CALIBRATION_CALIBRATIONSTATS_H
#define QQQ_CALIBRATION_CALIBRATIONSTATS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qqq {

/// The statistics of one activation with K channels.
struct ActivationStats {
  int64_t channels = 0;        // K
  int64_t count = 0;           // tokens accumulated into xtx
  std::vector<float> min, max; // [K]
  std::vector<double> xtx;     // [K*K], row-major, Σ x xᵀ
  int64_t sampleRows = 0;      // R
  std::vector<float> sample;   // [R*K], row-major
  int64_t countFirst = 0;        // windows; 0 when the file has no first-token
  std::vector<double> xtxFirst;  // [K*K], Σ x₀x₀ᵀ over first tokens

  /// x → x / s per channel: min/max/sample divided, xtx (and xtxFirst) →
  /// S⁻¹·xtx·S⁻¹.
  /// A negative s flips min and max of that channel.
  void divideChannels(const std::vector<double> &s);
  /// x → x·Q (Q: K×K row-major): xtx (and xtxFirst) → Qᵀ·xtx·Q,
  /// sample → sample·Q;
  /// min/max are recomputed from the rotated sample (the only rows kept).
  void rotate(const std::vector<double> &q);
};

/// All activations of one calibration file.
class CalibrationStats {
public:
  /// Parses a safetensors file. Errors name the file and the offending tensor.
  static llvm::Expected<std::unique_ptr<CalibrationStats>>
  load(llvm::StringRef path);

  /// The statistics of activation `name`, or null when the file has none.
  ActivationStats *lookup(llvm::StringRef name);
  const std::string &path() const { return filePath; }
  size_t size() const { return acts.size(); }

private:
  std::string filePath;
  llvm::StringMap<ActivationStats> acts;
};

/// Process-wide cache of loaded calibration files (see the file comment).
class CalibrationRegistry {
public:
  /// Loads `path` on first use; later calls return the same object.
  static llvm::Expected<CalibrationStats *> get(llvm::StringRef path);
  /// Forgets a cached file (tests; a pipeline that wants a fresh copy).
  static void drop(llvm::StringRef path);
};

} // namespace qqq

#endif // QQQ_CALIBRATION_CALIBRATIONSTATS_H
