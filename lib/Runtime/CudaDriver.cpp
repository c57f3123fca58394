//===- CudaDriver.cpp - the CUDA driver API, loaded at run time -----------===//
#include "qqq/Runtime/CudaDriver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace qqq::runtime {

#define QQQ_STRINGIZE_EXPANDED(x) QQQ_STRINGIZE(x)
#define QQQ_STRINGIZE(x) #x

static CudaDriver loadDriver(std::string &error, bool &ok) {
  CudaDriver driver;
  ok = false;
  // $QQQ_LIBCUDA overrides the library (tests point it at a missing file to
  // exercise the no-driver path on machines that have one).
  const char *override = std::getenv("QQQ_LIBCUDA");
  const char *library = override && *override ? override : "libcuda.so.1";
  void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    error = std::string("no CUDA driver: cannot load ") + library + " (" +
            (why ? why : "unknown reason") +
            "); the qqq runtime needs an NVIDIA GPU and its driver";
    return driver;
  }
#define QQQ_CUDA_DRIVER_FUNCTION(name)                                         \
  driver.name = reinterpret_cast<decltype(driver.name)>(                       \
      dlsym(handle, QQQ_STRINGIZE_EXPANDED(name)));                            \
  if (!driver.name) {                                                          \
    error = std::string("no CUDA driver: ") + library + " lacks " +            \
            QQQ_STRINGIZE_EXPANDED(name) + " (driver too old?)";               \
    return driver;                                                             \
  }
#include "qqq/Runtime/CudaDriverFunctions.def"

  if (CUresult r = driver.cuInit(0); r != CUDA_SUCCESS) {
    error = "CUDA driver present but cuInit failed: " + driver.describe(r) +
            (r == CUDA_ERROR_NO_DEVICE ? " (no GPU visible)" : "");
    return driver;
  }
  int count = 0;
  if (CUresult r = driver.cuDeviceGetCount(&count); r != CUDA_SUCCESS) {
    error = "cuDeviceGetCount failed: " + driver.describe(r);
    return driver;
  }
  if (count == 0) {
    error = "CUDA driver present but no GPU is visible";
    return driver;
  }
  ok = true;
  return driver;
}

const CudaDriver *CudaDriver::get(std::string &error) {
  static std::once_flag once;
  static CudaDriver driver;
  static bool ok = false;
  static std::string loadError;
  std::call_once(once, [] { driver = loadDriver(loadError, ok); });
  if (!ok) {
    error = loadError;
    return nullptr;
  }
  return &driver;
}

std::string CudaDriver::describe(CUresult result) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (cuGetErrorName)
    cuGetErrorName(result, &name);
  if (cuGetErrorString)
    cuGetErrorString(result, &text);
  std::string s = name ? name : ("CUresult " + std::to_string(result));
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

} // namespace qqq::runtime
