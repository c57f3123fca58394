//===- DefaultConfigLossTest.cpp - defaultConfig against measured times ---===//
//
// Scores the sm_90a default heuristic against every candidate the H100
// tuner timed (docs/bench/w4a8_h100_candidates.csv: 23 layer shapes, both
// weight schemes, all 8 M buckets, written by `qqq-tune.sh`): for each
// (N, K, group, bucket) the default's time over the fastest candidate's,
// next to that of the default the tuner ran with (the candidates' first).
// Prints the table docs/kernels.md quotes; fails if a default was never
// measured or the loss grows past the bounds below.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/KernelCatalog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace qqq::codegen;

namespace {

struct Key {
  int64_t n, k, group, bucket;
  bool operator<(const Key &o) const {
    return std::tie(n, k, group, bucket) <
           std::tie(o.n, o.k, o.group, o.bucket);
  }
};

struct Timed {
  GemmConfig config;
  double us;
  bool tunersDefault; // the heuristic of the commit the tuner ran
};

std::vector<std::string> splitCsv(const std::string &line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');)
    f.push_back(x);
  return f;
}

// Columns by the header's names ("gpu",N,K,group,max_m,tile_m,...,us; the
// GPU name has no comma); token_tiles_first is absent from lists written
// before the sixteenth session (0).
std::map<Key, std::vector<Timed>> loadCandidates(const std::string &path) {
  std::map<Key, std::vector<Timed>> out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::map<std::string, size_t> col;
  std::vector<std::string> header = splitCsv(line);
  for (size_t i = 0; i < header.size(); ++i)
    col[header[i]] = i;
  for (const char *name : {"N", "K", "group", "max_m", "tile_m", "tile_n",
                           "tile_k", "stages", "warps", "split_k", "stream_k",
                           "default", "status", "us"})
    if (!col.count(name)) {
      ADD_FAILURE() << path << ": no column " << name;
      return out;
    }
  auto ttf = col.find("token_tiles_first");
  while (std::getline(in, line)) {
    std::vector<std::string> f = splitCsv(line);
    if (f.size() != header.size() || f[col["status"]] != "ok")
      continue;
    auto i = [&](const char *name) { return std::stoll(f[col[name]]); };
    GemmConfig c;
    c.arch = "sm_90a";
    c.maxM = i("max_m");
    c.tileM = i("tile_m");
    c.tileN = i("tile_n");
    c.tileK = i("tile_k");
    c.stages = i("stages");
    c.warps = i("warps");
    c.splitK = i("split_k");
    c.streamK = i("stream_k");
    c.tokenTilesFirst = ttf != col.end() && f[ttf->second] == "1";
    c.swapAB = true;
    out[{i("N"), i("K"), i("group"), i("max_m")}].push_back(
        {c, std::stod(f[col["us"]]), i("default") == 1});
  }
  return out;
}

TEST(DefaultConfig, LossAgainstTheH100TunersMeasuredCandidates) {
  auto cands = loadCandidates(QQQ_BENCH_DATA_DIR "/w4a8_h100_candidates.csv");
  ASSERT_EQ(cands.size(), 368u) << "candidate list missing or truncated";
  // Per (group, bucket): log-sums and worst of default / best, for this
  // heuristic and for the one the tuner ran with.
  struct Agg {
    double logNew = 0, logOld = 0, worst = 0;
    int n = 0;
  };
  std::map<std::pair<int64_t, int64_t>, Agg> agg;
  Agg all;
  for (auto &[key, timed] : cands) {
    double best = 1e30, oldUs = -1, newUs = -1;
    GemmConfig def = defaultConfig({key.n, key.k, key.group}, key.bucket,
                                   "sm_90a");
    for (const Timed &t : timed) {
      best = std::min(best, t.us);
      if (t.tunersDefault)
        oldUs = t.us;
      if (t.config == def)
        newUs = t.us;
    }
    ASSERT_GT(newUs, 0) << "N=" << key.n << " K=" << key.k
                        << " group=" << key.group << " bucket=" << key.bucket
                        << ": the default was not among the timed candidates";
    ASSERT_GT(oldUs, 0);
    for (Agg *a : {&agg[{key.group, key.bucket}], &all}) {
      a->logNew += std::log(newUs / best);
      a->logOld += std::log(oldUs / best);
      a->worst = std::max(a->worst, newUs / best);
      ++a->n;
    }
  }
  std::printf("default / fastest candidate (gmean, worst; the tuner's "
              "default):\n");
  for (auto &[gb, a] : agg)
    std::printf("  group %3lld bucket %4lld: %.3f  %.3f  (%.3f)\n",
                static_cast<long long>(gb.first),
                static_cast<long long>(gb.second), std::exp(a.logNew / a.n),
                a.worst, std::exp(a.logOld / a.n));
  double gNew = std::exp(all.logNew / all.n), gOld = std::exp(all.logOld / all.n);
  std::printf("  all %d entries: %.3f (worst %.3f); the tuner's default "
              "%.3f\n",
              all.n, gNew, all.worst, gOld);
  EXPECT_LT(gNew, 1.08);
  EXPECT_LT(all.worst, 1.8);
  for (auto &[gb, a] : agg)
    EXPECT_LT(std::exp(a.logNew / a.n), 1.2)
        << "group " << gb.first << " bucket " << gb.second;
}

} // namespace
