//===- bench_w4a8.cpp - qqq W4A8 kernels vs cuBLAS, and per-shape tuning ---===//
//
// One run measures, side by side on one GPU:
//   * the device-to-device copy bandwidth (the weight-streaming floor),
//   * qqq's W4A8 GEMM (sm_90a wgmma family; per channel and group 128), with
//     the tuned configuration when --tuning-out produced one in this run,
//     else the catalog's default heuristic,
//   * cuBLAS FP16 (cublasGemmEx, f32 accumulate), cuBLASLt INT8 (s32 out) and
//     cuBLASLt FP8 (e4m3 x e4m3 -> f16),
//   * the fused RMSNorm -> int8 kernel's bandwidth,
//   * a bandwidth probe that only reads each layer's packed weights (one
//     launch's practical floor), and qqq with programmatic dependent launch
//     and launched from the host without a graph (extra columns).
// Weight buffers rotate over more than 2.5x L2 (the L2 is 50-60 MB); every
// time is the median over replays of a CUDA graph of back-to-back launches
// (all kernels alike), divided by the launches per replay.
//
// --tune: before benchmarking, searches the template configurations for each
// (shape, group, M bucket), checks every candidate bit-exactly against the
// reference and keeps the fastest: written to --tuning-out (qqq-tuning-v1
// JSON, include/qqq/CodeGen/KernelCatalog.h).
//
// Usage: bench_w4a8 --repo DIR [--csv FILE] [--tune --tuning-out FILE]
//                   [--quick] [--verbose] [--iters N]
//                   [--shape NAME|NxK] (one shape: a name of --list-shapes
//                   or any N x K, e.g. 14336x4096)
//                   [--bucket B[,B...]] (only these tuning buckets)
//                   [--list-shapes] (print the named shapes, no GPU needed)
//                   [--group G]   (one group size only: 0 or 128)
//                   [--max-m M]   (only the M <= M of the list)
//                   [--configs FILE] (time these configurations, each
//                   checked bit-exactly first: lines "n k group max_m tile_m
//                   tile_n tile_k stages warps split_k stream_k
//                   [token_tiles_first]", e.g. a tuning table through
//                   bench/gpu/tuning_to_configs.py;
//                   buckets without a line take the default)
//                   [--no-check] (time --configs without the bit-exact
//                   check: for knock-out variants of the templates whose
//                   results are wrong on purpose)
//                   [--count-candidates SMS] (print the search's
//                   candidates per key for a GPU of SMS SMs; no GPU needed)
//                   [--qqq-only] (no cuBLAS baselines, host-launched or
//                   decode-step times: their columns are nan; for runs that
//                   compare qqq kernels with each other, e.g. run_fusion.sh)
//
//===----------------------------------------------------------------------===//
#include "../../test/gpu/gpu_harness.h"
#include "tune_candidates.h"

#include "qqq/Numerics/Half.h"

#include <cublasLt.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace qqq;
using namespace qqq::gpu;
using codegen::GemmConfig;
using codegen::GemmShape;

namespace {

struct NamedShape {
  std::string name;
  int64_t N, K;
};
// A decimal count ("16", "4096"); nullopt for anything else.
std::optional<int64_t> parseCount(const std::string &text) {
  if (text.empty() || text.size() > 12 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
}

const NamedShape kShapes[] = {
    {"llama2-7b.qkv", 12288, 4096},   {"llama2-7b.o", 4096, 4096},
    {"llama2-7b.gate_up", 11008, 4096}, {"llama2-7b.down", 4096, 11008},
    {"llama2-70b.qkv", 10240, 8192},  {"llama2-70b.o", 8192, 8192},
    {"llama2-70b.up", 28672, 8192},   {"llama2-70b.down", 8192, 28672},
    {"qwen2-7b.qkv", 4608, 3584},     {"qwen2-7b.o", 3584, 3584},
    {"qwen2-7b.up", 18944, 3584},     {"qwen2-7b.down", 3584, 18944},
};

#define BLAS_CHECK(x)                                                          \
  do {                                                                         \
    int st_ = static_cast<int>(x);                                             \
    if (st_ != 0) {                                                            \
      std::fprintf(stderr, "%s:%d: %s failed: status %d\n", __FILE__,        \
                   __LINE__, #x, st_);                                         \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

int iters = 10; // timed graph replays (or host batches) per measurement

struct Timer {
  CUevent a, b;
  // Every timed launch goes to this stream (captured into a CUDA graph).
  CUstream stream = nullptr;
  Timer() {
    CU_CHECK(cuEventCreate(&a, CU_EVENT_DEFAULT));
    CU_CHECK(cuEventCreate(&b, CU_EVENT_DEFAULT));
    CU_CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  }
  ~Timer() {
    cuEventDestroy(a);
    cuEventDestroy(b);
    cuStreamDestroy(stream);
  }
  // Median over `n` replays of a CUDA graph of `batch` launches fn(i) (i
  // counts launches, for buffer rotation): per-launch microseconds. A graph
  // is how decode steps are launched in deployment (vLLM, TensorRT-LLM);
  // it removes the CPU launch path, leaving the GPU's own gaps between
  // kernels. All kernels, qqq's and cuBLAS's, are timed this way.
  template <class F> double median(F &&fn, int n, int batch = 24) {
    CUgraph g;
    CUgraphExec ge;
    CU_CHECK(cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_RELAXED));
    for (int r = 0; r < batch; ++r)
      fn(r);
    CU_CHECK(cuStreamEndCapture(stream, &g));
    CU_CHECK(cuGraphInstantiate(&ge, g, 0));
    for (int i = 0; i < 2; ++i)
      CU_CHECK(cuGraphLaunch(ge, stream));
    std::vector<double> t;
    for (int i = 0; i < n; ++i) {
      CU_CHECK(cuEventRecord(a, stream));
      CU_CHECK(cuGraphLaunch(ge, stream));
      CU_CHECK(cuEventRecord(b, stream));
      CU_CHECK(cuEventSynchronize(b));
      float ms = 0;
      CU_CHECK(cuEventElapsedTime(&ms, a, b));
      t.push_back(ms * 1000.0 / batch);
    }
    CU_CHECK(cuGraphExecDestroy(ge));
    CU_CHECK(cuGraphDestroy(g));
    return medianOf(t);
  }
  // The same launches from the host one by one (median over `n` batches
  // of the mean of `batch` back-to-back launches, after 3 warm-ups): what
  // a framework without graphs sees, CPU launch path included.
  template <class F> double medianStream(F &&fn, int n, int batch = 10) {
    for (int i = 0; i < 3; ++i)
      fn(i);
    std::vector<double> t;
    for (int i = 0; i < n; ++i) {
      CU_CHECK(cuEventRecord(a, stream));
      for (int r = 0; r < batch; ++r)
        fn(i * batch + r);
      CU_CHECK(cuEventRecord(b, stream));
      CU_CHECK(cuEventSynchronize(b));
      float ms = 0;
      CU_CHECK(cuEventElapsedTime(&ms, a, b));
      t.push_back(ms * 1000.0 / batch);
    }
    return medianOf(t);
  }
};

void fillRandom(DevBuf &b, uint64_t seed, int kind /*0 bytes,1 f16,2 e4m3*/) {
  std::vector<uint8_t> h(b.bytes);
  std::mt19937_64 rng(seed);
  if (kind == 1) {
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (size_t i = 0; i + 1 < h.size(); i += 2) {
      uint16_t v = numerics::floatToHalfBits(d(rng));
      std::memcpy(&h[i], &v, 2);
    }
  } else {
    for (auto &v : h) {
      v = static_cast<uint8_t>(rng());
      if (kind == 2 && (v & 0x7F) == 0x7F)
        v ^= 0x01; // no e4m3 NaN
    }
  }
  b.upload(h.data(), h.size());
}

int rotations(size_t bytes, const Device &d) {
  size_t want = static_cast<size_t>(d.l2Bytes) * 5 / 2;
  return static_cast<int>(std::max<size_t>(1, (want + bytes - 1) / bytes));
}

double copyBandwidth(Timer &t) {
  size_t n = size_t(1) << 30;
  DevBuf a(n), b(n);
  CU_CHECK(cuMemsetD8(a.p, 1, n));
  double us =
      t.medianStream(
          [&](int) { CU_CHECK(cuMemcpyDtoDAsync(b.p, a.p, n, t.stream)); }, 5,
          2);
  return 2.0 * n / (us * 1e-6); // bytes read + written per second
}

// cuBLASLt TN matmul D(N x M) = A^T B with A K x N, B K x M (column-major).
struct LtGemm {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t A = nullptr, B = nullptr, C = nullptr;
  cublasLtMatmulAlgo_t algo;
  bool ok = false;
  cudaDataType_t scaleType;
  LtGemm(cublasLtHandle_t lt, cudaDataType_t ab, cudaDataType_t cd,
         cublasComputeType_t ct, cudaDataType_t st, int64_t N, int64_t M,
         int64_t K, size_t wsBytes)
      : scaleType(st) {
    BLAS_CHECK(cublasLtMatmulDescCreate(&op, ct, st));
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    BLAS_CHECK(cublasLtMatmulDescSetAttribute(
        op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
    BLAS_CHECK(cublasLtMatmulDescSetAttribute(
        op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
    BLAS_CHECK(cublasLtMatrixLayoutCreate(&A, ab, K, N, K));
    BLAS_CHECK(cublasLtMatrixLayoutCreate(&B, ab, K, M, K));
    BLAS_CHECK(cublasLtMatrixLayoutCreate(&C, cd, N, M, N));
    cublasLtMatmulPreference_t pref;
    BLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    BLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes,
        sizeof(wsBytes)));
    cublasLtMatmulHeuristicResult_t res;
    int n = 0;
    if (cublasLtMatmulAlgoGetHeuristic(lt, op, A, B, C, C, pref, 1, &res,
                                       &n) == CUBLAS_STATUS_SUCCESS &&
        n > 0) {
      algo = res.algo;
      ok = true;
    }
    cublasLtMatmulPreferenceDestroy(pref);
  }
  ~LtGemm() {
    if (A)
      cublasLtMatrixLayoutDestroy(A);
    if (B)
      cublasLtMatrixLayoutDestroy(B);
    if (C)
      cublasLtMatrixLayoutDestroy(C);
    if (op)
      cublasLtMatmulDescDestroy(op);
  }
  cublasStatus_t run(cublasLtHandle_t lt, CUdeviceptr a, CUdeviceptr b,
                     CUdeviceptr d, CUdeviceptr ws, size_t wsBytes,
                     CUstream stream) {
    int32_t ia = 1, ib = 0;
    float fa = 1.0f, fb = 0.0f;
    const void *alpha = scaleType == CUDA_R_32I ? (const void *)&ia : &fa;
    const void *beta = scaleType == CUDA_R_32I ? (const void *)&ib : &fb;
    return cublasLtMatmul(lt, op, alpha, (void *)a, A, (void *)b, B, beta,
                          (void *)d, C, (void *)d, C, &algo, (void *)ws,
                          wsBytes, reinterpret_cast<cudaStream_t>(stream));
  }
};

// Rotated copies of one packed weight (and its group scales).
struct RotatedWeight {
  std::vector<DeviceWeight> copies;
};
RotatedWeight rotate(const WeightProblem &w, const Device &d) {
  RotatedWeight r;
  r.copies.push_back(uploadWeight(w));
  int n = rotations(w.packed90.size() + w.sGrp.size() * 2, d);
  for (int i = 1; i < n; ++i) {
    DeviceWeight c;
    auto dup = [](DevBuf &dst, const DevBuf &src) {
      dst = DevBuf(src.bytes);
      if (src.bytes)
        CU_CHECK(cuMemcpyDtoD(dst.p, src.p, src.bytes));
    };
    const DeviceWeight &o = r.copies[0];
    dup(c.packed90, o.packed90);
    dup(c.packed80, o.packed80);
    dup(c.sCh, o.sCh);
    dup(c.sGrp, o.sGrp);
    dup(c.bias, o.bias);
    r.copies.push_back(std::move(c));
  }
  return r;
}

// The bandwidth probe over the rotated copies of one packed weight (best of
// 1, 2 and 4 CTAs per SM): one launch's cost of streaming those bytes.
double probeReadUs(const Kernel &probe, const RotatedWeight &rw,
                   const Device &dev, Timer &timer) {
  long long n16 = static_cast<long long>(rw.copies[0].packed90.bytes / 16);
  DevBuf sink(size_t(4) * dev.sms * 4); // one word per CTA, never written
  double best = 1e30;
  for (unsigned ctas : {unsigned(dev.sms), unsigned(dev.sms) * 2,
                        unsigned(dev.sms) * 4})
    best = std::min(best, timer.median(
                              [&](int i) {
                                CUdeviceptr p =
                                    rw.copies[i % rw.copies.size()].packed90.p;
                                void *args[] = {&p, &n16, &sink.p};
                                CU_CHECK(cuLaunchKernel(probe.fn, ctas, 1, 1,
                                                        512, 1, 1, 0,
                                                        timer.stream, args,
                                                        nullptr));
                              },
                              iters));
  return best;
}

// A GEMM launch's workspace, zeroed once (the kernels leave zero what the
// next launch needs zero); empty where the launch needs none.
DevBuf zeroedWorkspace(const codegen::LaunchGeometry &g) {
  DevBuf ws(g.workspaceBytes);
  if (g.workspaceBytes)
    CU_CHECK(cuMemsetD8(ws.p, 0, g.workspaceBytes));
  return ws;
}

std::string configString(const GemmConfig &c) {
  std::ostringstream os;
  os << c.tileM << "x" << c.tileN << "x" << c.tileK << "_s" << c.stages
     << "_w" << c.warps << "_k" << c.splitK;
  if (c.streamK > 0)
    os << "_sk" << c.streamK;
  if (c.tokenTilesFirst)
    os << "_ttf";
  return os.str();
}

struct TuneKey {
  int64_t N, K, G, bucket;
  bool operator<(const TuneKey &o) const {
    return std::tie(N, K, G, bucket) < std::tie(o.N, o.K, o.G, o.bucket);
  }
};
struct TuneResult {
  GemmConfig config;
  double us;
  int candidates, correct;
  // The catalog default's time (the search's first candidate; < 0 when it
  // was not timed): what the heuristic loses where the table has no entry.
  double defaultUs = -1;
  // The given (--configs) entry's time in the same final round, when the
  // search had one: the re-search's gain over the committed table.
  double incumbentUs = -1;
};

// The search times every candidate briefly (4 replays of >= 8 launches);
// its fastest few, the default (index 0) and the given entry are then timed
// again the way the benchmark times a kernel (replays of >= 24 launches),
// in three interleaved rounds, and the median of each one's rounds decides.
// Short bursts favoured configurations that slow down once the GPU reaches
// its power limit under sustained load (the fused LLaMA-2-70B gate/up at
// M = 512: 359 us in the search, 391-418 us in the benchmark).
template <class TimeFn>
void retimeFinalists(TuneResult &best, const std::vector<GemmConfig> &cs,
                     const std::vector<double> &shortUs,
                     const std::map<TuneKey, size_t> &incumbent,
                     const TuneKey &key, TimeFn &&timeSustained) {
  constexpr size_t kFastest = 3;
  constexpr int kRounds = 3, kReplays = 5;
  std::vector<size_t> order;
  for (size_t i = 0; i < cs.size(); ++i)
    if (!std::isnan(shortUs[i]))
      order.push_back(i);
  if (order.empty())
    return;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return shortUs[a] < shortUs[b]; });
  std::vector<size_t> finalists(order.begin(),
                                order.begin() + std::min(kFastest, order.size()));
  auto add = [&](size_t i) {
    if (i < cs.size() && !std::isnan(shortUs[i]) &&
        std::find(finalists.begin(), finalists.end(), i) == finalists.end())
      finalists.push_back(i);
  };
  add(0);
  auto inc = incumbent.find(key);
  if (inc != incumbent.end())
    add(inc->second);
  std::vector<std::vector<double>> rounds(finalists.size());
  for (int r = 0; r < kRounds; ++r)
    for (size_t f = 0; f < finalists.size(); ++f)
      rounds[f].push_back(timeSustained(cs[finalists[f]], kReplays));
  best.us = 1e30;
  for (size_t f = 0; f < finalists.size(); ++f) {
    double us = medianOf(rounds[f]);
    size_t i = finalists[f];
    if (i == 0)
      best.defaultUs = us;
    if (inc != incumbent.end() && i == inc->second)
      best.incumbentUs = us;
    if (us < best.us) {
      best.us = us;
      best.config = cs[i];
    }
  }
}

} // namespace

int main(int argc, char **argv) {
  std::string repo = ".", csvPath = "bench_w4a8.csv", tuningOut, configsPath,
              candidatesPath;
  bool tune = false, quick = false, verbose = false, noCheck = false,
       qqqOnly = false;
  std::string onlyShape;
  std::vector<int64_t> onlyBuckets;
  int64_t onlyGroup = -1, maxM = 0, countSms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--repo" && i + 1 < argc)
      repo = argv[++i];
    else if (a == "--csv" && i + 1 < argc)
      csvPath = argv[++i];
    else if (a == "--tune")
      tune = true;
    else if (a == "--tuning-out" && i + 1 < argc)
      tuningOut = argv[++i];
    else if (a == "--quick")
      quick = true;
    else if (a == "--verbose") // every tuning candidate's time
      verbose = true;
    else if (a == "--candidates-csv" && i + 1 < argc) // ... into a CSV
      candidatesPath = argv[++i];
    else if (a == "--iters" && i + 1 < argc)
      iters = std::atoi(argv[++i]);
    else if (a == "--shape" && i + 1 < argc) // only this shape (name or NxK)
      onlyShape = argv[++i];
    else if (a == "--bucket" && i + 1 < argc) { // only these tuning buckets
      std::string list = argv[++i];
      for (size_t p = 0; p <= list.size();) {
        size_t q = std::min(list.find(',', p), list.size());
        std::optional<int64_t> b = parseCount(list.substr(p, q - p));
        if (!b) {
          std::fprintf(stderr, "--bucket %s: expected M buckets, e.g. 16,256\n",
                       list.c_str());
          return 2;
        }
        onlyBuckets.push_back(*b);
        p = q + 1;
      }
    } else if (a == "--list-shapes") {
      for (const NamedShape &ns : kShapes)
        std::printf("%s %lld %lld\n", ns.name.c_str(),
                    static_cast<long long>(ns.N), static_cast<long long>(ns.K));
      return 0;
    } else if (a == "--group" && i + 1 < argc) // only this group size
      onlyGroup = std::atoll(argv[++i]);
    else if (a == "--max-m" && i + 1 < argc) // only M <= this
      maxM = std::atoll(argv[++i]);
    else if (a == "--configs" && i + 1 < argc)
      configsPath = argv[++i];
    else if (a == "--qqq-only")
      qqqOnly = true;
    else if (a == "--count-candidates" && i + 1 < argc) // SMs; no GPU
      countSms = std::atoll(argv[++i]);
    else if (a == "--no-check")
      noCheck = true;
    else {
      std::fprintf(stderr, "unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  std::vector<NamedShape> shapes(std::begin(kShapes), std::end(kShapes));
  std::vector<int64_t> Ms = {1, 16, 32, 64, 128, 256, 512, 1024, 4096};
  if (quick) {
    shapes = {kShapes[1], kShapes[6]};
    Ms = {1, 16, 128, 1024};
  }
  if (maxM > 0)
    Ms.erase(std::remove_if(Ms.begin(), Ms.end(),
                            [&](int64_t m) { return m > maxM; }),
             Ms.end());
  std::vector<int64_t> groups = {0, 128};
  if (onlyGroup >= 0) {
    if (std::find(groups.begin(), groups.end(), onlyGroup) == groups.end()) {
      std::fprintf(stderr, "--group %lld: the harness measures 0 and 128\n",
                   static_cast<long long>(onlyGroup));
      return 2;
    }
    groups = {onlyGroup};
  }
  if (!onlyShape.empty()) {
    shapes.clear();
    for (const NamedShape &ns : kShapes)
      if (onlyShape == ns.name)
        shapes.push_back(ns);
    // Any other layer as N x K (the output and input features).
    size_t x = onlyShape.find('x');
    std::optional<int64_t> n, k;
    if (shapes.empty() && x != std::string::npos) {
      n = parseCount(onlyShape.substr(0, x));
      k = parseCount(onlyShape.substr(x + 1));
    }
    if (shapes.empty() && (!n || !k || *n == 0 || *k == 0)) {
      std::fprintf(stderr,
                   "unknown shape '%s': a name of --list-shapes or NxK\n",
                   onlyShape.c_str());
      return 2;
    }
    if (shapes.empty())
      shapes.push_back({onlyShape, *n, *k});
  }

  // ---- kernels: defaults for every (shape, G, bucket), tuning candidates.
  std::map<std::string, size_t> index;
  std::vector<KernelRequest> reqs = {referenceKernelRequest()};
  reqs[0].arch = "sm_90";
  auto want = [&](const GemmConfig &c, const GemmShape &s) {
    std::string expr = codegen::instantiationExpression(c, s);
    auto it = index.find(expr);
    if (it != index.end())
      return it->second;
    index[expr] = reqs.size();
    reqs.push_back({codegen::templateFileName(codegen::KernelFamily::W4A8GemmSm90),
                    expr, "sm_90a"});
    return reqs.size() - 1;
  };
  std::vector<int64_t> tuneBuckets = codegen::mBuckets();
  if (!onlyBuckets.empty()) {
    Ms.clear();
    for (int64_t b : onlyBuckets) {
      if (std::find(tuneBuckets.begin(), tuneBuckets.end(), b) ==
          tuneBuckets.end()) {
        std::fprintf(stderr, "--bucket %lld is not an M bucket\n",
                     static_cast<long long>(b));
        return 2;
      }
      Ms.push_back(b == 0 ? 4096 : b);
    }
    tuneBuckets = onlyBuckets;
    std::sort(Ms.begin(), Ms.end());
    Ms.erase(std::unique(Ms.begin(), Ms.end()), Ms.end());
  }
  // Every (shape, group) needs a kernel: the default configuration is
  // valid wherever the template applies (qqq-select-kernels relies on it).
  for (const NamedShape &ns : shapes)
    for (int64_t G : groups)
      for (int64_t b : tuneBuckets) {
        GemmShape s{ns.N, ns.K, G};
        if (auto why = codegen::whyInvalid(
                codegen::defaultConfig(s, b, "sm_90a"), s)) {
          std::fprintf(stderr,
                       "shape %s (N = %lld, K = %lld, group %lld): no sm_90a "
                       "kernel: %s\n",
                       ns.name.c_str(), static_cast<long long>(ns.N),
                       static_cast<long long>(ns.K), static_cast<long long>(G),
                       why->c_str());
          return 2;
        }
      }
  // Given configurations (--configs), keyed like the tuning table.
  std::map<TuneKey, GemmConfig> given;
  if (!configsPath.empty()) {
    std::ifstream in(configsPath);
    if (!in) {
      std::fprintf(stderr, "cannot read --configs %s\n", configsPath.c_str());
      return 2;
    }
    std::string line;
    for (int lineNo = 1; std::getline(in, line); ++lineNo) {
      if (line.empty() || line[0] == '#')
        continue;
      std::istringstream is(line);
      TuneKey k;
      GemmConfig c;
      if (!(is >> k.N >> k.K >> k.G >> k.bucket >> c.tileM >> c.tileN >>
            c.tileK >> c.stages >> c.warps >> c.splitK >> c.streamK)) {
        std::fprintf(stderr, "%s:%d: expected 11 or 12 integers\n",
                     configsPath.c_str(), lineNo);
        return 2;
      }
      // Optional 12th field: token_tiles_first (0 or 1; absent = 0).
      int ttf = 0;
      if (!(is >> ttf) && !is.eof()) {
        std::fprintf(stderr, "%s:%d: token_tiles_first must be 0 or 1\n",
                     configsPath.c_str(), lineNo);
        return 2;
      }
      if (ttf != 0 && ttf != 1) {
        std::fprintf(stderr, "%s:%d: token_tiles_first must be 0 or 1, got %d\n",
                     configsPath.c_str(), lineNo, ttf);
        return 2;
      }
      c.tokenTilesFirst = ttf == 1;
      c.maxM = k.bucket;
      if (auto why = codegen::whyInvalid(c, {k.N, k.K, k.G})) {
        std::fprintf(stderr, "%s:%d: invalid configuration: %s\n",
                     configsPath.c_str(), lineNo, why->c_str());
        return 2;
      }
      given[k] = c;
    }
  }
  // The search's size without a GPU: candidates per key for an SM count.
  if (countSms > 0) {
    size_t total = 0, totalSk = 0;
    for (const NamedShape &ns : shapes)
      for (int64_t G : groups)
        for (int64_t b : tuneBuckets) {
          std::vector<GemmConfig> cs = tune::candidates({ns.N, ns.K, G}, b, countSms);
          size_t sk = std::count_if(cs.begin(), cs.end(), [](const GemmConfig &c) {
            return c.streamK > 0;
          });
          std::printf("%s N=%lld K=%lld G=%lld bucket=%lld: %zu candidates "
                      "(%zu stream-K)\n",
                      ns.name.c_str(), (long long)ns.N, (long long)ns.K,
                      (long long)G, (long long)b, cs.size(), sk);
          total += cs.size();
          totalSk += sk;
        }
    std::printf("total: %zu candidates (%zu stream-K)\n", total, totalSk);
    return 0;
  }
  if (!candidatesPath.empty() && !tune) {
    std::fprintf(stderr, "--candidates-csv only applies to --tune runs\n");
    return 2;
  }
  if (noCheck && (tune || given.empty())) {
    std::fprintf(stderr, "--no-check only applies to --configs runs\n");
    return 2;
  }
  const bool check = tune || (!given.empty() && !noCheck);
  Device dev;
  std::string why;
  if (!initDevice(dev, why)) {
    std::printf("skipped: no GPU (%s)\n", why.c_str());
    return 77;
  }
  if (dev.ccMajor != 9) {
    std::printf("skipped: the benchmark targets Hopper (sm_90a)\n");
    return 77;
  }
  std::printf("device: %s, %d SMs, L2 %d B\n", dev.name.c_str(), dev.sms,
              dev.l2Bytes);
  Timer timer;
  double bw = copyBandwidth(timer);
  std::printf("copy bandwidth (read+write): %.0f GB/s\n", bw / 1e9);
  std::fflush(stdout);

  std::map<TuneKey, std::vector<GemmConfig>> cands;
  std::map<TuneKey, size_t> incumbent; // index of the given entry in cands
  for (const NamedShape &ns : shapes)
    for (int64_t G : groups) {
      GemmShape s{ns.N, ns.K, G};
      for (int64_t b : tuneBuckets) {
        // The search's candidates, the given configuration, or the default.
        std::vector<GemmConfig> cs;
        auto it = given.find({ns.N, ns.K, G, b});
        if (tune) {
          cs = tune::candidates(s, b, dev.sms); // max_m = b already
          // A re-search also times the given entry (the committed table's,
          // through qqq-tune.sh): the new entry is the faster of the two in
          // the same final round.
          if (it != given.end()) {
            GemmConfig inc = it->second;
            auto pos = std::find(cs.begin(), cs.end(), inc);
            incumbent[{ns.N, ns.K, G, b}] = pos - cs.begin();
            if (pos == cs.end())
              cs.push_back(inc);
          }
        } else if (it != given.end())
          cs = {it->second};
        else
          cs = {codegen::defaultConfig(s, b, "sm_90a")};
        for (GemmConfig &c : cs) {
          c.maxM = b;
          want(c, s);
        }
        cands[{ns.N, ns.K, G, b}] = cs;
      }
    }
  const size_t probeIndex = reqs.size();
  reqs.push_back({"stream_read.cuh", "qqq_test::stream_read<8>", "sm_90"});
  // RMSNorm -> int8 for every K (decode steps below; the bandwidth lines
  // at the end use 4096 and 8192).
  std::map<int64_t, size_t> rmsIndex;
  for (int64_t K : {int64_t(4096), int64_t(8192)})
    rmsIndex[K] = 0;
  for (const NamedShape &ns : shapes)
    rmsIndex[ns.K] = 0;
  for (auto &[K, i] : rmsIndex) {
    i = reqs.size();
    reqs.push_back({"rms_norm_quantize.cuh",
                    codegen::activationExpression(
                        codegen::KernelFamily::RmsNormQuantize, K),
                    "sm_90"});
  }
  std::printf("compiling %zu kernels...\n", reqs.size());
  std::fflush(stdout);
  std::vector<Kernel> kernels = buildKernels(reqs, repo, 16);
  for (const Kernel &k : kernels)
    if (!k.fn)
      std::printf("compile failed: %s: %s\n", k.expr.c_str(), k.log.c_str());
  const Kernel &ref = kernels[0];

  cublasHandle_t blas;
  cublasLtHandle_t lt;
  BLAS_CHECK(cublasCreate(&blas));
  BLAS_CHECK(cublasSetStream(blas, reinterpret_cast<cudaStream_t>(timer.stream)));
  BLAS_CHECK(cublasLtCreate(&lt));
  size_t ltWsBytes = 32u << 20;
  DevBuf ltWs(ltWsBytes);

  std::map<TuneKey, TuneResult> tuned;
  std::ofstream csv(csvPath);
  csv << "gpu,shape,N,K,group,M,config,qqq_us,floor_us,floor_over_qqq,"
         "cublas_f16_us,lt_int8_us,lt_fp8_us,qqq_vs_f16,qqq_vs_int8,"
         "qqq_vs_fp8,qqq_pdl_us,pdl_floor_over_qqq,read_us,qqq_stream_us,"
         "step_us,step_pdl_us\n";
  // Every candidate of the search, timed or not (a wrong result or a failed
  // launch has no time): the data any selection heuristic can be scored
  // against offline (bench/gpu/heuristic_loss.py --candidates). Written to
  // a temporary file, renamed at the end.
  std::ofstream cands_csv;
  if (!candidatesPath.empty()) {
    cands_csv.open(candidatesPath + ".tmp");
    cands_csv << "gpu,N,K,group,max_m,tile_m,tile_n,tile_k,stages,warps,"
                 "split_k,stream_k,token_tiles_first,default,status,us\n";
  }
  uint64_t seed = 7;
  for (const NamedShape &ns : shapes) {
    // ---- cuBLAS baselines (independent of the int4 group size).
    std::map<int64_t, double> f16us, i8us, f8us;
    for (int64_t M : Ms)
      f16us[M] = i8us[M] = f8us[M] = NAN;
    if (!qqqOnly) {
      size_t wF16 = size_t(ns.N) * ns.K * 2, w8 = size_t(ns.N) * ns.K;
      int rF16 = rotations(wF16, dev), r8 = rotations(w8, dev);
      std::vector<DevBuf> wf16, wi8, wf8;
      for (int i = 0; i < rF16; ++i) {
        wf16.emplace_back(wF16);
        fillRandom(wf16.back(), seed + i, 1);
      }
      for (int i = 0; i < r8; ++i) {
        wi8.emplace_back(w8);
        fillRandom(wi8.back(), seed + 100 + i, 0);
        wf8.emplace_back(w8);
        fillRandom(wf8.back(), seed + 200 + i, 2);
      }
      int64_t maxM = Ms.back();
      DevBuf xf16(size_t(maxM) * ns.K * 2), x8(size_t(maxM) * ns.K),
          xf8(size_t(maxM) * ns.K), y16(size_t(maxM) * ns.N * 2),
          y32(size_t(maxM) * ns.N * 4);
      fillRandom(xf16, 1, 1);
      fillRandom(x8, 2, 0);
      fillRandom(xf8, 3, 2);
      for (int64_t M : Ms) {
        float one = 1.0f, zero = 0.0f;
        f16us[M] = timer.median(
            [&](int i) {
              BLAS_CHECK(cublasGemmEx(
                  blas, CUBLAS_OP_T, CUBLAS_OP_N, ns.N, M, ns.K, &one,
                  (void *)wf16[i % rF16].p, CUDA_R_16F, ns.K, (void *)xf16.p,
                  CUDA_R_16F, ns.K, &zero, (void *)y16.p, CUDA_R_16F, ns.N,
                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
            },
            iters);
        LtGemm gi(lt, CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I,
                  ns.N, M, ns.K, ltWsBytes);
        i8us[M] = gi.ok ? timer.median(
                              [&](int i) {
                                BLAS_CHECK(gi.run(lt, wi8[i % r8].p, x8.p,
                                                  y32.p, ltWs.p, ltWsBytes,
                                                  timer.stream));
                              },
                              iters)
                        : NAN;
        LtGemm gf(lt, CUDA_R_8F_E4M3, CUDA_R_16F, CUBLAS_COMPUTE_32F,
                  CUDA_R_32F, ns.N, M, ns.K, ltWsBytes);
        f8us[M] = gf.ok ? timer.median(
                              [&](int i) {
                                BLAS_CHECK(gf.run(lt, wf8[i % r8].p, xf8.p,
                                                  y16.p, ltWs.p, ltWsBytes,
                                                  timer.stream));
                              },
                              iters)
                        : NAN;
      }
    }
    double readUs = -1;
    for (int64_t G : groups) {
      GemmShape s{ns.N, ns.K, G};
      WeightProblem w = makeWeight(ns.N, ns.K, G, seed++);
      RotatedWeight rw = rotate(w, dev);
      const DeviceWeight &w0 = rw.copies[0];
      // The packed weights are the same bytes for either group size.
      if (readUs < 0)
        readUs = probeReadUs(kernels[probeIndex], rw, dev, timer);
      // ---- tuning: per bucket, every candidate checked then timed at M =
      // the bucket (4096 for the unbounded one).
      for (int64_t b : tuneBuckets) {
        const std::vector<GemmConfig> &cs = cands[{ns.N, ns.K, G, b}];
        int64_t M = b == 0 ? 4096 : b;
        ActProblem a = makeActivations(M, ns.K, seed++);
        DeviceAct da = uploadAct(a);
        DevBuf accD, y(size_t(M) * ns.N * 2);
        std::vector<uint16_t> yref, yk(size_t(M) * ns.N);
        if (check) {
          referenceAccGpu(ref, da, w0, M, ns.N, ns.K, accD);
          CU_CHECK(cuCtxSynchronize());
          std::vector<int32_t> acc(size_t(M) * ns.N);
          accD.download(acc.data(), acc.size() * 4);
          yref.resize(acc.size());
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < ns.N; ++n)
              yref[m * ns.N + n] =
                  epilogueRef(acc[m * ns.N + n], a.sTok[m], w.sCh[n], nullptr);
        }
        TuneResult best{cs[0], 1e30, 0, 0};
        std::vector<double> shortUs(cs.size(), NAN); // the search's times
        // Per-launch time of a candidate: `replays` graph replays of at
        // least `minBatch` launches, each replay streaming every rotated
        // weight copy once (>= 2.5 x L2).
        auto timeCandidate = [&](const Kernel &k, const GemmConfig &c,
                                 DevBuf &ws, int replays, int minBatch) {
          DevBuf *wsArg = ws.bytes ? &ws : nullptr;
          return timer.median(
              [&](int i) {
                launchGemm(k, c, s, da, rw.copies[i % rw.copies.size()], true,
                           y, M, wsArg, timer.stream);
              },
              replays, std::max<int>(minBatch, rw.copies.size()));
        };
        for (size_t ci = 0; ci < cs.size(); ++ci) {
          const GemmConfig &c = cs[ci];
          auto logCandidate = [&](const char *status, double us) {
            if (!cands_csv.is_open())
              return;
            char row[384];
            std::snprintf(row, sizeof(row),
                          "\"%s\",%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,"
                          "%lld,%lld,%lld,%d,%d,%s,%.3f\n",
                          dev.name.c_str(), (long long)ns.N, (long long)ns.K,
                          (long long)G, (long long)b, (long long)c.tileM,
                          (long long)c.tileN, (long long)c.tileK,
                          (long long)c.stages, (long long)c.warps,
                          (long long)c.splitK, (long long)c.streamK,
                          c.tokenTilesFirst ? 1 : 0, ci == 0 ? 1 : 0, status,
                          us);
            cands_csv << row;
          };
          const Kernel &k =
              kernels[index[codegen::instantiationExpression(c, s)]];
          if (!k.fn) {
            logCandidate("compile_failed", NAN);
            continue;
          }
          ++best.candidates;
          DevBuf ws = zeroedWorkspace(codegen::launchGeometry(c, s, M));
          if (check) {
            CU_CHECK(cuMemsetD8(y.p, 0xFF, y.bytes));
            if (launchGemm(k, c, s, da, w0, false, y, M,
                           ws.bytes ? &ws : nullptr) != CUDA_SUCCESS) {
              logCandidate("launch_failed", NAN);
              continue;
            }
            CU_CHECK(cuCtxSynchronize());
            y.download(yk.data(), yk.size() * 2);
            if (yk != yref) {
              std::printf("tune: %s is WRONG for N=%lld K=%lld G=%lld M=%lld\n",
                          configString(c).c_str(), (long long)ns.N,
                          (long long)ns.K, (long long)G, (long long)M);
              logCandidate("wrong", NAN);
              continue;
            }
            ++best.correct;
          }
          double us = timeCandidate(k, c, ws, tune ? 4 : 1, 8);
          if (verbose)
            std::printf("tune N=%lld K=%lld G=%lld bucket=%lld %s %.2f us\n",
                        (long long)ns.N, (long long)ns.K, (long long)G,
                        (long long)b, configString(c).c_str(), us);
          logCandidate("ok", us);
          shortUs[ci] = us;
          if (tune && ci == 0)
            best.defaultUs = us;
          if (us < best.us) {
            best.config = c;
            best.us = us;
          }
        }
        if (tune)
          retimeFinalists(best, cs, shortUs, incumbent, {ns.N, ns.K, G, b},
                          [&](const GemmConfig &c, int replays) {
                            DevBuf ws =
                                zeroedWorkspace(codegen::launchGeometry(c, s, M));
                            return timeCandidate(
                                kernels[index[codegen::instantiationExpression(
                                    c, s)]],
                                c, ws, replays, 24);
                          });
        if (check && best.correct == 0) {
          std::fprintf(stderr,
                       "no correct configuration for N=%lld K=%lld G=%lld "
                       "bucket %lld\n",
                       (long long)ns.N, (long long)ns.K, (long long)G,
                       (long long)b);
          return 1;
        }
        tuned[{ns.N, ns.K, G, b}] = best;
      }
      // ---- benchmark every M with the chosen configuration.
      for (int64_t M : Ms) {
        int64_t b = codegen::bucketForM(M);
        const GemmConfig &c = tuned[{ns.N, ns.K, G, b}].config;
        const Kernel &k = kernels[index[codegen::instantiationExpression(c, s)]];
        ActProblem a = makeActivations(M, ns.K, seed++);
        DeviceAct da = uploadAct(a);
        DevBuf y(size_t(M) * ns.N * 2);
        DevBuf ws = zeroedWorkspace(codegen::launchGeometry(c, s, M));
        const int batch = std::max<int>(24, rw.copies.size());
        auto launch = [&](int i, bool pdl) {
          launchGemm(k, c, s, da, rw.copies[i % rw.copies.size()], true, y, M,
                     ws.bytes ? &ws : nullptr, timer.stream, pdl);
        };
        double us = timer.median([&](int i) { launch(i, false); }, iters, batch);
        // The same launches with programmatic dependent launch: each GEMM
        // may start while the previous one finishes (as the next layer's
        // GEMM would in a decode step), streaming its weights before
        // griddepcontrol.wait. cuBLAS is timed without it.
        double usPdl =
            timer.median([&](int i) { launch(i, true); }, iters, batch);
        // Launched from the host one by one (no graph).
        double usStream =
            qqqOnly ? NAN
                    : timer.medianStream([&](int i) { launch(i, false); }, iters);
        // A decode step's pair: RMSNorm -> int8 of the hidden rows into the
        // GEMM's activation buffers, then the GEMM; plain stream order
        // against programmatic launch of both (the runtime's default on
        // sm_90: the GEMM streams its weights while the RMSNorm runs).
        double stepUs = NAN, stepPdlUs = NAN;
        if (M <= 64 && !qqqOnly) {
          const Kernel &rk = kernels[rmsIndex.at(ns.K)];
          DevBuf hx(size_t(M) * ns.K * 2), gam(size_t(ns.K) * 2);
          fillRandom(hx, 21, 1);
          fillRandom(gam, 22, 1);
          codegen::LaunchGeometry rg = codegen::activationGeometry(
              codegen::KernelFamily::RmsNormQuantize, ns.K, M);
          float eps = 1e-5f;
          int m32 = static_cast<int>(M);
          CUdeviceptr qp = da.x8.p, sp = da.sTok.p;
          void *rargs[] = {&hx.p, &gam.p, &eps, &qp, &sp, &m32};
          auto step = [&](int i, bool pdl) {
            CU_CHECK(launchKernel(rk.fn, rg, rargs, timer.stream, pdl));
            launch(i, pdl);
          };
          stepUs = timer.median([&](int i) { step(i, false); }, iters, batch);
          stepPdlUs = timer.median([&](int i) { step(i, true); }, iters, batch);
        }
        double bytes = double(ns.N) * ns.K / 2 + double(M) * ns.K +
                       double(M) * ns.N * 2 + ns.N * 4.0 + M * 4.0 +
                       (G ? double(ns.K / G) * ns.N * 2 : 0.0);
        double floorUs = bytes / bw * 1e6;
        char line[512];
        std::snprintf(
            line, sizeof(line),
            "\"%s\",%s,%lld,%lld,%lld,%lld,%s,%.2f,%.2f,%.3f,%.2f,%.2f,%.2f,"
            "%.3f,%.3f,%.3f,%.2f,%.3f,%.2f,%.2f,%.2f,%.2f\n",
            dev.name.c_str(), ns.name.c_str(), (long long)ns.N, (long long)ns.K,
            (long long)G, (long long)M, configString(c).c_str(), us, floorUs,
            floorUs / us, f16us[M], i8us[M], f8us[M], f16us[M] / us,
            i8us[M] / us, f8us[M] / us, usPdl, floorUs / usPdl, readUs,
            usStream, stepUs, stepPdlUs);
        csv << line;
        csv.flush();
        std::printf("%s", line);
        std::fflush(stdout);
      }
    }
  }

  // ---- fused RMSNorm -> int8 bandwidth.
  for (int64_t K : {int64_t(4096), int64_t(8192)}) {
    if (qqqOnly)
      break;
    const Kernel &k = kernels[rmsIndex.at(K)];
    int64_t M = 16384;
    DevBuf x(size_t(M) * K * 2), gam(size_t(K) * 2), q(size_t(M) * K),
        s(size_t(M) * 4);
    fillRandom(x, 11, 1);
    fillRandom(gam, 12, 1);
    codegen::LaunchGeometry g = codegen::activationGeometry(
        codegen::KernelFamily::RmsNormQuantize, K, M);
    float eps = 1e-5f;
    int m32 = static_cast<int>(M);
    double us = timer.median(
        [&](int) {
          void *args[] = {&x.p, &gam.p, &eps, &q.p, &s.p, &m32};
          CU_CHECK(cuLaunchKernel(k.fn, g.grid[0], 1, 1, g.block[0], 1, 1, 0,
                                  timer.stream, args, nullptr));
        },
        iters);
    double bytes = double(M) * K * 3 + M * 4.0 + K * 2.0;
    std::printf("rms_norm_quantize M=%lld K=%lld: %.2f us, %.0f GB/s = %.3f of "
                "copy bandwidth\n",
                (long long)M, (long long)K, us, bytes / us / 1e3,
                bytes / us * 1e6 / bw);
  }

  if (tune) {
    // Gmean of (a reference time / the tuned time) over the entries that
    // have the reference.
    auto printGain = [&](const char *what, double TuneResult::*ref) {
      double logSum = 0;
      int n = 0;
      for (auto &[key, r] : tuned)
        if (r.*ref > 0) {
          logSum += std::log(r.*ref / r.us);
          ++n;
        }
      if (n)
        std::printf("%s time / tuned time: gmean %.3f over %d entries\n", what,
                    std::exp(logSum / n), n);
    };
    // What the search gains over the catalog's heuristic on these shapes,
    // and a re-search over the given (committed) entries.
    printGain("default heuristic", &TuneResult::defaultUs);
    for (auto &[key, r] : tuned)
      if (r.incumbentUs > 0)
        std::printf("retune N=%lld K=%lld G=%lld bucket=%lld: given %.2f us, "
                    "new %.2f us (%s)\n",
                    (long long)key.N, (long long)key.K, (long long)key.G,
                    (long long)key.bucket, r.incumbentUs, r.us,
                    configString(r.config).c_str());
    printGain("given entry", &TuneResult::incumbentUs);
  }
  if (cands_csv.is_open()) {
    cands_csv.close();
    std::rename((candidatesPath + ".tmp").c_str(), candidatesPath.c_str());
  }
  if (tune && !tuningOut.empty()) {
    std::string tmp = tuningOut + ".tmp";
    std::ofstream js(tmp);
    js << "{\n  \"format\": \"qqq-tuning-v1\",\n  \"gpu\": \"" << dev.name
       << "\",\n  \"entries\": [\n";
    bool first = true;
    for (auto &[key, r] : tuned) {
      const GemmConfig &c = r.config;
      js << (first ? "" : ",\n")
         << "    {\"arch\": \"sm_90a\", \"n\": " << key.N
         << ", \"k\": " << key.K << ", \"group\": " << key.G
         << ", \"max_m\": " << key.bucket << ", \"tile_m\": " << c.tileM
         << ", \"tile_n\": " << c.tileN << ", \"tile_k\": " << c.tileK
         << ", \"stages\": " << c.stages << ", \"warps\": " << c.warps
         << ", \"split_k\": " << c.splitK << ", \"swap_ab\": true";
      if (c.streamK > 0)
        js << ", \"stream_k\": " << c.streamK;
      if (c.tokenTilesFirst)
        js << ", \"token_tiles_first\": true";
      js << ", \"time_us\": " << r.us;
      if (r.defaultUs > 0)
        js << ", \"default_us\": " << r.defaultUs;
      if (r.incumbentUs > 0)
        js << ", \"incumbent_us\": " << r.incumbentUs;
      js << ", \"candidates\": " << r.candidates << ", \"correct\": "
         << r.correct << "}";
      first = false;
    }
    js << "\n  ]\n}\n";
    js.close();
    std::rename(tmp.c_str(), tuningOut.c_str());
    std::printf("wrote %s (%zu entries)\n", tuningOut.c_str(), tuned.size());
  }
  std::printf("copy bandwidth %.0f GB/s; csv: %s\n", bw / 1e9, csvPath.c_str());
  return 0;
}
