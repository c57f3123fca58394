//===- Report.cpp - JSON reports written atomically ------------------------===//
#include "Report.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

Error qqq::writeJsonAtomically(StringRef path, const json::Value &value) {
  SmallString<256> tmp;
  int fd;
  SmallString<256> model(path);
  model += ".tmp-%%%%%%";
  if (std::error_code ec = sys::fs::createUniqueFile(model, fd, tmp))
    return createStringError("cannot create a temporary file next to '" +
                             path + "': " + ec.message());
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << formatv("{0:2}", value) << "\n";
    os.close();
    if (os.has_error()) {
      sys::fs::remove(tmp);
      return createStringError("cannot write report '" + path +
                               "': " + os.error().message());
    }
  }
  if (std::error_code ec = sys::fs::rename(tmp, path)) {
    sys::fs::remove(tmp);
    return createStringError("cannot rename the report to '" + path +
                             "': " + ec.message());
  }
  return Error::success();
}
