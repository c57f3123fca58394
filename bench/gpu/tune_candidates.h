//===- tune_candidates.h - qqq-tune's search space ------------------------===//
//
// The configurations the tuner (bench_w4a8 --tune) checks and times for one
// (shape, M bucket) on a GPU of `sms` SMs: the catalog's default first, then
// tile, warp, K-tile, stage and split variants and the stream-K forms of
// unsplit tiles whose last wave would leave SMs idle (docs/kernels.md,
// "Tuning table"). Plain C++ on the catalog's types, so it is tested
// without a GPU (test/unittests/CodeGen/TuneCandidatesTest.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_BENCH_GPU_TUNE_CANDIDATES_H
#define QQQ_BENCH_GPU_TUNE_CANDIDATES_H

#include "qqq/CodeGen/KernelCatalog.h"

#include <cstdint>
#include <vector>

namespace qqq::tune {

/// Every candidate is valid for `s` (codegen::whyInvalid), has max_m =
/// `bucket` and appears once; the first is codegen::defaultConfig's.
std::vector<codegen::GemmConfig> candidates(const codegen::GemmShape &s,
                                            int64_t bucket, int64_t sms);

} // namespace qqq::tune

#endif // QQQ_BENCH_GPU_TUNE_CANDIDATES_H
