//===- Report.h - per-layer statistics of the quantization passes -*- C++ -*-===//
#ifndef QQQ_LIB_DIALECT_QQQ_TRANSFORMS_REPORT_H
#define QQQ_LIB_DIALECT_QQQ_TRANSFORMS_REPORT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <chrono>

namespace qqq {

/// Writes `value` as pretty JSON to `path` through a temporary file in the
/// same directory and a rename, so readers never see a partial report.
llvm::Error writeJsonAtomically(llvm::StringRef path,
                                const llvm::json::Value &value);

/// Seconds since construction.
class StageTimer {
public:
  StageTimer() : start(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  }

private:
  std::chrono::steady_clock::time_point start;
};

} // namespace qqq

#endif
