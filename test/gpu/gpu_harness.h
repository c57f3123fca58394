//===- gpu_harness.h - NVRTC + driver API harness for the qqq kernels -----===//
//
// Shared by the GPU correctness tests (test/gpu), the benchmark (bench/gpu)
// and qqq-tune: instantiates the kernel templates through the catalog
// (include/qqq/CodeGen/KernelCatalog.h) with NVRTC to a cubin, loads it with
// the driver API, generates random W4A8 problems, packs the weights into the
// kernel layouts (lib/Numerics/KernelLayouts.cpp) and computes the reference.
// Built on the GPU machine by test/gpu/run.sh (nvcc as host compiler).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_TEST_GPU_HARNESS_H
#define QQQ_TEST_GPU_HARNESS_H

#include "qqq/CodeGen/KernelCatalog.h"

#include <cuda.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::gpu {

/// Aborts with the driver's message (the harness is a test program).
void cuCheck(CUresult r, const char *what, const char *file, int line);
#define CU_CHECK(x) ::qqq::gpu::cuCheck((x), #x, __FILE__, __LINE__)

struct Device {
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  std::string name;
  int sms = 0;
  int l2Bytes = 0;
  int ccMajor = 0, ccMinor = 0;
};
/// False (and a reason) when there is no usable GPU.
bool initDevice(Device &d, std::string &why);

struct DevBuf {
  CUdeviceptr p = 0;
  size_t bytes = 0;
  DevBuf() = default;
  explicit DevBuf(size_t n);
  DevBuf(const DevBuf &) = delete;
  DevBuf &operator=(const DevBuf &) = delete;
  DevBuf(DevBuf &&o) noexcept;
  DevBuf &operator=(DevBuf &&o) noexcept;
  ~DevBuf();
  void upload(const void *h, size_t n);
  void download(void *h, size_t n) const;
};

/// One compiled kernel (module + function).
struct Kernel {
  std::string expr;
  std::string arch;
  CUmodule module = nullptr;
  CUfunction fn = nullptr;
  std::vector<char> cubin;
  std::string log;   // NVRTC log on failure
  double compileMs = 0;
  int regs = 0, localBytes = 0;
};

/// A kernel to build: template file + name expression + target arch.
struct KernelRequest {
  std::string file;
  std::string expr;
  std::string arch;
};

/// NVRTC-compiles all requests on `threads` threads (cubins; include path
/// repoRoot/kernels-templates and repoRoot/test/gpu), then loads the modules
/// on the calling thread. Failed compiles have fn == nullptr and a log.
std::vector<Kernel> buildKernels(const std::vector<KernelRequest> &reqs,
                                 const std::string &repoRoot, int threads);

/// A random W4A8 weight with its scales, packed for both kernel layouts.
struct WeightProblem {
  int64_t N = 0, K = 0, G = 0;
  std::vector<int8_t> q;          // N x K, int4 values
  std::vector<int8_t> w8;         // N x K, the effective int8 weight
  std::vector<float> sCh;         // N
  std::vector<uint16_t> sGrp;     // K/G x N f16 bits
  std::vector<uint16_t> bias;     // N f16 bits
  std::vector<uint8_t> packed80, packed90;
};
WeightProblem makeWeight(int64_t N, int64_t K, int64_t G, uint64_t seed,
                         bool withPacking = true);

struct ActProblem {
  int64_t M = 0, K = 0;
  std::vector<int8_t> x8; // M x K, never all zero
  std::vector<float> sTok;
};
ActProblem makeActivations(int64_t M, int64_t K, uint64_t seed);

/// Device copies of one weight (both layouts) and of activations.
struct DeviceWeight {
  DevBuf packed80, packed90, w8, sCh, sGrp, bias;
};
DeviceWeight uploadWeight(const WeightProblem &w);
struct DeviceAct {
  DevBuf x8, sTok;
};
DeviceAct uploadAct(const ActProblem &a);

/// acc = x8 * w8^T (int32) on the GPU with an independent tiled kernel.
void referenceAccGpu(const Kernel &refKernel, const DeviceAct &a,
                     const DeviceWeight &w, int64_t M, int64_t N, int64_t K,
                     DevBuf &acc);
/// The reference-kernel request (test/gpu/reference_gemm.cuh).
KernelRequest referenceKernelRequest();

/// The epilogue on the CPU (f32, no FMA): f16 bits.
uint16_t epilogueRef(int32_t acc, float sTok, float sCh, const uint16_t *bias);
/// CPU int64 dot product of row m of x8 with row n of w8.
int64_t dotRef(const ActProblem &a, const WeightProblem &w, int64_t m,
               int64_t n);

/// cuLaunchKernelEx of `fn` with `geometry`'s grid, block and dynamic shared
/// memory; `pdl`: with programmatic stream serialization (the kernel must
/// wait for its predecessor itself: griddepcontrol.wait).
CUresult launchKernel(CUfunction fn, const codegen::LaunchGeometry &geometry,
                      void **args, CUstream stream, bool pdl);

/// Launches a GEMM kernel of the catalog. `ws` must hold workspaceBytes for
/// this M (zeroed once). `pdl`: programmatic dependent launch (sm90 only:
/// the kernel may start before the previous one in the stream ends and
/// waits for it with griddepcontrol.wait). Returns the driver's result (no
/// abort).
CUresult launchGemm(const Kernel &k, const codegen::GemmConfig &c,
                    const codegen::GemmShape &s, const DeviceAct &a,
                    const DeviceWeight &w, bool withBias, DevBuf &y,
                    int64_t M, DevBuf *ws, CUstream stream = nullptr,
                    bool pdl = false);

double medianOf(std::vector<double> v);

} // namespace qqq::gpu

#endif // QQQ_TEST_GPU_HARNESS_H
