//===- NvrtcCompiler.cpp - in-process CUDA C++ -> PTX with NVRTC ----------===//
#include "qqq/CodeGen/NvrtcCompiler.h"
#include "qqq/CodeGen/KernelCache.h"
#include "qqq/CodeGen/TemplatePaths.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nvrtc.h>

#include <algorithm>

using namespace llvm;

namespace qqq::codegen {

std::string nvrtcVersionString() {
  int major = 0, minor = 0;
  if (::nvrtcVersion(&major, &minor) != NVRTC_SUCCESS)
    return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

Expected<std::string> virtualArchFor(StringRef arch) {
  if (arch == "sm_90a")
    return std::string("compute_90a");
  if (arch == "sm_80")
    return std::string("compute_80");
  if (arch == "sm_90")
    return std::string("compute_90");
  return createStringError(inconvertibleErrorCode(),
                           "unsupported GPU target '%s' (expected sm_90a or sm_80)",
                           arch.str().c_str());
}

std::vector<std::string> nvrtcOptions(const KernelInstance &instance,
                                      const CompileOptions &options,
                                      const std::string &templatesDir,
                                      const std::string &cudaInclude) {
  std::string virtualArch = "compute_90a";
  if (Expected<std::string> v = virtualArchFor(options.arch))
    virtualArch = *v;
  else
    consumeError(v.takeError());
  std::vector<std::string> opts = {
      "--gpu-architecture=" + virtualArch,
      "--std=c++17",
      "-default-device",
      "-I" + templatesDir,
      "-I" + cudaInclude,
  };
  llvm::append_range(opts, instance.extraOptions);
  return opts;
}

/// Every regular file under the template directory, as (relative name,
/// contents) pairs in name order: part of the cache key, so that editing a
/// template invalidates the PTX generated from it.
static Expected<std::vector<std::string>>
templateTreeContents(const std::string &dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (sys::fs::recursive_directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (it->type() == sys::fs::file_type::regular_file)
      names.push_back(it->path());
  }
  if (ec)
    return createStringError(ec, "cannot list kernel templates in '%s': %s",
                             dir.c_str(), ec.message().c_str());
  std::sort(names.begin(), names.end());
  std::vector<std::string> parts;
  for (const std::string &name : names) {
    ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(name);
    if (!buffer)
      return createStringError(buffer.getError(), "cannot read '%s'",
                               name.c_str());
    parts.push_back(name.substr(dir.size()));
    parts.push_back((*buffer)->getBuffer().str());
  }
  return parts;
}

namespace {
/// Owns an nvrtcProgram.
struct Program {
  nvrtcProgram handle = nullptr;
  ~Program() {
    if (handle)
      nvrtcDestroyProgram(&handle);
  }
};
} // namespace

static Error nvrtcError(nvrtcResult result, const char *what,
                        const KernelInstance &instance) {
  return createStringError(inconvertibleErrorCode(),
                           "NVRTC %s failed for %s (%s): %s", what,
                           instance.nameExpression.c_str(),
                           instance.templateFile.c_str(),
                           nvrtcGetErrorString(result));
}

Expected<CompiledKernel> compileKernel(const KernelInstance &instance,
                                       const CompileOptions &options) {
  if (Expected<std::string> v = virtualArchFor(options.arch); !v)
    return v.takeError();
  Expected<std::string> templatesDir = kernelTemplatesDir(options.templatesDir);
  if (!templatesDir)
    return templatesDir.takeError();
  Expected<std::string> cudaInclude = cudaIncludeDir(options.cudaIncludeDir);
  if (!cudaInclude)
    return cudaInclude.takeError();
  SmallString<256> templatePath(*templatesDir);
  sys::path::append(templatePath, instance.templateFile);
  if (!sys::fs::exists(templatePath))
    return createStringError(inconvertibleErrorCode(),
                             "kernel template '%s' not found",
                             templatePath.c_str());

  const std::string source = "#include \"" + instance.templateFile + "\"\n";
  std::vector<std::string> opts =
      nvrtcOptions(instance, options, *templatesDir, *cudaInclude);

  // The cache key: everything that determines the PTX.
  std::string key;
  std::string cacheDir =
      options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir;
  if (cacheDir == "off")
    cacheDir.clear();
  KernelCache cache(cacheDir);
  if (!cacheDir.empty()) {
    Expected<std::vector<std::string>> tree = templateTreeContents(*templatesDir);
    if (!tree)
      return tree.takeError();
    std::vector<std::string> parts = {"qqq-kernel-cache-v1", nvrtcVersionString(),
                                      source, instance.nameExpression};
    // -I paths differ between machines but not the PTX: the template
    // contents are hashed instead; the CUDA headers follow the NVRTC version.
    for (const std::string &opt : opts)
      if (!StringRef(opt).starts_with("-I"))
        parts.push_back(opt);
    llvm::append_range(parts, *tree);
    key = contentHash(parts);
    if (std::optional<KernelCache::Entry> hit = cache.lookup(key))
      return CompiledKernel{std::move(hit->ptx), std::move(hit->entryName), "",
                            /*fromCache=*/true};
  }

  Program program;
  if (nvrtcResult r = nvrtcCreateProgram(&program.handle, source.c_str(),
                                         "qqq_instance.cu", 0, nullptr, nullptr);
      r != NVRTC_SUCCESS)
    return nvrtcError(r, "program creation", instance);
  if (nvrtcResult r = nvrtcAddNameExpression(program.handle,
                                             instance.nameExpression.c_str());
      r != NVRTC_SUCCESS)
    return nvrtcError(r, "nvrtcAddNameExpression", instance);

  std::vector<const char *> optPtrs;
  for (const std::string &opt : opts)
    optPtrs.push_back(opt.c_str());
  nvrtcResult compiled = nvrtcCompileProgram(
      program.handle, static_cast<int>(optPtrs.size()), optPtrs.data());

  std::string log;
  size_t logSize = 0;
  if (nvrtcGetProgramLogSize(program.handle, &logSize) == NVRTC_SUCCESS &&
      logSize > 1) {
    log.resize(logSize);
    if (nvrtcGetProgramLog(program.handle, log.data()) != NVRTC_SUCCESS)
      log.clear();
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n'))
      log.pop_back();
  }
  if (compiled != NVRTC_SUCCESS) {
    std::string cmd;
    for (const std::string &opt : opts)
      cmd += " " + opt;
    return createStringError(
        inconvertibleErrorCode(),
        "NVRTC failed to compile %s from %s for %s (%s)\n  options:%s\n%s",
        instance.nameExpression.c_str(), templatePath.c_str(),
        options.arch.c_str(), nvrtcGetErrorString(compiled), cmd.c_str(),
        log.c_str());
  }

  const char *lowered = nullptr;
  if (nvrtcResult r = nvrtcGetLoweredName(
          program.handle, instance.nameExpression.c_str(), &lowered);
      r != NVRTC_SUCCESS || !lowered)
    return nvrtcError(r, "nvrtcGetLoweredName", instance);
  CompiledKernel result;
  result.entryName = lowered;
  result.log = std::move(log);

  size_t ptxSize = 0;
  if (nvrtcResult r = nvrtcGetPTXSize(program.handle, &ptxSize);
      r != NVRTC_SUCCESS)
    return nvrtcError(r, "nvrtcGetPTXSize", instance);
  result.ptx.resize(ptxSize);
  if (nvrtcResult r = nvrtcGetPTX(program.handle, result.ptx.data());
      r != NVRTC_SUCCESS)
    return nvrtcError(r, "nvrtcGetPTX", instance);
  while (!result.ptx.empty() && result.ptx.back() == '\0')
    result.ptx.pop_back();

  if (!cacheDir.empty()) {
    // A cache that cannot be written only costs time: report nothing fatal.
    if (Error e = cache.store(key, {result.entryName, result.ptx}))
      consumeError(std::move(e));
  }
  return result;
}

} // namespace qqq::codegen
