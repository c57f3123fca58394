//===- CudaDriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// The runtime links without libcuda: the driver (libcuda.so.1) is opened with
// dlopen on first use and the handful of entry points qqq calls are resolved
// by their versioned names (the names cuda.h maps the API to, e.g.
// cuMemAlloc -> cuMemAlloc_v2). On a machine without the driver, or without
// a GPU, every call fails with a message saying so instead of crashing.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_RUNTIME_CUDADRIVER_H
#define QQQ_RUNTIME_CUDADRIVER_H

#include <cuda.h>

#include <string>

namespace qqq::runtime {

struct CudaDriver {
#define QQQ_CUDA_DRIVER_FUNCTION(name) decltype(&::name) name = nullptr;
#include "qqq/Runtime/CudaDriverFunctions.def"

  /// The driver, loaded and cuInit'ed once per process; nullptr when that
  /// failed, with the reason in `error`.
  static const CudaDriver *get(std::string &error);

  /// "CUDA_ERROR_X (description)" for a driver result.
  std::string describe(CUresult result) const;
};

} // namespace qqq::runtime

#endif // QQQ_RUNTIME_CUDADRIVER_H
