//===- TemplatePaths.cpp - where kernel templates and CUDA live -----------===//
#include "qqq/CodeGen/TemplatePaths.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

using namespace llvm;

// Baked in by lib/CodeGen/CMakeLists.txt.
#ifndef QQQ_SOURCE_TEMPLATES_DIR
#error "QQQ_SOURCE_TEMPLATES_DIR must be defined by the build"
#endif

namespace qqq::codegen {

static std::optional<std::string> nonEmptyEnv(const char *name) {
  std::optional<std::string> value = sys::Process::GetEnv(name);
  if (value && value->empty())
    return std::nullopt;
  return value;
}

Expected<std::string> kernelTemplatesDir(StringRef override) {
  SmallVector<std::string, 4> candidates;
  if (!override.empty())
    candidates.push_back(override.str());
  else if (std::optional<std::string> env = nonEmptyEnv("QQQ_KERNELS_DIR"))
    candidates.push_back(*env);
  else {
    candidates.push_back(QQQ_INSTALLED_TEMPLATES_DIR);
    candidates.push_back(QQQ_SOURCE_TEMPLATES_DIR);
  }
  for (const std::string &dir : candidates)
    if (sys::fs::is_directory(dir))
      return dir;
  std::string tried;
  for (const std::string &dir : candidates)
    tried += (tried.empty() ? "" : ", ") + dir;
  return createStringError(inconvertibleErrorCode(),
                           "kernel templates not found (tried %s); set "
                           "QQQ_KERNELS_DIR to the kernels-templates directory",
                           tried.c_str());
}

Expected<std::string> cudaIncludeDir(StringRef override) {
  std::string dir;
  if (!override.empty())
    dir = override.str();
  else if (std::optional<std::string> env = nonEmptyEnv("QQQ_CUDA_INCLUDE_DIR"))
    dir = *env;
  else if (std::optional<std::string> home = nonEmptyEnv("CUDA_HOME"))
    dir = *home + "/include";
  else
    dir = QQQ_CUDA_INCLUDE_DIR;
  SmallString<256> header(dir);
  sys::path::append(header, "cuda_fp16.h");
  if (!sys::fs::exists(header))
    return createStringError(inconvertibleErrorCode(),
                             "CUDA headers not found in '%s' (no cuda_fp16.h); "
                             "set QQQ_CUDA_INCLUDE_DIR",
                             dir.c_str());
  return dir;
}

std::string tuningTablesDir() {
  if (std::optional<std::string> env = nonEmptyEnv("QQQ_TUNING_DIR"))
    return *env;
  if (sys::fs::is_directory(QQQ_INSTALLED_TUNING_DIR))
    return QQQ_INSTALLED_TUNING_DIR;
  return QQQ_SOURCE_TUNING_DIR;
}

std::string ptxasPath() {
  if (std::optional<std::string> env = nonEmptyEnv("QQQ_PTXAS"))
    return *env;
  return QQQ_PTXAS_PATH;
}

} // namespace qqq::codegen
