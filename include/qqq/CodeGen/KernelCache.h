//===- KernelCache.h - content-addressed PTX cache --------------*- C++ -*-===//
//
// Generated PTX keyed by the SHA-256 of everything that determines it: the
// translation unit, the NVRTC options, the NVRTC version and the contents of
// the kernel-template files. One file per entry (`<hex>.ptx`, the first line
// being the entry name), written to a temporary file and renamed, so
// concurrent compilers never see a partial entry.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CODEGEN_KERNELCACHE_H
#define QQQ_CODEGEN_KERNELCACHE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace qqq::codegen {

/// `$QQQ_CACHE_DIR`, else `$XDG_CACHE_HOME/qqq`, else `~/.cache/qqq`.
std::string defaultCacheDir();

/// SHA-256 (hex) over the given parts, each length-prefixed so that
/// ("ab", "c") and ("a", "bc") differ.
std::string contentHash(llvm::ArrayRef<std::string> parts);

class KernelCache {
public:
  explicit KernelCache(std::string dir) : dir(std::move(dir)) {}
  const std::string &directory() const { return dir; }

  struct Entry {
    std::string entryName;
    std::string ptx;
  };
  /// The entry for `key`, or nullopt when absent or unreadable (a corrupt
  /// entry is treated as a miss and overwritten by the next store).
  std::optional<Entry> lookup(llvm::StringRef key) const;
  /// Stores atomically (temp file + rename); creates the directory.
  llvm::Error store(llvm::StringRef key, const Entry &entry) const;
  std::string pathFor(llvm::StringRef key) const;

private:
  std::string dir;
};

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_KERNELCACHE_H
