//===- qqq-hadamard-search.cpp - Search for Goethals-Seidel sequences -----===//
//
// qqq-hadamard-search --length V [--multiplier-order K] [--seed S]
//                     [--steps-per-restart N] [--max-restarts R]
//                     [--t-start T0] [--t-end T1] [--check]
//                     [--compare-kept]
//
// Runs searchGoethalsSeidelSequences (lib/Numerics/Hadamard.cpp): simulated
// annealing for four +-1 sequences of length V whose periodic
// autocorrelations sum to zero at every nonzero shift, optionally constant on
// the orbits of a multiplier of order K modulo V. Prints the four sequences
// as '+'/'-' strings (one a line, the form Hadamard.cpp keeps), then the
// search statistics and the wall time on stderr. Exit status 0 when found,
// 1 when the restarts ran out, 2 on bad arguments.
//
// With --check, it also builds the Goethals-Seidel matrix of order 4V and
// verifies H H^T = 4V I in integer arithmetic. With --compare-kept, the
// multiplier order and seed default to the ones recorded for length V in
// lib/Numerics/Hadamard.cpp and the result must equal the kept sequences
// (ctest runs this for every kept length).
//
//===----------------------------------------------------------------------===//

#include "qqq/Numerics/Hadamard.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace qqq::numerics;

namespace {

int usage(const char *argv0) {
  std::fprintf(stderr,
               "usage: %s --length V [--multiplier-order K] [--seed S] "
               "[--steps-per-restart N] [--max-restarts R] [--t-start T0] "
               "[--t-end T1] [--check] [--compare-kept]\n",
               argv0);
  return 2;
}

bool isHadamard(const Matrix<int8_t> &h) {
  for (int64_t i = 0; i < h.rows; ++i)
    for (int64_t j = i; j < h.rows; ++j) {
      int64_t s = 0;
      for (int64_t k = 0; k < h.cols; ++k)
        s += h.at(i, k) * h.at(j, k);
      if (s != (i == j ? h.rows : 0))
        return false;
    }
  return h.rows > 0;
}

} // namespace

int main(int argc, char **argv) {
  GoethalsSeidelSearchOptions opts;
  bool check = false, compareKept = false, orderGiven = false,
       seedGiven = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto nextInt = [&](int64_t &v) {
      if (i + 1 >= argc)
        return false;
      char *end;
      v = std::strtoll(argv[++i], &end, 10);
      return *end == 0;
    };
    auto nextDouble = [&](double &v) {
      if (i + 1 >= argc)
        return false;
      char *end;
      v = std::strtod(argv[++i], &end);
      return *end == 0;
    };
    bool ok = true;
    int64_t seed = 0;
    if (a == "--length")
      ok = nextInt(opts.length);
    else if (a == "--multiplier-order")
      ok = orderGiven = nextInt(opts.multiplierOrder);
    else if (a == "--seed") {
      ok = seedGiven = nextInt(seed) && seed >= 0;
      opts.seed = static_cast<uint64_t>(seed);
    } else if (a == "--steps-per-restart")
      ok = nextInt(opts.stepsPerRestart);
    else if (a == "--max-restarts")
      ok = nextInt(opts.maxRestarts);
    else if (a == "--t-start")
      ok = nextDouble(opts.startTemperature);
    else if (a == "--t-end")
      ok = nextDouble(opts.endTemperature);
    else if (a == "--check")
      check = true;
    else if (a == "--compare-kept")
      compareKept = true;
    else
      ok = false;
    if (!ok)
      return usage(argv[0]);
  }
  if (opts.length < 1)
    return usage(argv[0]);
  GoethalsSeidelSequences kept;
  if (compareKept) {
    if (!goethalsSeidelSequences(opts.length, kept)) {
      std::fprintf(stderr, "error: no sequences of length %lld are kept\n",
                   (long long)opts.length);
      return 2;
    }
    for (const GoethalsSeidelKeptSearch &k : goethalsSeidelKeptSearches())
      if (k.length == opts.length) {
        if (!orderGiven)
          opts.multiplierOrder = k.multiplierOrder;
        if (!seedGiven)
          opts.seed = k.seed;
      }
  }

  auto t0 = std::chrono::steady_clock::now();
  GoethalsSeidelSearchResult r = searchGoethalsSeidelSequences(opts);
  double secs = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
  if (!r.error.empty()) {
    std::fprintf(stderr, "error: %s\n", r.error.c_str());
    return 2;
  }
  std::fprintf(stderr,
               "length %lld, multiplier %lld (order %lld), seed %llu: %s "
               "after %lld restarts, %lld steps, %.3f s\n",
               (long long)opts.length, (long long)r.multiplier,
               (long long)opts.multiplierOrder,
               (unsigned long long)opts.seed,
               r.found ? "found" : "NOT found", (long long)r.restarts,
               (long long)r.steps, secs);
  if (!r.found)
    return 1;
  for (const auto &x : r.seqs) {
    std::string line;
    for (int8_t e : x)
      line += e > 0 ? '+' : '-';
    std::printf("%s\n", line.c_str());
  }
  if (!hasZeroPeriodicAutocorrelationSum(r.seqs)) {
    std::fprintf(stderr, "error: the PAF sums are not zero\n");
    return 1;
  }
  if (compareKept) {
    bool same = r.seqs == kept;
    std::fprintf(stderr, "%s the sequences kept in lib/Numerics/Hadamard.cpp\n",
                 same ? "equal to" : "DIFFERENT from");
    if (!same)
      return 1;
  }
  if (check) {
    bool ok = isHadamard(goethalsSeidelMatrix(r.seqs));
    std::fprintf(stderr, "Goethals-Seidel matrix of order %lld: %s\n",
                 (long long)(4 * opts.length),
                 ok ? "H H^T = n I" : "NOT Hadamard");
    if (!ok)
      return 1;
  }
  return 0;
}
