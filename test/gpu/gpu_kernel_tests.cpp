//===- gpu_kernel_tests.cpp - correctness of the qqq kernels on the GPU ---===//
//
// Every GEMM kernel the catalog's default heuristic picks (both families:
// sm_90a wgmma and the mma.sync fallback) for LLaMA-2-7B/13B/70B and
// Qwen2-7B layer shapes, per channel and group 128, M in {1, 7, 16, 33, 64,
// 128, 1000, 4096}, plus a sweep of the template knobs on one shape, is run
// on random data into a poisoned output (0xFFFF) and compared BIT-EXACTLY with
// the reference: int32 sums from an independent tiled GPU GEMM (itself
// checked against CPU int64 dot products on sampled rows) and the f32
// epilogue on the CPU. Split-K workspaces must come back zeroed, stream-K
// ones with their flags zero (their slots start poisoned: scratch). The
// activation kernels are checked against CPU formulas
// (quantize_act exact; rms_norm_quantize against float64 with |dq| <= 1).
//
// Usage: gpu_kernel_tests [--repo DIR] [--quick] [--sanitize]
// Exit: 0 all pass, 1 a failure, 77 no GPU.
//
//===----------------------------------------------------------------------===//
#include "gpu_harness.h"

#include "qqq/Numerics/Half.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace qqq;
using namespace qqq::gpu;
using codegen::GemmConfig;
using codegen::GemmShape;

namespace {

struct NamedShape {
  const char *name;
  int64_t N, K;
};

const NamedShape kShapes[] = {
    {"llama2-7b.qkv", 12288, 4096},  {"llama2-7b.o", 4096, 4096},
    {"llama2-7b.gate_up", 11008, 4096}, {"llama2-7b.down", 4096, 11008},
    {"llama2-13b.o", 5120, 5120},    {"llama2-13b.up", 13824, 5120},
    {"llama2-13b.down", 5120, 13824}, {"llama2-70b.o", 8192, 8192},
    {"llama2-70b.qkv", 10240, 8192}, {"llama2-70b.up", 28672, 8192},
    {"llama2-70b.down", 8192, 28672}, {"qwen2-7b.o", 3584, 3584},
    {"qwen2-7b.qkv", 4608, 3584},    {"qwen2-7b.up", 18944, 3584},
    {"qwen2-7b.down", 3584, 18944},
};

struct GemmCase {
  std::string shapeName;
  GemmShape shape;
  GemmConfig config;
  std::vector<int64_t> Ms;
  size_t kernelIndex = 0;
};

int failures = 0, passes = 0;

void report(bool ok, const std::string &what) {
  if (ok)
    ++passes;
  else
    ++failures;
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
  std::fflush(stdout);
}

std::string describe(const GemmCase &c, int64_t M) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "%s N=%lld K=%lld G=%lld M=%lld %s tile_m=%lld tile_n=%lld "
                "tile_k=%lld stages=%lld warps=%lld split_k=%lld "
                "stream_k=%lld%s",
                c.shapeName.c_str(), (long long)c.shape.N, (long long)c.shape.K,
                (long long)c.shape.groupSize, (long long)M,
                c.config.arch.c_str(), (long long)c.config.tileM,
                (long long)c.config.tileN, (long long)c.config.tileK,
                (long long)c.config.stages, (long long)c.config.warps,
                (long long)c.config.splitK, (long long)c.config.streamK,
                c.config.tokenTilesFirst ? " token_tiles_first" : "");
  return buf;
}

// CPU reference of the output from reference int32 sums (threads over rows).
std::vector<uint16_t> referenceOutput(const std::vector<int32_t> &acc,
                                      const ActProblem &a,
                                      const WeightProblem &w, int64_t M,
                                      bool withBias) {
  std::vector<uint16_t> y(static_cast<size_t>(M * w.N));
  int T = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int t = 0; t < T; ++t)
    pool.emplace_back([&, t] {
      for (int64_t m = t; m < M; m += T)
        for (int64_t n = 0; n < w.N; ++n)
          y[m * w.N + n] =
              epilogueRef(acc[m * w.N + n], a.sTok[m], w.sCh[n],
                          withBias ? &w.bias[n] : nullptr);
    });
  for (auto &th : pool)
    th.join();
  return y;
}

// The GPU reference sums, checked on CPU (int64) for rows 0, M/2, M-1.
bool checkReferenceRows(const std::vector<int32_t> &acc, const ActProblem &a,
                        const WeightProblem &w, int64_t M) {
  int64_t rows[3] = {0, M / 2, M - 1};
  std::atomic<int> bad{0};
  int T = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int t = 0; t < T; ++t)
    pool.emplace_back([&, t] {
      for (int r = 0; r < 3; ++r)
        for (int64_t n = t; n < w.N; n += T)
          if (dotRef(a, w, rows[r], n) != acc[rows[r] * w.N + n])
            ++bad;
    });
  for (auto &th : pool)
    th.join();
  return bad == 0;
}

std::string archForFamily(const Device &d, const std::string &catalogArch) {
  if (catalogArch == "sm_90a")
    return "sm_90a";
  // The mma.sync family runs on the device's own arch (SASS of sm_80 does
  // not run on sm_90).
  return "sm_" + std::to_string(d.ccMajor) + std::to_string(d.ccMinor);
}

// The NVRTC request of one catalog GEMM kernel for this device.
KernelRequest gemmRequest(const Device &d, const GemmConfig &c,
                          const GemmShape &s) {
  return {codegen::templateFileName(*codegen::gemmFamilyForArch(c.arch)),
          codegen::instantiationExpression(c, s), archForFamily(d, c.arch)};
}

//===-- activation kernels -------------------------------------------------===//

float cpuQuantizeRow(const float *x, int64_t n, int8_t *q) {
  float amax = 0.0f;
  for (int64_t k = 0; k < n; ++k)
    amax = std::max(amax, std::fabs(x[k]));
  volatile float s = amax / 127.0f;
  for (int64_t k = 0; k < n; ++k) {
    if (amax == 0.0f) {
      q[k] = 0;
      continue;
    }
    volatile float d = x[k] / s;
    float v = std::nearbyint(d);
    q[k] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
  }
  return s;
}

void testActivationKernels(const Device &dev, const std::string &repo,
                           const std::vector<int64_t> &Ks,
                           const std::vector<int64_t> &Ms) {
  std::vector<KernelRequest> reqs;
  for (int64_t K : Ks) {
    reqs.push_back({"quantize_act.cuh",
                    codegen::activationExpression(
                        codegen::KernelFamily::QuantizeAct, K),
                    archForFamily(dev, "sm_80")});
    reqs.push_back({"rms_norm_quantize.cuh",
                    codegen::activationExpression(
                        codegen::KernelFamily::RmsNormQuantize, K),
                    archForFamily(dev, "sm_80")});
  }
  std::vector<Kernel> ks = buildKernels(reqs, repo, 16);
  for (size_t i = 0; i < Ks.size(); ++i) {
    int64_t K = Ks[i];
    const Kernel &kq = ks[2 * i], &kr = ks[2 * i + 1];
    if (!kq.fn || !kr.fn) {
      report(false, "compile activation kernels K=" + std::to_string(K) +
                        ": " + kq.log + kr.log);
      continue;
    }
    for (int64_t M : Ms) {
      std::mt19937_64 rng(1000 + K + M);
      std::normal_distribution<float> dn(0.0f, 1.0f);
      std::vector<uint16_t> xh(static_cast<size_t>(M * K)),
          gh(static_cast<size_t>(K));
      for (uint16_t &h : xh)
        h = numerics::floatToHalfBits(dn(rng));
      for (int64_t m = 0; m < M; ++m) // an outlier channel per row
        xh[m * K + (m * 131) % K] = numerics::floatToHalfBits(40.0f);
      if (M > 2) // one all-zero row: scale 0, q 0
        std::fill(xh.begin() + K, xh.begin() + 2 * K, 0);
      std::uniform_real_distribution<float> dg(0.5f, 1.5f);
      for (uint16_t &h : gh)
        h = numerics::floatToHalfBits(dg(rng));
      DevBuf dx(xh.size() * 2), dgam(gh.size() * 2), dq(xh.size()),
          ds(static_cast<size_t>(M) * 4);
      dx.upload(xh.data(), xh.size() * 2);
      dgam.upload(gh.data(), gh.size() * 2);
      codegen::LaunchGeometry g = codegen::activationGeometry(
          codegen::KernelFamily::QuantizeAct, K, M);
      int m32 = static_cast<int>(M);
      std::vector<int8_t> q(xh.size()), qref(xh.size());
      std::vector<float> s(static_cast<size_t>(M));
      std::vector<float> xf(xh.size());
      for (size_t j = 0; j < xh.size(); ++j)
        xf[j] = numerics::halfBitsToFloat(xh[j]);

      // quantize_act: bit-exact.
      CU_CHECK(cuMemsetD8(dq.p, 0x55, dq.bytes));
      {
        void *args[] = {&dx.p, &dq.p, &ds.p, &m32};
        CU_CHECK(cuLaunchKernel(kq.fn, g.grid[0], 1, 1, g.block[0], 1, 1, 0,
                                nullptr, args, nullptr));
      }
      CU_CHECK(cuCtxSynchronize());
      dq.download(q.data(), q.size());
      ds.download(s.data(), s.size() * 4);
      int64_t bad = 0;
      for (int64_t m = 0; m < M; ++m) {
        float sref = cpuQuantizeRow(xf.data() + m * K, K, qref.data() + m * K);
        if (std::memcmp(&sref, &s[m], 4) != 0)
          ++bad;
      }
      for (size_t j = 0; j < q.size(); ++j)
        bad += q[j] != qref[j];
      report(bad == 0, "quantize_act K=" + std::to_string(K) + " M=" +
                           std::to_string(M) + " mismatches=" +
                           std::to_string(bad));

      // rms_norm_quantize against float64.
      CU_CHECK(cuMemsetD8(dq.p, 0x55, dq.bytes));
      float eps = 1e-5f;
      {
        void *args[] = {&dx.p, &dgam.p, &eps, &dq.p, &ds.p, &m32};
        CU_CHECK(cuLaunchKernel(kr.fn, g.grid[0], 1, 1, g.block[0], 1, 1, 0,
                                nullptr, args, nullptr));
      }
      CU_CHECK(cuCtxSynchronize());
      dq.download(q.data(), q.size());
      ds.download(s.data(), s.size() * 4);
      int64_t off1 = 0, badR = 0;
      double worstScale = 0;
      for (int64_t m = 0; m < M; ++m) {
        double ss = 0;
        for (int64_t k = 0; k < K; ++k)
          ss += double(xf[m * K + k]) * xf[m * K + k];
        double r = 1.0 / std::sqrt(ss / K + eps);
        std::vector<double> v(static_cast<size_t>(K));
        double amax = 0;
        for (int64_t k = 0; k < K; ++k) {
          v[k] = xf[m * K + k] * r * numerics::halfBitsToFloat(gh[k]);
          amax = std::max(amax, std::fabs(v[k]));
        }
        double sr = amax / 127.0;
        if (sr == 0) {
          if (s[m] != 0)
            ++badR;
        } else {
          worstScale = std::max(worstScale, std::fabs(s[m] - sr) / sr);
        }
        for (int64_t k = 0; k < K; ++k) {
          long qr = sr == 0 ? 0 : std::lround(std::clamp(v[k] / sr, -127.0, 127.0));
          long d = std::labs(qr - q[m * K + k]);
          if (d > 1)
            ++badR;
          else if (d == 1)
            ++off1;
        }
      }
      bool ok = badR == 0 && worstScale <= 1e-5 &&
                off1 <= std::max<int64_t>(1, M * K / 1000);
      char buf[256];
      std::snprintf(buf, sizeof(buf),
                    "rms_norm_quantize K=%lld M=%lld off_by_1=%lld bad=%lld "
                    "max_rel_scale_err=%.2e",
                    (long long)K, (long long)M, (long long)off1,
                    (long long)badR, worstScale);
      report(ok, buf);
    }
  }
}

} // namespace

//===-- per-group conversion, exhaustively ---------------------------------===//

// Every f16 scale s >= 0 with 8 s <= 127.5 (the quantizer's bound on
// |q s|) and every q in [-8, 7]: the kernels' f16x2 conversion must equal
// rne(q * float(s)), the CPU reference's rule.
void testGroupConversion(const Device &dev, const std::string &repo) {
  std::vector<Kernel> ks = buildKernels(
      {{"group_convert.cuh", "qqq_test::group_convert_all",
        archForFamily(dev, "sm_80")}},
      repo, 1);
  if (!ks[0].fn) {
    report(false, "compile group_convert_all: " + ks[0].log);
    return;
  }
  std::vector<uint16_t> scales;
  for (uint32_t b = 0; b < 0x7C00; ++b)
    if (8.0f * numerics::halfBitsToFloat(static_cast<uint16_t>(b)) <= 127.5f)
      scales.push_back(static_cast<uint16_t>(b));
  int n = static_cast<int>(scales.size());
  DevBuf sd(scales.size() * 2), od(scales.size() * 16);
  sd.upload(scales.data(), scales.size() * 2);
  void *args[] = {&sd.p, &n, &od.p};
  CU_CHECK(cuLaunchKernel(ks[0].fn, (n + 255) / 256, 1, 1, 256, 1, 1, 0,
                          nullptr, args, nullptr));
  CU_CHECK(cuCtxSynchronize());
  std::vector<int8_t> got(scales.size() * 16);
  od.download(got.data(), got.size());
  int64_t bad = 0;
  std::string first;
  for (int i = 0; i < n; ++i)
    for (int word = 0; word < 2; ++word)
      for (int nib = 0; nib < 8; ++nib) {
        int q = word == 0 ? nib - 8 : nib;
        float want = std::nearbyint(static_cast<float>(q) *
                                    numerics::halfBitsToFloat(scales[i]));
        int8_t g = got[16 * i + 8 * word + nib];
        if (g != static_cast<int8_t>(want) && bad++ == 0) {
          char buf[120];
          std::snprintf(buf, sizeof(buf),
                        " first: s=0x%04x q=%d got %d want %d", scales[i], q,
                        g, static_cast<int>(want));
          first = buf;
        }
      }
  report(bad == 0, "group conversion rne(q*s): " + std::to_string(n) +
                       " scales x 16 q, mismatches=" + std::to_string(bad) +
                       first);
}

// Programmatic dependent launch: a GEMM launched with the attribute after
// a slow GEMM writing the same output starts early (its weight copies
// overlap the first kernel) but must store only after the first has ended
// (griddepcontrol.wait). Without the wait the slow kernel's late stores
// would survive in y.
void testProgrammaticLaunch(const Device &dev, const std::string &repo,
                            const Kernel &ref) {
  const int64_t M = 1000, N = 4096, K1 = 28672, K2 = 4096;
  GemmShape s1{N, K1, 0}, s2{N, K2, 128};
  GemmConfig c1 = codegen::defaultConfig(s1, 1024, "sm_90a");
  GemmConfig c2 = codegen::defaultConfig(s2, 1024, "sm_90a");
  GemmConfig c3 = codegen::defaultConfig(s2, 16, "sm_90a"); // split-K cluster
  std::vector<Kernel> ks = buildKernels(
      {gemmRequest(dev, c1, s1), gemmRequest(dev, c2, s2),
       gemmRequest(dev, c3, s2)},
      repo, 3);
  for (const Kernel &k : ks)
    if (!k.fn) {
      report(false, "pdl: compile " + k.expr + ": " + k.log);
      return;
    }
  WeightProblem w1 = makeWeight(N, K1, 0, 901), w2 = makeWeight(N, K2, 128, 902);
  DeviceWeight dw1 = uploadWeight(w1), dw2 = uploadWeight(w2);
  for (int second = 1; second <= 2; ++second) {
    const GemmConfig &c = second == 1 ? c2 : c3;
    int64_t M2 = second == 1 ? M : 16;
    ActProblem a1 = makeActivations(M, K1, 903), a2 = makeActivations(M2, K2, 904);
    DeviceAct da1 = uploadAct(a1), da2 = uploadAct(a2);
    DevBuf accD;
    referenceAccGpu(ref, da2, dw2, M2, N, K2, accD);
    CU_CHECK(cuCtxSynchronize());
    std::vector<int32_t> acc(static_cast<size_t>(M2 * N));
    accD.download(acc.data(), acc.size() * 4);
    std::vector<uint16_t> yref = referenceOutput(acc, a2, w2, M2, true);
    DevBuf y(static_cast<size_t>(M * N * 2));
    std::vector<uint16_t> yk(static_cast<size_t>(M2 * N));
    int64_t bad = 0;
    CUresult lr = CUDA_SUCCESS;
    for (int rep = 0; rep < 5 && lr == CUDA_SUCCESS; ++rep) {
      CU_CHECK(cuMemsetD8(y.p, 0xFF, y.bytes));
      lr = launchGemm(ks[0], c1, s1, da1, dw1, false, y, M, nullptr);
      if (lr == CUDA_SUCCESS)
        lr = launchGemm(ks[second], c, s2, da2, dw2, true, y, M2, nullptr,
                        nullptr, /*pdl=*/true);
      CU_CHECK(cuCtxSynchronize());
      y.download(yk.data(), yk.size() * 2);
      for (size_t j = 0; j < yk.size(); ++j)
        bad += yk[j] != yref[j];
    }
    const char *msg = nullptr;
    if (lr != CUDA_SUCCESS)
      cuGetErrorString(lr, &msg);
    report(lr == CUDA_SUCCESS && bad == 0,
           "pdl: " + codegen::instantiationExpression(c, s2) + " M=" +
               std::to_string(M2) + " after " +
               codegen::instantiationExpression(c1, s1) + " M=" +
               std::to_string(M) + ", 5 runs, mismatches=" +
               std::to_string(bad) + (msg ? std::string(" launch: ") + msg : ""));
  }
}

int main(int argc, char **argv) {
  std::string repo = ".";
  bool quick = false, sanitize = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--repo" && i + 1 < argc)
      repo = argv[++i];
    else if (a == "--quick")
      quick = true;
    else if (a == "--sanitize")
      sanitize = true;
    else {
      std::fprintf(stderr, "unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  Device dev;
  std::string why;
  if (!initDevice(dev, why)) {
    std::printf("skipped: no GPU (%s)\n", why.c_str());
    return 77;
  }
  std::printf("device: %s, %d SMs, L2 %d B, cc %d.%d\n", dev.name.c_str(),
              dev.sms, dev.l2Bytes, dev.ccMajor, dev.ccMinor);
  bool hopper = dev.ccMajor == 9;
  std::vector<std::string> archs = {"sm_80"};
  if (hopper)
    archs.insert(archs.begin(), "sm_90a");

  std::vector<int64_t> Ms = {1, 7, 16, 33, 64, 128, 1000, 4096};
  std::vector<NamedShape> shapes(std::begin(kShapes), std::end(kShapes));
  if (quick) {
    shapes = {kShapes[1], kShapes[3]};
    Ms = {1, 33, 1000};
  }
  std::vector<GemmCase> cases;
  if (sanitize) {
    // Small, but every mechanism: split-K, per group, partial tiles.
    for (const std::string &arch : archs)
      for (int64_t G : {int64_t(0), int64_t(128)}) {
        GemmConfig c;
        c.arch = arch;
        c.tileM = 16;
        c.tileN = 64;
        c.warps = 4;
        c.tileK = 128;
        c.stages = 3;
        c.splitK = 2;
        cases.push_back({"sanitize", {256, 512, G}, c, {7, 33}});
        if (arch == "sm_90a") { // 5 K tiles over 2 CTAs: 3 + 2
          cases.push_back({"sanitize-uneven", {256, 640, G}, c, {7, 33}});
          // Stream-K: 7 CTAs share 16 or 48 iterations (tiles split three
          // ways, heads waiting on tails); 132 CTAs for 16 iterations (one
          // each, the surplus CTAs idle, a tile over 4 CTAs).
          for (int64_t ctas : {7, 132}) {
            GemmConfig sk = c;
            sk.splitK = 1;
            sk.streamK = ctas;
            sk.maxM = 64;
            cases.push_back({"sanitize-stream-k", {256, 512, G}, sk, {7, 33}});
          }
          GemmConfig ordered = c; // 4 weight-row blocks x 3 token tiles
          ordered.tokenTilesFirst = true;
          cases.push_back({"sanitize-token-tiles-first", {256, 512, G},
                           ordered, {7, 33}});
        }
      }
  } else {
    for (const NamedShape &s : shapes)
      for (int64_t G : {int64_t(0), int64_t(128)})
        for (const std::string &arch : archs) {
          std::map<int64_t, std::vector<int64_t>> byBucket;
          for (int64_t M : Ms)
            byBucket[codegen::bucketForM(M)].push_back(M);
          for (auto &[bucket, bm] : byBucket) {
            GemmShape shape{s.N, s.K, G};
            GemmConfig c = codegen::defaultConfig(shape, bucket, arch);
            cases.push_back({s.name, shape, c, bm});
          }
        }
    // Knob sweep on one shape: every template parameter moves.
    GemmShape sweepShape{4096, 4096, 0};
    for (const std::string &arch : archs)
      for (int64_t G : {int64_t(0), int64_t(128)})
        for (int64_t tm : {8, 32, 64, 128})
          for (int64_t tk : {64, 256, 512})
            for (int64_t st : {3, 4})
              for (int64_t sk : {1, 4, 8, 16})
                for (int64_t wp : {4, 8}) {
                  GemmConfig c;
                  c.arch = arch;
                  c.tileM = tm;
                  c.tileK = tk;
                  c.stages = st;
                  c.splitK = sk;
                  c.warps = wp;
                  c.tileN = arch == "sm_90a" ? 16 * wp : 64 * (wp == 8 ? 2 : 1);
                  if (arch != "sm_90a" && wp == 8)
                    c.tileN = 128;
                  GemmShape sh = sweepShape;
                  sh.groupSize = G;
                  if (codegen::whyInvalid(c, sh))
                    continue;
                  // Keep the sweep small: a pseudo-random third of it.
                  if (((tm * 7 + tk * 3 + st * 5 + sk * 11 + wp + G) % 3) != 0)
                    continue;
                  cases.push_back({"sweep", sh, c, {1, 33, 200}});
                }
    // Split-K with fewer K tiles per split than pipeline stages (the stage
    // ring is never full), per channel and per group, including group 64
    // on SmolLM2-like shapes.
    for (const std::string &arch : archs)
      for (GemmShape sh : {GemmShape{576, 1536, 64}, GemmShape{576, 1536, 0},
                           GemmShape{4096, 4096, 128}})
        for (int64_t tk : {128, 512})
          for (int64_t sk : {2, 4}) {
            GemmConfig c;
            c.arch = arch;
            c.tileM = 16;
            c.tileK = tk;
            c.stages = 4;
            c.splitK = sk;
            c.warps = 4;
            c.tileN = 64;
            if (!codegen::whyInvalid(c, sh))
              cases.push_back({"few-tiles", sh, c, {1, 7, 33}});
          }
    // sm90 splits K tiles unevenly: the first K_tiles % split_k CTAs of a
    // cluster take one tile more (LLaMA-2-7B down has 43 tiles of 256,
    // Qwen2-7B down 37 of 512).
    if (std::find(archs.begin(), archs.end(), "sm_90a") != archs.end())
      for (GemmShape sh : {GemmShape{4096, 11008, 0}, GemmShape{4096, 11008, 128},
                           GemmShape{3584, 18944, 128}, GemmShape{576, 1536, 64}})
        for (int64_t sk : {3, 5, 7}) {
          GemmConfig c;
          c.arch = "sm_90a";
          c.tileM = 16;
          c.tileK = sh.K == 18944 ? 512 : sh.K == 1536 ? 128 : 256;
          c.stages = sk == 5 ? 6 : 4;
          c.splitK = sk;
          c.warps = sk == 7 ? 8 : 4;
          c.tileN = 16 * c.warps;
          if (!codegen::whyInvalid(c, sh))
            cases.push_back({"uneven-split", sh, c, {1, 16, 33}});
        }
    // Stream-K (sm90): persistent grids of 132 CTAs (the H100's SMs), 100
    // (fewer than the SMs: any grid is correct) and 19 (tiles split over
    // several CTAs, CTAs running several tiles), on the shapes and tiles
    // where the tile count misses the SM count, per channel and group 128.
    if (std::find(archs.begin(), archs.end(), "sm_90a") != archs.end())
      for (GemmShape sh :
           {GemmShape{4608, 3584, 0}, GemmShape{4608, 3584, 128},
            GemmShape{12288, 4096, 0}, GemmShape{4096, 11008, 128},
            GemmShape{3584, 3584, 0}})
        for (int64_t wp : {4, 8, 16})
          for (int64_t ctas : {132, 100, 19}) {
            GemmConfig c;
            c.arch = "sm_90a";
            c.warps = wp;
            c.tileN = 16 * wp;
            c.tileM = wp == 4 ? 16 : wp == 8 ? 256 : 128;
            c.tileK = wp == 4 ? 256 : 128;
            c.stages = wp == 4 ? 6 : 4;
            c.streamK = ctas;
            c.maxM = 1024;
            if (wp == 8 && sh.groupSize == 0)
              c.tileM = 64;
            if (!codegen::whyInvalid(c, sh))
              cases.push_back({"stream-k", sh, c,
                               wp == 4 ? std::vector<int64_t>{1, 16, 33}
                                       : std::vector<int64_t>{33, 300, 1000}});
          }
    // Token tiles first (sm90, one CTA per tile): the renumbered grid must
    // still cover every (weight-row block, token tile) once, with partial
    // last token tiles, through both entry points (unsplit and cluster
    // split-K), per channel and group 128.
    if (std::find(archs.begin(), archs.end(), "sm_90a") != archs.end())
      for (GemmShape sh : {GemmShape{4096, 4096, 0}, GemmShape{4096, 4096, 128},
                           GemmShape{3584, 3584, 0}, GemmShape{4096, 11008, 128}})
        for (int64_t tm : {32, 64, 128})
          for (int64_t sk : {1, 2}) {
            GemmConfig c;
            c.arch = "sm_90a";
            c.warps = 8;
            c.tileN = 128;
            c.tileM = tm;
            c.tileK = tm <= 64 ? 256 : 128;
            c.stages = 4;
            c.splitK = sk;
            c.tokenTilesFirst = true;
            if (!codegen::whyInvalid(c, sh))
              cases.push_back({"token-tiles-first", sh, c, {1, 33, 200, 1000}});
          }
  }

  // Validate and compile every distinct kernel.
  std::vector<KernelRequest> reqs = {referenceKernelRequest()};
  reqs[0].arch = archForFamily(dev, "sm_80"); // the device's own SASS
  std::map<std::string, size_t> index;
  for (GemmCase &c : cases) {
    if (auto err = codegen::whyInvalid(c.config, c.shape)) {
      report(false, describe(c, 0) + ": invalid config: " + *err);
      continue;
    }
    KernelRequest req = gemmRequest(dev, c.config, c.shape);
    std::string key = req.expr + "@" + c.config.arch;
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, reqs.size()).first;
      reqs.push_back(req);
    }
    c.kernelIndex = it->second;
  }
  std::printf("compiling %zu kernels with NVRTC...\n", reqs.size());
  std::fflush(stdout);
  std::vector<Kernel> kernels = buildKernels(reqs, repo, 16);
  double compileTotal = 0;
  for (const Kernel &k : kernels) {
    compileTotal += k.compileMs;
    if (!k.fn)
      report(false, "compile " + k.expr + " (" + k.arch + "): " + k.log);
    else if (k.localBytes > 0)
      std::printf("WARN %s uses %d bytes of local memory\n", k.expr.c_str(),
                  k.localBytes);
  }
  std::printf("compiled in %.1f s of NVRTC time (16 threads)\n",
              compileTotal / 1000);
  const Kernel &ref = kernels[0];
  if (!ref.fn)
    return 1;

  // Group cases by weight (shape, G) so each weight is made once.
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::vector<GemmCase *>>
      byWeight;
  for (GemmCase &c : cases)
    byWeight[{c.shape.N, c.shape.K, c.shape.groupSize}].push_back(&c);
  uint64_t seed = 1;
  for (auto &[key, group] : byWeight) {
    auto [N, K, G] = key;
    WeightProblem w = makeWeight(N, K, G, seed++);
    DeviceWeight dw = uploadWeight(w);
    std::map<int64_t, std::vector<std::pair<GemmCase *, bool>>> byM;
    for (GemmCase *c : group)
      for (int64_t M : c->Ms)
        byM[M].push_back({c, false});
    for (auto &[M, list] : byM) {
      ActProblem a = makeActivations(M, K, seed++);
      DeviceAct da = uploadAct(a);
      DevBuf accD;
      referenceAccGpu(ref, da, dw, M, N, K, accD);
      CU_CHECK(cuCtxSynchronize());
      std::vector<int32_t> acc(static_cast<size_t>(M * N));
      accD.download(acc.data(), acc.size() * 4);
      if (!checkReferenceRows(acc, a, w, M)) {
        report(false, "reference GEMM disagrees with CPU int64 N=" +
                          std::to_string(N) + " K=" + std::to_string(K));
        continue;
      }
      bool withBias = (M + G) % 2 == 1;
      std::vector<uint16_t> yref = referenceOutput(acc, a, w, M, withBias);
      DevBuf y(static_cast<size_t>(M * N * 2));
      std::vector<uint16_t> yk(static_cast<size_t>(M * N));
      for (auto &[c, unused] : list) {
        const Kernel &k = kernels[c->kernelIndex];
        if (!k.fn)
          continue;
        codegen::LaunchGeometry g =
            codegen::launchGeometry(c->config, c->shape, M);
        DevBuf ws(g.workspaceBytes);
        // Stream-K: the flags (first, padded to 32 int32) must start zero,
        // the partial-sum slots are scratch: poisoned. Split-K (sm_80)
        // adds into zeros.
        const size_t mustBeZero =
            c->config.streamK > 0
                ? static_cast<size_t>((c->config.streamK + 31) / 32 * 32 * 4)
                : g.workspaceBytes;
        if (g.workspaceBytes) {
          CU_CHECK(cuMemsetD8(ws.p, 0x5A, g.workspaceBytes));
          CU_CHECK(cuMemsetD8(ws.p, 0, mustBeZero));
        }
        CU_CHECK(cuMemsetD8(y.p, 0xFF, y.bytes)); // poison: f16 NaN 0xFFFF
        // Twice: the second launch checks that the first left zero what
        // must start zero (every flag, or every split-K partial).
        CUresult lr = CUDA_SUCCESS;
        for (int rep = 0; rep < 2 && lr == CUDA_SUCCESS; ++rep)
          lr = launchGemm(k, c->config, c->shape, da, dw, withBias, y, M,
                          g.workspaceBytes ? &ws : nullptr);
        if (lr != CUDA_SUCCESS) {
          const char *msg = nullptr;
          cuGetErrorString(lr, &msg);
          report(false, describe(*c, M) + " launch failed: " +
                            (msg ? msg : "?") + " smem=" +
                            std::to_string(g.sharedBytes) +
                            " regs=" + std::to_string(k.regs));
          continue;
        }
        CU_CHECK(cuCtxSynchronize());
        y.download(yk.data(), yk.size() * 2);
        int64_t bad = 0, firstBad = -1;
        for (size_t j = 0; j < yk.size(); ++j)
          if (yk[j] != yref[j]) {
            if (firstBad < 0)
              firstBad = static_cast<int64_t>(j);
            ++bad;
          }
        int64_t wsNonZero = 0;
        if (g.workspaceBytes && g.workspaceBytes <= (256u << 20)) {
          std::vector<int32_t> wsh(g.workspaceBytes / 4);
          ws.download(wsh.data(), g.workspaceBytes);
          for (size_t j = 0; j < mustBeZero / 4; ++j)
            wsNonZero += wsh[j] != 0;
        }
        std::string d = describe(*c, M) + " bias=" + (withBias ? "1" : "0") +
                        " regs=" + std::to_string(k.regs) +
                        " mismatches=" + std::to_string(bad);
        if (bad) {
          int64_t m = firstBad / N, n = firstBad % N;
          char buf[160];
          std::snprintf(buf, sizeof(buf),
                        " first at (m=%lld, n=%lld): got 0x%04x want 0x%04x "
                        "(acc %d)",
                        (long long)m, (long long)n, yk[firstBad],
                        yref[firstBad], acc[firstBad]);
          d += buf;
        }
        if (wsNonZero)
          d += " workspace_not_zeroed=" + std::to_string(wsNonZero);
        report(bad == 0 && wsNonZero == 0, d);
      }
    }
  }

  if (!sanitize) {
    if (dev.ccMajor == 9)
      testProgrammaticLaunch(dev, repo, ref);
    testGroupConversion(dev, repo);
    std::vector<int64_t> Ks = {3584, 4096, 5120, 8192, 11008, 13824, 18944,
                               28672};
    if (quick)
      Ks = {4096, 11008};
    testActivationKernels(dev, repo, Ks, {1, 33, 1000});
  } else {
    testActivationKernels(dev, repo, {512}, {3});
  }

  std::printf("SUMMARY: %d passed, %d failed on %s\n", passes, failures,
              dev.name.c_str());
  return failures == 0 ? 0 : 1;
}
