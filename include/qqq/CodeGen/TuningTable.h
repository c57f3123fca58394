//===- TuningTable.h - per-shape kernel configurations ----------*- C++ -*-===//
//
// The JSON tables written by qqq-tune under tuning/ (format
// "qqq-tuning-v1", described in KernelCatalog.h): for one GPU, the best
// configuration per (arch, N, K, group, M bucket).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CODEGEN_TUNINGTABLE_H
#define QQQ_CODEGEN_TUNINGTABLE_H

#include "qqq/CodeGen/KernelCatalog.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace qqq::codegen {

struct TuningEntry {
  GemmShape shape;
  GemmConfig config; // config.maxM is the entry's M bucket
  double timeUs = 0;
};

class TuningTable {
public:
  std::string gpu;
  std::vector<TuningEntry> entries;

  /// Parses one table; `source` names it in errors.
  static llvm::Expected<TuningTable> parse(llvm::StringRef json,
                                           llvm::StringRef source);
  static llvm::Expected<TuningTable> load(llvm::StringRef path);
  /// The *.json files of `dir`, sorted; an error when it cannot be listed.
  static llvm::Expected<std::vector<std::string>>
  tableFiles(llvm::StringRef dir);
  /// The table for `gpu` among the *.json files of `dir` (exact match of the
  /// "gpu" field); nullopt when none matches. Unreadable tables are errors.
  static llvm::Expected<std::optional<TuningTable>>
  findForGpu(llvm::StringRef dir, llvm::StringRef gpu);

  /// The entry serving M tokens: same arch, N, K, group and the smallest
  /// max_m >= M, an unbounded entry (max_m 0) last. nullptr if none.
  const TuningEntry *lookup(llvm::StringRef arch, const GemmShape &shape,
                            int64_t M) const;
  /// The configuration for a selection bucket (mBuckets()): the lookup for
  /// M = bucket, or, for the unbounded bucket 0, the entry with max_m 0.
  /// The returned config has maxM = bucket.
  std::optional<GemmConfig> configForBucket(llvm::StringRef arch,
                                            const GemmShape &shape,
                                            int64_t bucket) const;
};

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_TUNINGTABLE_H
