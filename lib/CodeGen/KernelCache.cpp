//===- KernelCache.cpp - content-addressed PTX cache ----------------------===//
#include "qqq/CodeGen/KernelCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace qqq::codegen {

std::string defaultCacheDir() {
  if (std::optional<std::string> dir = sys::Process::GetEnv("QQQ_CACHE_DIR"))
    if (!dir->empty())
      return *dir;
  if (std::optional<std::string> xdg = sys::Process::GetEnv("XDG_CACHE_HOME"))
    if (!xdg->empty()) {
      SmallString<256> path(*xdg);
      sys::path::append(path, "qqq");
      return std::string(path);
    }
  SmallString<256> home;
  if (!sys::path::home_directory(home))
    return std::string(); // no home: caching is skipped
  sys::path::append(home, ".cache", "qqq");
  return std::string(home);
}

std::string contentHash(ArrayRef<std::string> parts) {
  SHA256 hasher;
  for (const std::string &part : parts) {
    uint64_t size = part.size();
    uint8_t sizeBytes[8];
    for (int i = 0; i < 8; ++i)
      sizeBytes[i] = static_cast<uint8_t>(size >> (8 * i));
    hasher.update(ArrayRef<uint8_t>(sizeBytes, 8));
    hasher.update(StringRef(part));
  }
  std::array<uint8_t, 32> digest = hasher.final();
  return toHex(ArrayRef<uint8_t>(digest.data(), digest.size()),
               /*LowerCase=*/true);
}

std::string KernelCache::pathFor(StringRef key) const {
  SmallString<256> path(dir);
  sys::path::append(path, key + ".ptx");
  return std::string(path);
}

std::optional<KernelCache::Entry> KernelCache::lookup(StringRef key) const {
  if (dir.empty())
    return std::nullopt;
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(pathFor(key), /*IsText=*/false,
                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return std::nullopt;
  StringRef contents = (*buffer)->getBuffer();
  auto [entryLine, ptx] = contents.split('\n');
  // An entry is "<entry name>\n<ptx>"; PTX always has a .entry directive.
  if (entryLine.empty() || !ptx.contains(".entry"))
    return std::nullopt;
  return Entry{entryLine.str(), ptx.str()};
}

Error KernelCache::store(StringRef key, const Entry &entry) const {
  if (dir.empty())
    return Error::success();
  if (std::error_code ec = sys::fs::create_directories(dir))
    return createStringError(ec, "cannot create kernel cache directory '%s': %s",
                             dir.c_str(), ec.message().c_str());
  std::string target = pathFor(key);
  SmallString<256> tempPath;
  int fd;
  if (std::error_code ec =
          sys::fs::createUniqueFile(target + ".tmp-%%%%%%%%", fd, tempPath))
    return createStringError(ec, "cannot create a file in '%s': %s", dir.c_str(),
                             ec.message().c_str());
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << entry.entryName << '\n' << entry.ptx;
    os.close();
    if (os.has_error()) {
      sys::fs::remove(tempPath);
      return createStringError(os.error(), "cannot write '%s'",
                               tempPath.c_str());
    }
  }
  if (std::error_code ec = sys::fs::rename(tempPath, target)) {
    sys::fs::remove(tempPath);
    return createStringError(ec, "cannot rename '%s' to '%s': %s",
                             tempPath.c_str(), target.c_str(),
                             ec.message().c_str());
  }
  return Error::success();
}

} // namespace qqq::codegen
