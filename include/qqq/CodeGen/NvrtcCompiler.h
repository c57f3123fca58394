//===- NvrtcCompiler.h - in-process CUDA C++ -> PTX with NVRTC --*- C++ -*-===//
//
// Compiles one instantiation of a kernel template to PTX in-process with
// NVRTC. The translation unit is `#include "<template>"` plus the template's
// name expression (registered with nvrtcAddNameExpression so that NVRTC
// instantiates it and reports its lowered, i.e. mangled, entry name).
// Results are cached by content hash (KernelCache.h).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CODEGEN_NVRTCCOMPILER_H
#define QQQ_CODEGEN_NVRTCCOMPILER_H

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace qqq::codegen {

/// What to compile: a template header (a file name relative to the
/// kernel-template directory) and the C++ name expression of the
/// instantiation, e.g. `qqq::w4a8_gemm_sm90<128, 64, ...>`.
struct KernelInstance {
  std::string templateFile;
  std::string nameExpression;
  /// Extra NVRTC options (e.g. -D macros) the instantiation needs.
  std::vector<std::string> extraOptions;
};

struct CompileOptions {
  /// PTX target: "sm_90a" or "sm_80" (compiled for compute_90a / compute_80,
  /// so the PTX says `.target sm_90a` and wgmma is allowed).
  std::string arch = "sm_90a";
  /// Kernel-template directory; empty: kernelTemplatesDir() decides.
  std::string templatesDir;
  /// CUDA include directory; empty: cudaIncludeDir() decides.
  std::string cudaIncludeDir;
  /// Cache directory; empty: defaultCacheDir(). "off" disables the cache.
  std::string cacheDir;
};

struct CompiledKernel {
  std::string ptx;
  /// The lowered (mangled) name of the instantiation: the PTX .entry.
  std::string entryName;
  /// NVRTC's log (warnings), empty when it said nothing.
  std::string log;
  /// True when the PTX came from the cache without running NVRTC.
  bool fromCache = false;
};

/// Compiles `instance` for `options.arch`. Fails with the NVRTC log when
/// compilation fails, naming the template and the name expression.
llvm::Expected<CompiledKernel> compileKernel(const KernelInstance &instance,
                                             const CompileOptions &options = {});

/// The NVRTC options compileKernel passes (in order, without -I paths'
/// resolution being repeated): exposed for the cache key and for tests.
std::vector<std::string> nvrtcOptions(const KernelInstance &instance,
                                      const CompileOptions &options,
                                      const std::string &templatesDir,
                                      const std::string &cudaIncludeDir);

/// "major.minor" of the NVRTC library linked in.
std::string nvrtcVersionString();

/// The NVRTC virtual architecture for a PTX target ("sm_90a" -> "compute_90a").
llvm::Expected<std::string> virtualArchFor(llvm::StringRef arch);

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_NVRTCCOMPILER_H
