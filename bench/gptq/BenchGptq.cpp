//===- BenchGptq.cpp - GPTQ speed on a LLaMA-7B down_proj-sized layer -----===//
//
// qqq-bench-gptq [--n N] [--k K] [--group G] [--act-order] [--calib ROWS]
//                [--block B]
// Quantizes a random N x K weight (default 4096 x 11008, the LLaMA-7B
// down_proj) with a Hessian from ROWS synthetic calibration rows, and prints
// the GPTQ wall time, its phases, the GFLOP/s of the lazy-batch update sgemms
// and the machine's SGEMM rate on the same shapes, measured in this run.
//
//===----------------------------------------------------------------------===//

#include "qqq/Numerics/GPTQ.h"
#include "qqq/Numerics/Quantizers.h"

#include <cblas.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

using namespace qqq::numerics;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// SGEMM GFLOP/s of C[M x N] -= A^T[M x B] * E[B x N], GPTQ's update shape,
/// best of a few repetitions.
double sgemmRate(int64_t M, int64_t N, int64_t B) {
  std::vector<float> a(static_cast<size_t>(B * M), 0.01f),
      e(static_cast<size_t>(B * N), 0.02f), c(static_cast<size_t>(M * N), 0.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    double t = now();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(M), int(N), int(B),
                -1.0f, a.data(), int(M), e.data(), int(N), 1.0f, c.data(), int(N));
    t = now() - t;
    best = std::max(best, 2.0 * M * N * B / t / 1e9);
  }
  return best;
}

int usage(const char *argv0) {
  std::fprintf(stderr,
               "usage: %s [--n N] [--k K] [--group G] [--act-order] "
               "[--calib ROWS] [--block B]\n",
               argv0);
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  int64_t N = 4096, K = 11008, G = 128, calib = 1024, block = 128;
  bool actOrder = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](int64_t &v) {
      if (i + 1 >= argc)
        return false;
      char *end;
      v = std::strtoll(argv[++i], &end, 10);
      return *end == 0;
    };
    bool ok = true;
    if (a == "--n")
      ok = next(N);
    else if (a == "--k")
      ok = next(K);
    else if (a == "--group")
      ok = next(G);
    else if (a == "--calib")
      ok = next(calib);
    else if (a == "--block")
      ok = next(block);
    else if (a == "--act-order")
      actOrder = true;
    else
      ok = false;
    if (!ok)
      return usage(argv[0]);
  }
  if (N <= 0 || K <= 0 || calib <= 0 || block <= 0)
    return usage(argv[0]);

  // Synthetic layer: Gaussian weight, calibration rows with low-rank
  // structure and outlier channels.
  std::mt19937_64 rng(1);
  std::normal_distribution<float> nd;
  Matrix<float> W(N, K), x(calib, K);
  for (float &v : W.data)
    v = 0.02f * nd(rng);
  const int64_t rank = 32;
  Matrix<float> z(calib, rank), basis(rank, K);
  for (float &v : z.data)
    v = nd(rng);
  for (float &v : basis.data)
    v = nd(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(calib), int(K),
              int(rank), 1.0f, z.data.data(), int(rank), basis.data.data(),
              int(K), 0.0f, x.data.data(), int(K));
  for (int64_t m = 0; m < calib; ++m)
    for (int64_t k = 0; k < K; ++k)
      x.at(m, k) += 0.1f * nd(rng) * (k % 997 == 0 ? 30.0f : 1.0f);
  double t0 = now();
  Matrix<double> H = computeHessian(x);
  double hessianSeconds = now() - t0;

  GptqOptions opt;
  opt.groupSize = G;
  opt.actOrder = actOrder;
  opt.staticGroups = actOrder && G > 0;
  opt.blockSize = block;
  std::clock_t cpu0 = std::clock();
  GptqResult r = gptqQuantize(W, H, opt);
  double cpuSeconds = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  if (!r.error.empty()) {
    std::fprintf(stderr, "qqq-bench-gptq: %s\n", r.error.c_str());
    return 1;
  }
  double rate = sgemmRate(std::max<int64_t>(K / 2, 1), N, std::min(block, K));
  double squareRate = sgemmRate(2048, 2048, 2048);
  double updateRate = r.updateSeconds > 0 ? r.updateFlops / r.updateSeconds / 1e9 : 0;

  // Output error vs RTN on a few calibration rows, as a sanity check.
  Matrix<float> wq = dequantizeGptq(r), wr = dequantizeWeight(quantizeWeightRTN(W, G));
  double eg = 0, er = 0;
  for (int64_t m = 0; m < std::min<int64_t>(calib, 16); ++m)
    for (int64_t n = 0; n < N; n += 7) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < K; ++k) {
        a += double(x.at(m, k)) * (double(W.at(n, k)) - wq.at(n, k));
        b += double(x.at(m, k)) * (double(W.at(n, k)) - wr.at(n, k));
      }
      eg += a * a;
      er += b * b;
    }

  std::printf("layer                 %lld x %lld, group %lld%s, block %lld, "
              "%lld calibration rows\n",
              (long long)N, (long long)K, (long long)G,
              actOrder ? ", act-order (static groups)" : "", (long long)block,
              (long long)calib);
  std::printf("hessian               %.2f s (not part of GPTQ time)\n", hessianSeconds);
  std::printf("gptq total            %.2f s wall, %.2f s CPU (all threads)\n",
              r.seconds, cpuSeconds);
  std::printf("  cholesky (H = R R^T) %.2f s\n", r.factorSeconds);
  std::printf("  in-block columns    %.2f s\n", r.blockSeconds);
  std::printf("  lazy updates        %.2f s, %.1f GFLOP, %.1f GFLOP/s\n",
              r.updateSeconds, r.updateFlops / 1e9, updateRate);
  std::printf("sgemm rate            %.1f GFLOP/s (%lld x %lld x %lld, best of 5)\n",
              rate, (long long)std::max<int64_t>(K / 2, 1), (long long)N,
              (long long)std::min(block, K));
  std::printf("sgemm rate, square    %.1f GFLOP/s (2048 x 2048 x 2048, best of 5)\n",
              squareRate);
  std::printf("update / sgemm        %.0f%% (same shape), %.0f%% (square)\n",
              rate > 0 ? 100.0 * updateRate / rate : 0.0,
              squareRate > 0 ? 100.0 * updateRate / squareRate : 0.0);
  std::printf("output error / RTN    %.3f (sampled rows)\n",
              er > 0 ? std::sqrt(eg / er) : 0.0);
  return 0;
}
