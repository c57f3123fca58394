//===- PtxAssembler.cpp - check generated PTX with ptxas ------------------===//
#include "qqq/CodeGen/PtxAssembler.h"
#include "qqq/CodeGen/TemplatePaths.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace qqq::codegen {

static Expected<std::string> tempFile(StringRef suffix,
                                      SmallVectorImpl<std::string> &owned) {
  SmallString<128> path;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("qqq-ptxas", suffix, path))
    return createStringError(ec, "cannot create a temporary file: %s",
                             ec.message().c_str());
  owned.push_back(std::string(path));
  return std::string(path);
}

Error assembleWithPtxas(const std::string &ptx, const std::string &arch,
                        std::string *resources) {
  SmallVector<std::string, 3> files;
  llvm::scope_exit cleanup([&] {
    for (const std::string &f : files)
      sys::fs::remove(f);
  });
  Expected<std::string> input = tempFile("ptx", files);
  Expected<std::string> output = input ? tempFile("cubin", files)
                                       : Expected<std::string>(std::string());
  Expected<std::string> log = output ? tempFile("log", files)
                                     : Expected<std::string>(std::string());
  if (!input)
    return input.takeError();
  if (!output)
    return output.takeError();
  if (!log)
    return log.takeError();
  {
    std::error_code ec;
    raw_fd_ostream os(*input, ec);
    if (ec)
      return createStringError(ec, "cannot write %s", input->c_str());
    os << ptx;
  }
  std::string ptxas = ptxasPath();
  std::string archFlag = "-arch=" + arch;
  SmallVector<StringRef, 8> args = {ptxas, archFlag, "-v", "-o", *output,
                                    *input};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(*log),
                                          StringRef(*log)};
  std::string execError;
  int rc = sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                               /*SecondsToWait=*/300, /*MemoryLimit=*/0,
                               &execError);
  std::string diagnostics;
  if (ErrorOr<std::unique_ptr<MemoryBuffer>> buf = MemoryBuffer::getFile(*log))
    diagnostics = (*buf)->getBuffer().str();
  if (rc != 0)
    return createStringError(inconvertibleErrorCode(),
                             "ptxas %s rejected the PTX (exit %d)%s%s\n%s",
                             archFlag.c_str(), rc, execError.empty() ? "" : ": ",
                             execError.c_str(), diagnostics.c_str());
  if (resources)
    *resources = std::move(diagnostics);
  return Error::success();
}

} // namespace qqq::codegen
