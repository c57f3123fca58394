//===- TemplatePaths.h - where kernel templates and CUDA live ---*- C++ -*-===//
#ifndef QQQ_CODEGEN_TEMPLATEPATHS_H
#define QQQ_CODEGEN_TEMPLATEPATHS_H

#include "llvm/Support/Error.h"

#include <string>

namespace qqq::codegen {

/// The kernel-template directory: `override` when non-empty, else
/// `$QQQ_KERNELS_DIR`, else the installed `<prefix>/share/qqq/kernels-templates`,
/// else the source tree's `kernels-templates` (baked in at configure time).
/// Fails when the chosen directory does not exist, listing what was tried.
llvm::Expected<std::string> kernelTemplatesDir(llvm::StringRef override = "");

/// The CUDA include directory (for NVRTC's -I): `override`, else
/// `$QQQ_CUDA_INCLUDE_DIR`, else `$CUDA_HOME/include`, else the toolkit found
/// at configure time.
llvm::Expected<std::string> cudaIncludeDir(llvm::StringRef override = "");

/// The tuning-table directory: `$QQQ_TUNING_DIR`, else the installed
/// `<prefix>/share/qqq/tuning`, else the source tree's `tuning` (which may
/// not exist: then there are no tables).
std::string tuningTablesDir();

/// `ptxas` of the CUDA toolkit found at configure time (or `$QQQ_PTXAS`).
std::string ptxasPath();

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_TEMPLATEPATHS_H
