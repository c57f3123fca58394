//===- BundleExport.h - write a kernel bundle for the GPU runtime -*- C++ -*-===//
//
// `qqq-translate --export-bundle DIR` on a quantized module (after
// qqq-select-kernels, with weights in the kernels' layout): for every
// qqq.w4a8_linear, qqq.quantize_act and qqq.rms_norm_quantize, the kernels
// are generated (KernelBuilder: NVRTC, cached) and DIR receives
//   manifest.json            format qqq-bundle-v1 (qqq/Runtime/BundleManifest.h)
//   kernels/<family>_<i>.ptx one file per distinct kernel instance
//   tensors/<layer>.<arg>.bin the layers' constants, raw little-endian
// DIR is written as DIR.tmp and renamed into place when complete.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_EXPORT_BUNDLEEXPORT_H
#define QQQ_EXPORT_BUNDLEEXPORT_H

#include "qqq/CodeGen/NvrtcCompiler.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace qqq {

struct BundleExportOptions {
  /// Target of the activation kernels and of the manifest ("arch"); the
  /// GEMMs follow their #qqq.kernel, which must name the same target.
  std::string arch = "sm_90a";
  /// Template/cache directories for NVRTC (empty: the defaults).
  codegen::CompileOptions compile;
};

/// Writes the bundle; errors are emitted on the offending op (or the
/// module) and the target directory is left untouched.
mlir::LogicalResult exportBundle(mlir::ModuleOp module, llvm::StringRef dir,
                                 const BundleExportOptions &options);

} // namespace qqq

#endif // QQQ_EXPORT_BUNDLEEXPORT_H
