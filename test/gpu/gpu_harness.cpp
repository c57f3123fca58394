//===- gpu_harness.cpp - NVRTC + driver API harness for the qqq kernels ---===//
#include "gpu_harness.h"

#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/KernelLayouts.h"
#include "qqq/Runtime/ActivationMap.h"

#include <nvrtc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

namespace qqq::gpu {

void cuCheck(CUresult r, const char *what, const char *file, int line) {
  if (r == CUDA_SUCCESS)
    return;
  const char *msg = nullptr;
  cuGetErrorString(r, &msg);
  std::fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, what,
               msg ? msg : "unknown error");
  std::exit(2);
}

bool initDevice(Device &d, std::string &why) {
  CUresult r = cuInit(0);
  if (r != CUDA_SUCCESS) {
    const char *msg = nullptr;
    cuGetErrorString(r, &msg);
    why = std::string("cuInit: ") + (msg ? msg : "failed");
    return false;
  }
  int count = 0;
  if (cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0) {
    why = "no CUDA device";
    return false;
  }
  CU_CHECK(cuDeviceGet(&d.dev, 0));
  char name[256] = {0};
  CU_CHECK(cuDeviceGetName(name, sizeof(name), d.dev));
  d.name = name;
  CU_CHECK(cuDeviceGetAttribute(
      &d.sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d.dev));
  CU_CHECK(cuDeviceGetAttribute(&d.l2Bytes, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE,
                                d.dev));
  CU_CHECK(cuDeviceGetAttribute(
      &d.ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d.dev));
  CU_CHECK(cuDeviceGetAttribute(
      &d.ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d.dev));
  CU_CHECK(cuDevicePrimaryCtxRetain(&d.ctx, d.dev));
  CU_CHECK(cuCtxSetCurrent(d.ctx));
  return true;
}

DevBuf::DevBuf(size_t n) : bytes(n) {
  if (n)
    CU_CHECK(cuMemAlloc(&p, n));
}
DevBuf::DevBuf(DevBuf &&o) noexcept : p(o.p), bytes(o.bytes) {
  o.p = 0;
  o.bytes = 0;
}
DevBuf &DevBuf::operator=(DevBuf &&o) noexcept {
  if (this != &o) {
    if (p)
      cuMemFree(p);
    p = o.p;
    bytes = o.bytes;
    o.p = 0;
    o.bytes = 0;
  }
  return *this;
}
DevBuf::~DevBuf() {
  if (p)
    cuMemFree(p);
}
void DevBuf::upload(const void *h, size_t n) {
  if (n)
    CU_CHECK(cuMemcpyHtoD(p, h, n));
}
void DevBuf::download(void *h, size_t n) const {
  if (n)
    CU_CHECK(cuMemcpyDtoH(h, p, n));
}

namespace {

std::string cudaIncludeDir() {
  const char *home = std::getenv("CUDA_HOME");
  return std::string(home ? home : "/usr/local/cuda") + "/include";
}

void compileOne(const KernelRequest &req, const std::string &repoRoot,
                Kernel &out) {
  auto t0 = std::chrono::steady_clock::now();
  out.expr = req.expr;
  out.arch = req.arch;
  std::string src = "#include \"" + req.file + "\"\n";
  nvrtcProgram prog;
  if (nvrtcCreateProgram(&prog, src.c_str(), "qqq_kernel.cu", 0, nullptr,
                         nullptr) != NVRTC_SUCCESS) {
    out.log = "nvrtcCreateProgram failed";
    return;
  }
  nvrtcAddNameExpression(prog, req.expr.c_str());
  std::string archOpt = "--gpu-architecture=" + req.arch;
  std::string inc1 = "-I" + repoRoot + "/kernels-templates";
  std::string inc2 = "-I" + repoRoot + "/test/gpu";
  std::string inc3 = "-I" + cudaIncludeDir();
  const char *opts[] = {archOpt.c_str(), inc1.c_str(), inc2.c_str(),
                        inc3.c_str(), "--std=c++17", "--fmad=false"};
  nvrtcResult rc = nvrtcCompileProgram(prog, 6, opts);
  size_t logSize = 0;
  nvrtcGetProgramLogSize(prog, &logSize);
  std::string log(logSize, '\0');
  if (logSize)
    nvrtcGetProgramLog(prog, log.data());
  if (rc != NVRTC_SUCCESS) {
    out.log = log;
    nvrtcDestroyProgram(&prog);
    return;
  }
  const char *lowered = nullptr;
  nvrtcGetLoweredName(prog, req.expr.c_str(), &lowered);
  std::string loweredName = lowered ? lowered : "";
  size_t n = 0;
  nvrtcGetCUBINSize(prog, &n);
  out.cubin.resize(n);
  nvrtcGetCUBIN(prog, out.cubin.data());
  nvrtcDestroyProgram(&prog);
  out.log = loweredName; // kept until the module is loaded
  out.compileMs = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
}

} // namespace

std::vector<Kernel> buildKernels(const std::vector<KernelRequest> &reqs,
                                 const std::string &repoRoot, int threads) {
  std::vector<Kernel> out(reqs.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < reqs.size();)
        compileOne(reqs[i], repoRoot, out[i]);
    });
  for (auto &th : pool)
    th.join();
  for (Kernel &k : out) {
    if (k.cubin.empty())
      continue;
    std::string lowered = k.log;
    k.log.clear();
    CUresult r = cuModuleLoadData(&k.module, k.cubin.data());
    if (r != CUDA_SUCCESS) {
      k.log = "cuModuleLoadData failed for " + k.expr;
      continue;
    }
    CU_CHECK(cuModuleGetFunction(&k.fn, k.module, lowered.c_str()));
    CU_CHECK(cuFuncGetAttribute(&k.regs, CU_FUNC_ATTRIBUTE_NUM_REGS, k.fn));
    CU_CHECK(cuFuncGetAttribute(&k.localBytes,
                                CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, k.fn));
  }
  return out;
}

KernelRequest referenceKernelRequest() {
  return {"reference_gemm.cuh", "qqq_ref::ref_gemm_s8", "sm_90"};
}

namespace {
// Packs row slices of 64 (both layouts are n-block-major, so a slice of
// rows is a contiguous byte range) on several threads.
void packParallel(bool sm90, const std::vector<int8_t> &q, int64_t N,
                  int64_t K, std::vector<uint8_t> &out) {
  out.assign(static_cast<size_t>(N * K / 2), 0);
  int64_t slices = N / 64;
  int T = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int t = 0; t < T; ++t)
    pool.emplace_back([&, t] {
      for (int64_t s = t; s < slices; s += T) {
        const int8_t *src = q.data() + s * 64 * K;
        uint8_t *dst = out.data() + s * 64 * K / 2;
        if (sm90)
          numerics::packSm90(src, 64, K, dst);
        else
          numerics::packSm80(src, 64, K, dst);
      }
    });
  for (auto &th : pool)
    th.join();
}
} // namespace

WeightProblem makeWeight(int64_t N, int64_t K, int64_t G, uint64_t seed,
                         bool withPacking) {
  WeightProblem w;
  w.N = N;
  w.K = K;
  w.G = G;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dq(G > 0 ? -8 : -7, 7);
  w.q.resize(static_cast<size_t>(N * K));
  for (int8_t &v : w.q)
    v = static_cast<int8_t>(dq(rng));
  std::uniform_real_distribution<float> dsc(0.5e-2f, 1.5e-2f);
  w.sCh.resize(static_cast<size_t>(N));
  for (float &s : w.sCh)
    s = dsc(rng);
  std::uniform_real_distribution<float> db(-1.0f, 1.0f);
  w.bias.resize(static_cast<size_t>(N));
  for (uint16_t &b : w.bias)
    b = numerics::floatToHalfBits(db(rng));
  w.w8 = w.q;
  if (G > 0) {
    // |rne(q s)| <= 8 * 15.875 = 127: the quantizer's guarantee.
    std::uniform_real_distribution<float> dg(1.0f, 15.875f);
    w.sGrp.resize(static_cast<size_t>(K / G * N));
    for (uint16_t &h : w.sGrp)
      h = numerics::floatToHalfBits(dg(rng));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        float s = numerics::halfBitsToFloat(w.sGrp[(k / G) * N + n]);
        float p = static_cast<float>(w.q[n * K + k]) * s;
        w.w8[n * K + k] = static_cast<int8_t>(std::nearbyint(p));
      }
  }
  if (withPacking) {
    packParallel(false, w.q, N, K, w.packed80);
    packParallel(true, w.q, N, K, w.packed90);
  }
  return w;
}

ActProblem makeActivations(int64_t M, int64_t K, uint64_t seed) {
  ActProblem a;
  a.M = M;
  a.K = K;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dx(-127, 127);
  a.x8.resize(static_cast<size_t>(M * K));
  for (int8_t &v : a.x8)
    v = static_cast<int8_t>(dx(rng));
  a.x8[0] = 127; // never an all-zero row 0
  std::uniform_real_distribution<float> ds(0.5e-2f, 1.5e-2f);
  a.sTok.resize(static_cast<size_t>(M));
  for (float &s : a.sTok)
    s = ds(rng);
  return a;
}

DeviceWeight uploadWeight(const WeightProblem &w) {
  DeviceWeight d;
  auto up = [](DevBuf &b, const void *p, size_t n) {
    b = DevBuf(n);
    b.upload(p, n);
  };
  up(d.packed80, w.packed80.data(), w.packed80.size());
  up(d.packed90, w.packed90.data(), w.packed90.size());
  up(d.w8, w.w8.data(), w.w8.size());
  up(d.sCh, w.sCh.data(), w.sCh.size() * 4);
  up(d.sGrp, w.sGrp.data(), w.sGrp.size() * 2);
  up(d.bias, w.bias.data(), w.bias.size() * 2);
  return d;
}

DeviceAct uploadAct(const ActProblem &a) {
  DeviceAct d;
  d.x8 = DevBuf(a.x8.size());
  d.x8.upload(a.x8.data(), a.x8.size());
  d.sTok = DevBuf(a.sTok.size() * 4);
  d.sTok.upload(a.sTok.data(), a.sTok.size() * 4);
  return d;
}

void referenceAccGpu(const Kernel &refKernel, const DeviceAct &a,
                     const DeviceWeight &w, int64_t M, int64_t N, int64_t K,
                     DevBuf &acc) {
  if (acc.bytes < static_cast<size_t>(M * N * 4))
    acc = DevBuf(static_cast<size_t>(M * N * 4));
  int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K);
  void *args[] = {const_cast<CUdeviceptr *>(&a.x8.p),
                  const_cast<CUdeviceptr *>(&w.w8.p), &acc.p, &m, &n, &k};
  CU_CHECK(cuLaunchKernel(refKernel.fn, static_cast<unsigned>((N + 31) / 32),
                          static_cast<unsigned>((M + 31) / 32), 1, 32, 8, 1, 0,
                          nullptr, args, nullptr));
}

uint16_t epilogueRef(int32_t acc, float sTok, float sCh,
                     const uint16_t *bias) {
  // Compiled with -ffp-contract=off: each operation rounds.
  volatile float t = sTok * sCh;
  volatile float y = static_cast<float>(acc) * t;
  if (bias)
    y = y + numerics::halfBitsToFloat(*bias);
  return numerics::floatToHalfBits(y);
}

int64_t dotRef(const ActProblem &a, const WeightProblem &w, int64_t m,
               int64_t n) {
  int64_t s = 0;
  const int8_t *xr = a.x8.data() + m * a.K;
  const int8_t *wr = w.w8.data() + n * w.K;
  for (int64_t k = 0; k < a.K; ++k)
    s += static_cast<int64_t>(xr[k]) * wr[k];
  return s;
}

CUresult launchGemm(const Kernel &k, const codegen::GemmConfig &c,
                    const codegen::GemmShape &s, const DeviceAct &a,
                    const DeviceWeight &w, bool withBias, DevBuf &y,
                    int64_t M, DevBuf *ws, CUstream stream, bool pdl) {
  codegen::LaunchGeometry g = codegen::launchGeometry(c, s, M);
  {
    CUresult r = cuFuncSetAttribute(
        k.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        static_cast<int>(g.sharedBytes));
    if (r != CUDA_SUCCESS)
      return r;
  }
  bool sm90 = c.arch == "sm_90a";
  CUdeviceptr x = a.x8.p, sTok = a.sTok.p;
  CUdeviceptr wp = sm90 ? w.packed90.p : w.packed80.p;
  CUdeviceptr sCh = w.sCh.p;
  CUdeviceptr sGrp = s.groupSize > 0 ? w.sGrp.p : 0;
  CUdeviceptr bias = withBias ? w.bias.p : 0;
  CUdeviceptr yp = y.p;
  int m = static_cast<int>(M);
  CUdeviceptr wsp = ws ? ws->p : 0;
  void *args[] = {&x, &sTok, &wp, &sCh, &sGrp, &bias, &yp, &m, &wsp, nullptr};
  // sm_90a: the activation tensor map (zeros when the kernel uses cp.async).
  alignas(64) CUtensorMap xMap{};
  if (int64_t rows = codegen::activationMapRows(c)) {
    CUresult r = runtime::encodeActivationMap(cuTensorMapEncodeTiled, xMap, x,
                                              M, s.K, rows);
    if (r != CUDA_SUCCESS)
      return r;
  }
  args[9] = &xMap;
  return launchKernel(k.fn, g, args, stream, pdl);
}

CUresult launchKernel(CUfunction fn, const codegen::LaunchGeometry &g,
                      void **args, CUstream stream, bool pdl) {
  CUlaunchAttribute attr{};
  attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attr.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig cfg{};
  cfg.gridDimX = g.grid[0];
  cfg.gridDimY = g.grid[1];
  cfg.gridDimZ = g.grid[2];
  cfg.blockDimX = g.block[0];
  cfg.blockDimY = g.block[1];
  cfg.blockDimZ = g.block[2];
  cfg.sharedMemBytes = g.sharedBytes;
  cfg.hStream = stream;
  cfg.attrs = &attr;
  cfg.numAttrs = pdl ? 1 : 0;
  return cuLaunchKernelEx(&cfg, fn, args, nullptr);
}

double medianOf(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace qqq::gpu
