//===- Runtime.cpp - the qqq GPU runtime (C++) ----------------------------===//
#include "qqq/Runtime/Runtime.h"
#include "qqq/Runtime/ActivationMap.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <climits>

using namespace llvm;

namespace qqq::runtime {

static std::string joinPath(StringRef dir, StringRef file) {
  SmallString<256> path(dir);
  sys::path::append(path, file);
  return std::string(path);
}

static Expected<std::unique_ptr<MemoryBuffer>> readFile(const std::string &path,
                                                        StringRef what) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/true);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read %s %s: %s",
                             what.str().c_str(), path.c_str(),
                             buffer.getError().message().c_str());
  return std::move(*buffer);
}

Expected<BundleManifest> readBundle(StringRef dir) {
  std::string manifestPath = joinPath(dir, "manifest.json");
  Expected<std::unique_ptr<MemoryBuffer>> text =
      readFile(manifestPath, "bundle manifest");
  if (!text)
    return text.takeError();
  Expected<BundleManifest> manifest =
      parseManifest((*text)->getBuffer(), manifestPath);
  if (!manifest)
    return manifest.takeError();
  for (const KernelEntry &k : manifest->kernels)
    if (!sys::fs::is_regular_file(joinPath(dir, k.ptxFile)))
      return createStringError(inconvertibleErrorCode(),
                               "%s: kernel '%s': PTX file %s is missing",
                               manifestPath.c_str(), k.name.c_str(),
                               joinPath(dir, k.ptxFile).c_str());
  for (const LayerEntry &l : manifest->layers)
    for (const auto &[role, t] : l.tensors) {
      std::string path = joinPath(dir, t.file);
      uint64_t size = 0;
      if (std::error_code ec = sys::fs::file_size(path, size))
        return createStringError(ec, "%s: layer '%s' tensor '%s': %s: %s",
                                 manifestPath.c_str(), l.name.c_str(),
                                 role.c_str(), path.c_str(),
                                 ec.message().c_str());
      if (static_cast<int64_t>(size) != t.byteSize())
        return createStringError(
            inconvertibleErrorCode(),
            "%s: layer '%s' tensor '%s': %s has %llu bytes, its dtype and "
            "shape need %lld",
            manifestPath.c_str(), l.name.c_str(), role.c_str(), path.c_str(),
            static_cast<unsigned long long>(size),
            static_cast<long long>(t.byteSize()));
    }
  return manifest;
}

Error Runtime::check(CUresult result, const char *call,
                     const std::string &context) const {
  if (result == CUDA_SUCCESS)
    return Error::success();
  return createStringError(inconvertibleErrorCode(), "%s failed%s%s: %s", call,
                           context.empty() ? "" : " ", context.c_str(),
                           cu.describe(result).c_str());
}

Expected<std::unique_ptr<Runtime>> Runtime::create(int device) {
  std::string why;
  const CudaDriver *driver = CudaDriver::get(why);
  if (!driver)
    return createStringError(inconvertibleErrorCode(), "%s", why.c_str());
  std::unique_ptr<Runtime> rt(new Runtime(*driver));
  int count = 0;
  if (Error e = rt->check(driver->cuDeviceGetCount(&count), "cuDeviceGetCount",
                          ""))
    return std::move(e);
  if (device < 0 || device >= count)
    return createStringError(inconvertibleErrorCode(),
                             "GPU %d does not exist (%d visible)", device,
                             count);
  std::string ctx = "for GPU " + std::to_string(device);
  if (Error e = rt->check(driver->cuDeviceGet(&rt->device, device),
                          "cuDeviceGet", ctx))
    return std::move(e);
  if (Error e = rt->check(
          driver->cuDevicePrimaryCtxRetain(&rt->context, rt->device),
          "cuDevicePrimaryCtxRetain", ctx))
    return std::move(e);
  char name[256] = {0};
  if (Error e = rt->check(driver->cuDeviceGetName(name, sizeof(name) - 1,
                                                  rt->device),
                          "cuDeviceGetName", ctx))
    return std::move(e);
  rt->name = name;
  int major = 0, minor = 0;
  if (Error e = rt->check(driver->cuDeviceGetAttribute(
                              &major,
                              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                              rt->device),
                          "cuDeviceGetAttribute", ctx))
    return std::move(e);
  if (Error e = rt->check(driver->cuDeviceGetAttribute(
                              &minor,
                              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                              rt->device),
                          "cuDeviceGetAttribute", ctx))
    return std::move(e);
  rt->capability = major * 10 + minor;
  return std::move(rt);
}

Runtime::~Runtime() {
  if (!context)
    return;
  // Teardown errors cannot be reported; the context is released regardless.
  if (cu.cuCtxSetCurrent(context) == CUDA_SUCCESS) {
    for (CUdeviceptr p : allocations)
      cu.cuMemFree(p);
    for (auto &[stream, ws] : workspaces)
      cu.cuMemFree(ws.ptr);
    for (std::unique_ptr<Kernel> &k : kernels)
      cu.cuModuleUnload(k->module);
  }
  cu.cuDevicePrimaryCtxRelease(device);
}

Error Runtime::makeCurrent() const {
  return check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent", "");
}

Expected<const Runtime::Kernel *> Runtime::loadPtx(StringRef ptx,
                                                   StringRef entry,
                                                   uint32_t sharedBytes) {
  if (Error e = makeCurrent())
    return std::move(e);
  std::string source = ptx.str(); // cuModuleLoadDataEx needs a NUL
  char errorLog[16384] = {0};
  char infoLog[4096] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_INFO_LOG_BUFFER,
                            CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {errorLog,
                    reinterpret_cast<void *>(uintptr_t(sizeof(errorLog) - 1)),
                    infoLog,
                    reinterpret_cast<void *>(uintptr_t(sizeof(infoLog) - 1))};
  auto kernel = std::make_unique<Kernel>();
  kernel->entry = entry.str();
  kernel->sharedBytes = sharedBytes;
  CUresult r = cu.cuModuleLoadDataEx(&kernel->module, source.c_str(), 4,
                                     options, values);
  if (r != CUDA_SUCCESS)
    return createStringError(inconvertibleErrorCode(),
                             "cuModuleLoadDataEx failed for the PTX of %s: %s\n"
                             "JIT log:\n%s",
                             kernel->entry.c_str(), cu.describe(r).c_str(),
                             errorLog);
  std::string ctx = "for " + kernel->entry;
  if (Error e = check(cu.cuModuleGetFunction(&kernel->function, kernel->module,
                                             kernel->entry.c_str()),
                      "cuModuleGetFunction", ctx)) {
    cu.cuModuleUnload(kernel->module);
    return std::move(e);
  }
  // Above 48 KiB the kernel must opt in to its dynamic shared memory.
  if (Error e = check(cu.cuFuncSetAttribute(
                          kernel->function,
                          CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                          static_cast<int>(sharedBytes)),
                      "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)",
                      ctx + " (" + std::to_string(sharedBytes) + " bytes)")) {
    cu.cuModuleUnload(kernel->module);
    return std::move(e);
  }
  kernels.push_back(std::move(kernel));
  return kernels.back().get();
}

Error Runtime::launch(const Kernel &kernel, const uint32_t grid[3],
                      const uint32_t block[3], uint32_t sharedBytes,
                      void **args, CUstream stream, bool programmatic) {
  if (Error e = makeCurrent())
    return e;
  if (sharedBytes > kernel.sharedBytes)
    return createStringError(
        inconvertibleErrorCode(),
        "launch of %s asks for %u bytes of dynamic shared memory, it was "
        "loaded for %u",
        kernel.entry.c_str(), sharedBytes, kernel.sharedBytes);
  std::string ctx = "for " + kernel.entry + " grid (" +
                    std::to_string(grid[0]) + ", " + std::to_string(grid[1]) +
                    ", " + std::to_string(grid[2]) + ") block (" +
                    std::to_string(block[0]) + ", " +
                    std::to_string(block[1]) + ", " +
                    std::to_string(block[2]) + ")";
  // One launch call: with the programmatic serialization attribute, or
  // with none (plain stream order, as cuLaunchKernel).
  CUlaunchAttribute attr{};
  attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attr.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config{};
  config.gridDimX = grid[0];
  config.gridDimY = grid[1];
  config.gridDimZ = grid[2];
  config.blockDimX = block[0];
  config.blockDimY = block[1];
  config.blockDimZ = block[2];
  config.sharedMemBytes = sharedBytes;
  config.hStream = stream;
  config.attrs = &attr;
  config.numAttrs = programmatic ? 1 : 0;
  return check(cu.cuLaunchKernelEx(&config, kernel.function, args, nullptr),
               "cuLaunchKernelEx", ctx + (programmatic ? " (programmatic)" : ""));
}

Error Runtime::loadBundle(StringRef dir) {
  Expected<BundleManifest> manifest = readBundle(dir);
  if (!manifest)
    return manifest.takeError();
  if (Error e = makeCurrent())
    return e;
  std::map<std::string, const Kernel *> byName;
  for (const KernelEntry &k : manifest->kernels) {
    Expected<std::unique_ptr<MemoryBuffer>> ptx =
        readFile(joinPath(dir, k.ptxFile), "PTX");
    if (!ptx)
      return ptx.takeError();
    Expected<const Kernel *> kernel = loadPtx(
        (*ptx)->getBuffer(), k.entry, static_cast<uint32_t>(k.sharedBytes));
    if (!kernel)
      return kernel.takeError();
    byName[k.name] = *kernel;
  }
  for (const LayerEntry &l : manifest->layers) {
    Layer layer;
    layer.entry = l;
    for (const Bucket &b : l.buckets) {
      layer.bucketKernels.push_back(byName.at(b.kernel));
      layer.bucketLaunch.push_back(*manifest->findKernel(b.kernel));
    }
    for (const auto &[role, t] : l.tensors) {
      std::string path = joinPath(dir, t.file);
      Expected<std::unique_ptr<MemoryBuffer>> data = readFile(path, "tensor");
      if (!data)
        return data.takeError();
      size_t bytes = (*data)->getBufferSize();
      CUdeviceptr ptr = 0;
      std::string ctx = "for layer " + l.name + " tensor " + role + " (" +
                        std::to_string(bytes) + " bytes)";
      if (bytes > 0) {
        if (Error e = check(cu.cuMemAlloc(&ptr, bytes), "cuMemAlloc", ctx))
          return e;
        allocations.push_back(ptr);
        if (Error e = check(cu.cuMemcpyHtoD(ptr, (*data)->getBufferStart(),
                                            bytes),
                            "cuMemcpyHtoD", ctx))
          return e;
      }
      layer.tensors[role] = ptr;
    }
    loadedLayers.push_back(std::move(layer));
  }
  return Error::success();
}

int Runtime::findLayer(StringRef layerName) const {
  for (size_t i = 0; i < loadedLayers.size(); ++i)
    if (loadedLayers[i].entry.name == layerName)
      return static_cast<int>(i);
  return -1;
}

int Runtime::findLayerPart(StringRef name, int64_t &columnOffset,
                           int64_t &columns) const {
  for (size_t i = 0; i < loadedLayers.size(); ++i) {
    LayerPart part;
    if (loadedLayers[i].entry.computes(name, part)) {
      columnOffset = part.offset;
      columns = part.n;
      return static_cast<int>(i);
    }
  }
  return -1;
}

Error Runtime::launchLayer(Layer &layer, int64_t M,
                           const std::map<std::string, CUdeviceptr> &io,
                           CUstream stream) {
  if (M < 0 || M > INT_MAX)
    return createStringError(inconvertibleErrorCode(),
                             "layer %s: M = %lld is out of range",
                             layer.entry.name.c_str(),
                             static_cast<long long>(M));
  if (M == 0)
    return Error::success(); // nothing to compute
  size_t bucket = 0;
  while (bucket < layer.entry.buckets.size() &&
         !(layer.entry.buckets[bucket].maxM == 0 ||
           M <= layer.entry.buckets[bucket].maxM))
    ++bucket;
  if (bucket == layer.entry.buckets.size())
    return createStringError(
        inconvertibleErrorCode(),
        "layer %s: no kernel serves M = %lld (largest bucket %lld)",
        layer.entry.name.c_str(), static_cast<long long>(M),
        static_cast<long long>(layer.entry.buckets.back().maxM));
  const Kernel &kernel = *layer.bucketKernels[bucket];
  const KernelEntry &launchRule = layer.bucketLaunch[bucket];

  uint64_t workspaceBytes =
      static_cast<uint64_t>(launchRule.workspaceBytes.evaluate(M));
  // Only GEMMs with split-K or stream-K partials use the stream's workspace.
  CUdeviceptr workspacePtr = 0;
  if (workspaceBytes > 0) {
    bool scratchPartials = launchRule.workspaceScratch;
    Workspace &workspace = workspaces[{stream, scratchPartials}];
    if (workspaceBytes > workspace.bytes) {
      // The kernels leave what they need zero after each launch (Runtime.h):
      // it is zeroed once, here, when it is (re)allocated. The old one may
      // still be in use by this stream's earlier launches.
      std::string ctx = "for the GEMM workspace of " + layer.entry.name + " (" +
                        std::to_string(workspaceBytes) + " bytes)";
      if (workspace.ptr) {
        if (Error e = check(cu.cuStreamSynchronize(stream),
                            "cuStreamSynchronize", ctx))
          return e;
        if (Error e = check(cu.cuMemFree(workspace.ptr), "cuMemFree", ctx))
          return e;
        workspace = Workspace();
      }
      if (Error e = check(cu.cuMemAlloc(&workspace.ptr, workspaceBytes),
                          "cuMemAlloc", ctx))
        return e;
      workspace.bytes = workspaceBytes;
      if (Error e = check(
              cu.cuMemsetD8Async(workspace.ptr, 0, workspaceBytes, stream),
              "cuMemsetD8Async", ctx))
        return e;
    }
    workspacePtr = workspace.ptr;
  }

  // Argument storage with stable addresses: cuLaunchKernelEx reads each
  // parameter through a pointer.
  std::vector<uint64_t> pointers(launchRule.args.size(), 0);
  std::vector<int32_t> ints(launchRule.args.size(), 0);
  std::vector<float> floats(launchRule.args.size(), 0.f);
  std::vector<void *> args(launchRule.args.size(), nullptr);
  alignas(64) CUtensorMap xMap{};
  for (size_t i = 0; i < launchRule.args.size(); ++i) {
    const std::string &arg = launchRule.args[i];
    if (arg == "M") {
      ints[i] = static_cast<int32_t>(M);
      args[i] = &ints[i];
    } else if (arg == "epsilon") {
      floats[i] = static_cast<float>(layer.entry.epsilon);
      args[i] = &floats[i];
    } else if (auto it = io.find(arg); it != io.end()) {
      pointers[i] = it->second;
      args[i] = &pointers[i];
    } else if (auto t = layer.tensors.find(arg); t != layer.tensors.end()) {
      pointers[i] = t->second;
      args[i] = &pointers[i];
    } else if (arg == "workspace") {
      pointers[i] = workspacePtr;
      args[i] = &pointers[i];
    } else if (arg == "x_map" && io.count("x")) {
      // The activations as a TMA tensor map (zeros when the kernel reads
      // none).
      if (launchRule.xMapRows > 0)
        if (Error e = check(
                encodeActivationMap(cu.cuTensorMapEncodeTiled, xMap, io.at("x"),
                                    M, layer.entry.k, launchRule.xMapRows),
                "cuTensorMapEncodeTiled", "for layer " + layer.entry.name))
          return e;
      args[i] = &xMap;
    } else if (arg == "s_grp" || arg == "bias") {
      args[i] = &pointers[i]; // optional operand absent: nullptr
    } else {
      return createStringError(inconvertibleErrorCode(),
                               "layer %s: kernel %s argument '%s' has no value",
                               layer.entry.name.c_str(), kernel.entry.c_str(),
                               arg.c_str());
    }
  }
  uint32_t grid[3], block[3];
  for (int d = 0; d < 3; ++d) {
    int64_t g = launchRule.grid[d].evaluate(M);
    if (g <= 0 || g > INT_MAX)
      return createStringError(inconvertibleErrorCode(),
                               "layer %s: grid dimension %d = %lld for M = %lld",
                               layer.entry.name.c_str(), d,
                               static_cast<long long>(g),
                               static_cast<long long>(M));
    grid[d] = static_cast<uint32_t>(g);
    block[d] = static_cast<uint32_t>(launchRule.block[d]);
  }
  // Programmatic dependent launch needs sm_90 (the kernels compiled for it
  // wait for the previous grid themselves).
  bool programmatic =
      programmaticLaunch && launchRule.programmaticLaunch && capability >= 90;
  return launch(kernel, grid, block,
                static_cast<uint32_t>(launchRule.sharedBytes), args.data(),
                stream, programmatic);
}

static Error badLayer(int layer, size_t count) {
  return createStringError(inconvertibleErrorCode(),
                           "layer index %d out of range (%zu layers loaded)",
                           layer, count);
}

Error Runtime::launchLinear(int layer, int64_t M, CUdeviceptr x,
                            CUdeviceptr sTok, CUdeviceptr y, CUstream stream) {
  if (layer < 0 || static_cast<size_t>(layer) >= loadedLayers.size())
    return badLayer(layer, loadedLayers.size());
  Layer &l = loadedLayers[layer];
  if (l.entry.kind != "w4a8_linear")
    return createStringError(inconvertibleErrorCode(),
                             "layer %s is a %s, not a w4a8_linear",
                             l.entry.name.c_str(), l.entry.kind.c_str());
  // The GEMMs move activation and output rows in 16-byte chunks; a
  // misaligned pointer would fault on the GPU instead of failing here.
  if (x % 16 != 0 || y % 16 != 0)
    return createStringError(
        inconvertibleErrorCode(),
        "layer %s: x and y must be 16-byte aligned (x = 0x%llx, y = 0x%llx)",
        l.entry.name.c_str(), static_cast<unsigned long long>(x),
        static_cast<unsigned long long>(y));
  return launchLayer(l, M, {{"x", x}, {"s_tok", sTok}, {"y", y}}, stream);
}

Error Runtime::launchQuantize(int layer, int64_t M, CUdeviceptr x,
                              CUdeviceptr q, CUdeviceptr sTok,
                              CUstream stream) {
  if (layer < 0 || static_cast<size_t>(layer) >= loadedLayers.size())
    return badLayer(layer, loadedLayers.size());
  Layer &l = loadedLayers[layer];
  if (l.entry.kind != "quantize_act" && l.entry.kind != "rms_norm_quantize")
    return createStringError(inconvertibleErrorCode(),
                             "layer %s is a %s, not an activation quantizer",
                             l.entry.name.c_str(), l.entry.kind.c_str());
  return launchLayer(l, M, {{"x", x}, {"q", q}, {"s_tok", sTok}}, stream);
}

} // namespace qqq::runtime
