//===- BundleManifest.h - the manifest of a qqq kernel bundle ---*- C++ -*-===//
//
// A bundle is a directory written by `qqq-translate --export-bundle`:
// manifest.json, the PTX of every kernel and the raw little-endian tensors
// of every layer. The manifest (format "qqq-bundle-v1") is defined here once,
// for the writer (lib/Export) and the reader (lib/Runtime):
//
//   { "format": "qqq-bundle-v1", "arch": "sm_90a",
//     "kernels": [ { "name": "k0", "ptx": "kernels/k0.ptx", "entry": "_Z...",
//                    "family": "w4a8_gemm_sm90", "expression": "qqq::...<...>",
//                    "grid": [G, G, G], "block": [x, y, z],
//                    "shared_bytes": s, "workspace_bytes": G,
//                    "args": ["x", "s_tok", ...],
//                    "x_map_rows": r,          // optional, see KernelEntry
//                    "workspace_scratch": true } ],  // optional, likewise
//     "layers": [ { "name": "layers.0.q_proj", "kind": "w4a8_linear",
//                   "n": N, "k": K, "group_size": G, "layout": "sm90_interleaved",
//                   "tensors": { "weight": T, "channel_scale": T, ... },
//                   "buckets": [ { "max_m": 16, "kernel": "k0" }, ...,
//                                { "max_m": 0, "kernel": "k3" } ] } ] }
//
// Quantizer layers (quantize_act, rms_norm_quantize) list the w4a8_linear
// layers that read their output in "consumers". A w4a8_linear fused from
// several layers (qqq-fuse-projections) lists them in "parts":
// [{"name": "layers.0.q_proj", "offset": 0, "n": 4096}, ...], their output
// columns in order, covering [0, n).
//
// A launch dimension G that depends on the token count M is
// `{"mul": a, "div": d, "add": c}` = a * ceil(M / d) + c (d = 0: just c).
// A tensor T is `{"file": "tensors/x.bin", "dtype": "i8", "shape": [..]}`,
// raw little-endian bytes, row-major. Buckets are ordered by max_m, 0 (no
// bound) last; M is served by the first bucket with M <= max_m.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_RUNTIME_BUNDLEMANIFEST_H
#define QQQ_RUNTIME_BUNDLEMANIFEST_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qqq::runtime {

inline constexpr const char *kBundleFormat = "qqq-bundle-v1";

/// a * ceil(M / d) + c; d == 0 means the constant c.
struct MExpr {
  int64_t mul = 0;
  int64_t div = 0;
  int64_t add = 0;
  static MExpr constant(int64_t c) { return {0, 0, c}; }
  int64_t evaluate(int64_t M) const {
    if (div == 0)
      return add;
    return mul * ((M + div - 1) / div) + add;
  }
  bool operator==(const MExpr &o) const {
    return mul == o.mul && div == o.div && add == o.add;
  }
};

struct KernelEntry {
  std::string name;       // bundle-local id
  std::string ptxFile;    // relative to the bundle directory
  std::string entry;      // PTX .entry (lowered name)
  std::string family;     // catalog family name
  std::string expression; // NVRTC name expression it was instantiated from
  MExpr grid[3];
  int64_t block[3] = {1, 1, 1};
  int64_t sharedBytes = 0;
  MExpr workspaceBytes;
  /// What the kernel leaves zero in its workspace. true: only the flags at
  /// its start; the rest is scratch (sm_90a stream-K since the fourteenth
  /// session). false (absent): all of it (sm_80 split-K, which adds into
  /// zeros, and sm_90a stream-K kernels of older bundles, whose flags lie
  /// after the slots). The runtime gives the two kinds different
  /// workspaces, so bundles of either kind can share a stream.
  bool workspaceScratch = false;
  std::vector<std::string> args; // argument names in launch order
  /// May be launched with programmatic stream serialization (the kernel
  /// waits for the previous grid itself: codegen::allowsProgrammaticLaunch).
  bool programmaticLaunch = false;
  /// The box rows of the activation tensor map passed as argument "x_map"
  /// (runtime::encodeActivationMap; codegen::activationMapRows), 1..256; 0:
  /// the kernel reads no map (an "x_map" argument is then zeros).
  int64_t xMapRows = 0;
};

struct TensorFile {
  std::string file;  // relative to the bundle directory
  std::string dtype; // i8, u8, f16, f32, i32
  std::vector<int64_t> shape;
  /// Bytes the file must hold: product(shape) * element size.
  int64_t byteSize() const;
};

struct Bucket {
  int64_t maxM = 0; // 0: no bound
  std::string kernel;
};

/// One layer of a fused w4a8_linear: its columns [offset, offset + n).
struct LayerPart {
  std::string name;
  int64_t offset = 0, n = 0;
};

struct LayerEntry {
  std::string name;
  std::string kind; // w4a8_linear, quantize_act, rms_norm_quantize
  int64_t n = 0, k = 0, groupSize = 0;
  double epsilon = 0; // rms_norm_quantize
  std::string layout;
  std::map<std::string, TensorFile> tensors;
  std::vector<Bucket> buckets;
  /// Activation quantizers: the w4a8_linear layers reading their output.
  std::vector<std::string> consumers;
  /// A fused w4a8_linear: the layers it computes, in column order.
  std::vector<LayerPart> parts;
  /// Whether this layer computes `name`'s outputs (it is `name`, or lists it
  /// in its parts); `part` then says which columns of its output they are.
  bool computes(llvm::StringRef name, LayerPart &part) const;
  /// The bucket serving M, or nullptr when none does.
  const Bucket *bucketFor(int64_t M) const;
};

struct BundleManifest {
  std::string arch;
  std::vector<KernelEntry> kernels;
  std::vector<LayerEntry> layers;
  const KernelEntry *findKernel(llvm::StringRef name) const;
  const LayerEntry *findLayer(llvm::StringRef name) const;
  /// The layer computing `name`'s outputs and where they are in its output
  /// rows: the layer called `name` (all its columns), or the fused layer
  /// listing `name` in its parts. Null when neither exists.
  const LayerEntry *findLayerPart(llvm::StringRef name, LayerPart &part) const;
};

/// Element size of a manifest dtype, 0 if unknown.
int64_t dtypeSize(llvm::StringRef dtype);

/// Parses and validates (every bucket names a kernel, buckets are ordered,
/// dtypes known, shapes non-negative). `source` names the file in errors.
llvm::Expected<BundleManifest> parseManifest(llvm::StringRef json,
                                             llvm::StringRef source);
llvm::json::Value toJSON(const BundleManifest &manifest);

} // namespace qqq::runtime

#endif // QQQ_RUNTIME_BUNDLEMANIFEST_H
