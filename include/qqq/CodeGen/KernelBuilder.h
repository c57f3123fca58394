//===- KernelBuilder.h - catalog entry -> PTX + launch description -*- C++ -*-===//
//
// Joins the kernel catalog (which template, which name expression, which
// geometry) with NVRTC (NvrtcCompiler.h): one call gives the PTX of a kernel
// for a concrete shape and configuration together with its launch rules as
// functions of the token count M, in the form the bundle manifest and the
// runtime use (runtime::KernelEntry).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CODEGEN_KERNELBUILDER_H
#define QQQ_CODEGEN_KERNELBUILDER_H

#include "qqq/CodeGen/KernelCatalog.h"
#include "qqq/CodeGen/NvrtcCompiler.h"
#include "qqq/Runtime/BundleManifest.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace qqq::codegen {

struct GeneratedKernel {
  /// Entry name, family, expression, grid/block/shared memory/workspace as
  /// functions of M and the argument names. `name` and `ptxFile` are left
  /// for the bundle writer.
  runtime::KernelEntry launch;
  std::string ptx;
  bool fromCache = false;
};

/// The argument names of a GEMM family's kernels, in launch order (the
/// catalog's contract in KernelCatalog.h): sm90 adds "x_map".
const std::vector<std::string> &gemmArgumentNames(KernelFamily family);
/// Same for quantize_act / rms_norm_quantize.
const std::vector<std::string> &activationArgumentNames(KernelFamily family);

/// Compiles the GEMM of `config` for `shape` (config.arch is the target).
/// Fails when the catalog rejects the pair (with its reason) or NVRTC fails.
llvm::Expected<GeneratedKernel> generateGemmKernel(const GemmShape &shape,
                                                   const GemmConfig &config,
                                                   CompileOptions options = {});

/// Compiles an activation kernel (quantize_act, rms_norm_quantize) for
/// rows of K values, targeting `options.arch`.
llvm::Expected<GeneratedKernel>
generateActivationKernel(KernelFamily family, int64_t K,
                         CompileOptions options = {});

/// Writes f (a launch quantity as a function of M >= 1) as
/// a * ceil(M / d) + c, checked against f on M = 1..8192 and a few larger
/// values; fails naming `what` when f has another form.
llvm::Expected<runtime::MExpr> fitMExpr(llvm::function_ref<int64_t(int64_t)> f,
                                        llvm::StringRef what);

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_KERNELBUILDER_H
