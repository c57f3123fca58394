//===- Runtime.h - the qqq GPU runtime (C++) --------------------*- C++ -*-===//
//
// The C++ side of qqq_runtime.h: a device's primary context, JIT-loaded PTX
// modules and the layers of loaded bundles with their tensors on the device.
// Every driver call is checked; failures are llvm::Errors naming the call,
// the CUDA error and what was being done.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_RUNTIME_RUNTIME_H
#define QQQ_RUNTIME_RUNTIME_H

#include "qqq/Runtime/BundleManifest.h"
#include "qqq/Runtime/CudaDriver.h"

#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qqq::runtime {

/// Reads `<dir>/manifest.json` and checks that every file it names exists
/// with the size its dtype and shape imply. Needs no GPU.
llvm::Expected<BundleManifest> readBundle(llvm::StringRef dir);

/// Raised (as its message prefix) when no driver or GPU is present.
inline constexpr const char *kNoDriverPrefix = "no CUDA driver";

class Runtime {
public:
  struct Kernel {
    CUmodule module = nullptr;
    CUfunction function = nullptr;
    std::string entry;
    uint32_t sharedBytes = 0;
  };
  struct Layer {
    LayerEntry entry;
    std::map<std::string, CUdeviceptr> tensors; // by argument name
    std::vector<const Kernel *> bucketKernels;  // parallel to entry.buckets
    // Launch rules by value: the manifest they come from is gone after loading.
    std::vector<KernelEntry> bucketLaunch;
  };

  /// Fails when there is no driver or GPU (message starts kNoDriverPrefix
  /// or says no GPU is visible) or the device does not exist.
  static llvm::Expected<std::unique_ptr<Runtime>> create(int device);
  ~Runtime();
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  const std::string &deviceName() const { return name; }
  /// Compute capability as major * 10 + minor.
  int computeCapability() const { return capability; }

  llvm::Error loadBundle(llvm::StringRef dir);
  /// JIT-loads `ptx` (cuModuleLoadDataEx; the JIT error log is in the
  /// error) and prepares `entry` for `sharedBytes` of dynamic shared memory.
  llvm::Expected<const Kernel *> loadPtx(llvm::StringRef ptx,
                                         llvm::StringRef entry,
                                         uint32_t sharedBytes);
  /// `programmatic`: launch with programmatic stream serialization (the
  /// kernel may start before the previous one in `stream` has finished; it
  /// must wait for it itself, see KernelEntry::programmaticLaunch).
  llvm::Error launch(const Kernel &kernel, const uint32_t grid[3],
                     const uint32_t block[3], uint32_t sharedBytes,
                     void **args, CUstream stream, bool programmatic = false);

  /// Layer launches use programmatic dependent launch where the bundle
  /// allows it (default on, sm_90+): the next layer's GEMM streams its
  /// weights while the activation kernel before it runs. Off: plain
  /// stream order.
  void setProgrammaticLaunch(bool on) { programmaticLaunch = on; }
  bool usesProgrammaticLaunch() const { return programmaticLaunch; }

  const std::vector<Layer> &layers() const { return loadedLayers; }
  int findLayer(llvm::StringRef name) const;
  /// The layer computing `name`'s outputs (itself, or the fused layer listing
  /// it in its parts) and their columns [columnOffset, + columns) in that
  /// layer's output rows; -1 when no layer does.
  int findLayerPart(llvm::StringRef name, int64_t &columnOffset,
                    int64_t &columns) const;
  llvm::Error launchLinear(int layer, int64_t M, CUdeviceptr x,
                           CUdeviceptr sTok, CUdeviceptr y, CUstream stream);
  llvm::Error launchQuantize(int layer, int64_t M, CUdeviceptr x,
                             CUdeviceptr q, CUdeviceptr sTok, CUstream stream);

private:
  Runtime(const CudaDriver &driver) : cu(driver) {}
  llvm::Error check(CUresult result, const char *call,
                    const std::string &context) const;
  llvm::Error makeCurrent() const;
  llvm::Error launchLayer(Layer &layer, int64_t M,
                          const std::map<std::string, CUdeviceptr> &io,
                          CUstream stream);

  const CudaDriver &cu;
  CUdevice device = 0;
  CUcontext context = nullptr;
  std::string name;
  int capability = 0;
  bool programmaticLaunch = true;
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::vector<Layer> loadedLayers;
  std::vector<CUdeviceptr> allocations;
  // The GEMMs' int32 workspace (split-K / stream-K partials and flags), one
  // per stream and kind, grown to the largest need and zeroed once: the
  // kernels of one stream use it one after another (a programmatically
  // launched GEMM touches it only after waiting for the kernel before it),
  // so all layers share it instead of one each (a stream-K workspace is
  // about 17 MB). Two kinds, because they leave different things zero
  // (KernelEntry::workspaceScratch): the sm_80 split-K kernels add partials
  // atomically into zeros and leave all of it zero, as did the sm_90a
  // stream-K kernels of bundles written before the fourteenth session; the
  // current sm_90a stream-K kernels leave only their flags (at the start)
  // zero and use the rest as scratch.
  struct Workspace {
    CUdeviceptr ptr = 0;
    uint64_t bytes = 0;
  };
  /// Key: the stream and whether the kernel's partials are scratch.
  std::map<std::pair<CUstream, bool>, Workspace> workspaces;
};

} // namespace qqq::runtime

#endif // QQQ_RUNTIME_RUNTIME_H
