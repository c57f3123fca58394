//===- CApi.cpp - C API of the qqq GPU runtime ----------------------------===//
#include "qqq/Runtime/ActivationMap.h"
#include "qqq/Runtime/Runtime.h"
#include "qqq/Runtime/qqq_runtime.h"

#include <cstdio>
#include <cstring>

#include <memory>
#include <string>
#include <vector>

using namespace qqq::runtime;

struct qqqKernel {
  const Runtime::Kernel *impl;
};
struct qqqRuntime {
  std::unique_ptr<Runtime> impl;
  std::vector<std::unique_ptr<qqqKernel>> kernels; // handles given out
};

static thread_local std::string lastError;

static qqqStatus fail(qqqStatus status, std::string message) {
  lastError = std::move(message);
  return status;
}
/// Driver failures read "cuXxx failed ..." (Runtime::check); anything else a
/// launch reports is a bad request (wrong layer kind, M out of range, ...).
static qqqStatus fromLaunchError(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  bool cuda = message.rfind("cu", 0) == 0 &&
              message.find(" failed") != std::string::npos;
  return fail(cuda ? QQQ_ERROR_CUDA : QQQ_ERROR_INVALID, message);
}

extern "C" {

const char *qqqLastError(void) { return lastError.c_str(); }

qqqStatus qqqRuntimeCreate(int device, qqqRuntime **out) {
  if (!out)
    return fail(QQQ_ERROR_INVALID, "qqqRuntimeCreate: out is NULL");
  *out = nullptr;
  llvm::Expected<std::unique_ptr<Runtime>> rt = Runtime::create(device);
  if (!rt) {
    std::string message = llvm::toString(rt.takeError());
    bool noDevice = message.rfind(kNoDriverPrefix, 0) == 0 ||
                    message.find("no GPU") != std::string::npos ||
                    message.find("does not exist") != std::string::npos;
    return fail(noDevice ? QQQ_ERROR_NO_DEVICE : QQQ_ERROR_CUDA, message);
  }
  *out = new qqqRuntime{std::move(*rt), {}};
  return QQQ_SUCCESS;
}

void qqqRuntimeDestroy(qqqRuntime *rt) { delete rt; }

const char *qqqDeviceName(const qqqRuntime *rt) {
  return rt ? rt->impl->deviceName().c_str() : "";
}

qqqStatus qqqSetProgrammaticLaunch(qqqRuntime *rt, int on) {
  if (!rt)
    return fail(QQQ_ERROR_INVALID, "qqqSetProgrammaticLaunch: runtime is NULL");
  rt->impl->setProgrammaticLaunch(on != 0);
  return QQQ_SUCCESS;
}

qqqStatus qqqLoadBundle(qqqRuntime *rt, const char *directory) {
  if (!rt || !directory)
    return fail(QQQ_ERROR_INVALID, "qqqLoadBundle: NULL argument");
  if (llvm::Error e = rt->impl->loadBundle(directory)) {
    std::string message = llvm::toString(std::move(e));
    bool cuda = message.find(" failed") != std::string::npos &&
                message.rfind("cu", 0) == 0;
    return fail(cuda ? QQQ_ERROR_CUDA : QQQ_ERROR_BUNDLE, message);
  }
  return QQQ_SUCCESS;
}

int qqqLayerCount(const qqqRuntime *rt) {
  return rt ? static_cast<int>(rt->impl->layers().size()) : 0;
}

const char *qqqLayerName(const qqqRuntime *rt, int layer) {
  if (!rt || layer < 0 || layer >= qqqLayerCount(rt))
    return nullptr;
  return rt->impl->layers()[layer].entry.name.c_str();
}

int qqqFindLayer(const qqqRuntime *rt, const char *name) {
  return rt && name ? rt->impl->findLayer(name) : -1;
}

int qqqFindLayerPart(const qqqRuntime *rt, const char *name,
                     int64_t *column_offset, int64_t *columns) {
  if (!rt || !name)
    return -1;
  int64_t offset = 0, n = 0;
  int layer = rt->impl->findLayerPart(name, offset, n);
  if (layer >= 0 && column_offset)
    *column_offset = offset;
  if (layer >= 0 && columns)
    *columns = n;
  return layer;
}

qqqStatus qqqLaunchLinear(qqqRuntime *rt, int layer, int64_t M, qqqDevicePtr x,
                          qqqDevicePtr s_tok, qqqDevicePtr y, void *stream) {
  if (!rt)
    return fail(QQQ_ERROR_INVALID, "qqqLaunchLinear: runtime is NULL");
  if (layer < 0 || layer >= qqqLayerCount(rt) || M < 0)
    return fail(QQQ_ERROR_INVALID,
                "qqqLaunchLinear: layer " + std::to_string(layer) +
                    " out of range (" + std::to_string(qqqLayerCount(rt)) +
                    " layers) or negative M");
  if (llvm::Error e = rt->impl->launchLinear(layer, M, x, s_tok, y,
                                             static_cast<CUstream>(stream)))
    return fromLaunchError(std::move(e));
  return QQQ_SUCCESS;
}

qqqStatus qqqLaunchQuantize(qqqRuntime *rt, int layer, int64_t M,
                            qqqDevicePtr x, qqqDevicePtr q, qqqDevicePtr s_tok,
                            void *stream) {
  if (!rt)
    return fail(QQQ_ERROR_INVALID, "qqqLaunchQuantize: runtime is NULL");
  if (layer < 0 || layer >= qqqLayerCount(rt) || M < 0)
    return fail(QQQ_ERROR_INVALID,
                "qqqLaunchQuantize: layer " + std::to_string(layer) +
                    " out of range (" + std::to_string(qqqLayerCount(rt)) +
                    " layers) or negative M");
  if (llvm::Error e = rt->impl->launchQuantize(layer, M, x, q, s_tok,
                                               static_cast<CUstream>(stream)))
    return fromLaunchError(std::move(e));
  return QQQ_SUCCESS;
}

qqqStatus qqqLoadPtx(qqqRuntime *rt, const char *ptx, const char *entry,
                     uint32_t shared_bytes, qqqKernel **out) {
  if (!rt || !ptx || !entry || !out)
    return fail(QQQ_ERROR_INVALID, "qqqLoadPtx: NULL argument");
  llvm::Expected<const Runtime::Kernel *> kernel =
      rt->impl->loadPtx(ptx, entry, shared_bytes);
  if (!kernel)
    return fromLaunchError(kernel.takeError());
  rt->kernels.push_back(std::make_unique<qqqKernel>(qqqKernel{*kernel}));
  *out = rt->kernels.back().get();
  return QQQ_SUCCESS;
}

qqqStatus qqqLaunchKernel(qqqRuntime *rt, qqqKernel *kernel,
                          const uint32_t grid[3], const uint32_t block[3],
                          uint32_t shared_bytes, void **args, void *stream) {
  if (!rt || !kernel || !grid || !block)
    return fail(QQQ_ERROR_INVALID, "qqqLaunchKernel: NULL argument");
  if (llvm::Error e = rt->impl->launch(*kernel->impl, grid, block, shared_bytes,
                                       args, static_cast<CUstream>(stream)))
    return fromLaunchError(std::move(e));
  return QQQ_SUCCESS;
}

} // extern "C"

qqqStatus qqqEncodeActivationMap(qqqDevicePtr x, int64_t M, int64_t K,
                                 int64_t rows, uint64_t map[16]) {
  const std::string sizes = "(M = " + std::to_string(M) +
                            ", K = " + std::to_string(K) +
                            ", rows = " + std::to_string(rows) + ")";
  if (!map || M < 1 || K < 128 || K % 16 != 0 || rows < 1 || rows > 256 ||
      x % 16) {
    lastError = "activation map: need a map, M >= 1, K >= 128 with K % 16 "
                "== 0, rows in 1..256 and x 16-byte aligned " +
                sizes;
    return QQQ_ERROR_INVALID;
  }
  std::string error;
  const CudaDriver *cu = CudaDriver::get(error);
  if (!cu) {
    lastError = error;
    return QQQ_ERROR_NO_DEVICE;
  }
  alignas(64) CUtensorMap encoded{};
  CUresult r = encodeActivationMap(cu->cuTensorMapEncodeTiled, encoded,
                                   static_cast<CUdeviceptr>(x), M, K, rows);
  if (r != CUDA_SUCCESS) {
    lastError = "cuTensorMapEncodeTiled for an activation map " + sizes + ": " +
                cu->describe(r);
    return QQQ_ERROR_CUDA;
  }
  static_assert(sizeof(encoded) == 16 * sizeof(uint64_t), "CUtensorMap");
  std::memcpy(map, &encoded, sizeof(encoded));
  return QQQ_SUCCESS;
}

void _mlir_ciface_qqq_encode_activation_map(qqqMemRef2DI8 *x, int64_t rows,
                                            qqqMemRef1DI64 *map) {
  uint64_t *out = map->aligned + map->offset;
  std::memset(out, 0, 16 * sizeof(uint64_t));
  qqqStatus s = qqqEncodeActivationMap(
      reinterpret_cast<qqqDevicePtr>(x->aligned + x->offset), x->sizes[0],
      x->sizes[1], rows, out);
  if (s != QQQ_SUCCESS)
    std::fprintf(stderr, "qqq_encode_activation_map: %s\n", lastError.c_str());
}
