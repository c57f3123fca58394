//===- BundleExport.cpp - write a kernel bundle for the GPU runtime -------===//
#include "qqq/Export/BundleExport.h"
#include "qqq/CodeGen/KernelBuilder.h"
#include "qqq/Conversion/QQQToGPU/KernelConfig.h"
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Runtime/BundleManifest.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <map>

using namespace mlir;

namespace qqq {
namespace {

/// The bytes of a constant tensor operand (dense or dense_resource), in the
/// tensor's row-major order.
FailureOr<std::vector<char>> constantBytes(Operation *user, Value v,
                                           StringRef role) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return user->emitOpError() << role << " must be a constant to be exported";
  Attribute value = constant.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    ArrayRef<char> raw = dense.getRawData();
    int64_t n = dense.getNumElements();
    if (!dense.isSplat())
      return std::vector<char>(raw.begin(), raw.end());
    std::vector<char> out;
    out.reserve(raw.size() * n);
    for (int64_t i = 0; i < n; ++i)
      out.insert(out.end(), raw.begin(), raw.end());
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return user->emitOpError() << role << ": dense_resource '"
                                 << resource.getRawHandle().getKey()
                                 << "' has no data";
    ArrayRef<char> data = blob->getData();
    return std::vector<char>(data.begin(), data.end());
  }
  return user->emitOpError() << role << ": unsupported constant attribute";
}

std::string dtypeOf(Type t) {
  if (t.isInteger(8))
    return "i8";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  if (t.isInteger(32))
    return "i32";
  return "";
}

/// A file name piece from a layer name: [A-Za-z0-9._-], others become '_'.
std::string sanitize(StringRef name) {
  std::string s;
  for (char c : name)
    s += (llvm::isAlnum(c) || c == '.' || c == '-' || c == '_') ? c : '_';
  return s.empty() ? std::string("layer") : s;
}

/// The layer names of the w4a8_linear ops reading a quantizer's output.
std::vector<std::string> consumersOf(Value quantized) {
  std::vector<std::string> names;
  for (Operation *user : quantized.getUsers())
    if (auto l = dyn_cast<W4A8LinearOp>(user))
      names.push_back(l.getLayerName().str());
  return names;
}

class Writer {
public:
  Writer(ModuleOp module, std::string tmpDir, const BundleExportOptions &o)
      : module(module), dir(std::move(tmpDir)), options(o) {
    manifest.arch = o.arch;
    compile = o.compile;
    compile.arch = o.arch;
  }

  LogicalResult add(W4A8LinearOp op);
  LogicalResult add(QuantizeActOp op);
  LogicalResult add(RMSNormQuantizeOp op);
  LogicalResult finish();

private:
  FailureOr<std::string> kernel(Operation *op,
                                llvm::Expected<codegen::GeneratedKernel> k);
  LogicalResult tensor(Operation *op, runtime::LayerEntry &layer,
                       StringRef arg, Value v);
  LogicalResult writeFile(Operation *op, StringRef rel, StringRef bytes);
  std::string uniqueLayerName(std::string base);

  ModuleOp module;
  std::string dir;
  const BundleExportOptions &options;
  codegen::CompileOptions compile;
  runtime::BundleManifest manifest;
  std::map<std::string, std::string> kernelIds; // expression -> name
  std::map<std::string, int> layerNames;
};

LogicalResult Writer::writeFile(Operation *op, StringRef rel, StringRef bytes) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, rel);
  if (std::error_code ec =
          llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path)))
    return op->emitError() << "cannot create " << path << ": " << ec.message();
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return op->emitError() << "cannot write " << path << ": " << ec.message();
  os << bytes;
  os.close();
  if (os.has_error())
    return op->emitError() << "cannot write " << path << ": "
                           << os.error().message();
  return success();
}

FailureOr<std::string>
Writer::kernel(Operation *op, llvm::Expected<codegen::GeneratedKernel> k) {
  if (!k)
    return op->emitOpError() << "kernel generation failed: "
                             << llvm::toString(k.takeError());
  if (auto it = kernelIds.find(k->launch.expression); it != kernelIds.end())
    return it->second;
  runtime::KernelEntry entry = k->launch;
  entry.name = entry.family + "_" + std::to_string(manifest.kernels.size());
  entry.ptxFile = "kernels/" + entry.name + ".ptx";
  if (failed(writeFile(op, entry.ptxFile, k->ptx)))
    return failure();
  kernelIds[entry.expression] = entry.name;
  manifest.kernels.push_back(entry);
  return entry.name;
}

LogicalResult Writer::tensor(Operation *op, runtime::LayerEntry &layer,
                             StringRef arg, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  FailureOr<std::vector<char>> bytes = constantBytes(op, v, arg);
  if (failed(bytes))
    return failure();
  if (arg == "gamma" && type.getElementType().isF32()) {
    // The kernel reads f16 gamma: round an f32 model's gamma to nearest even.
    std::vector<char> half(bytes->size() / 2);
    for (size_t i = 0; i < bytes->size() / 4; ++i) {
      float f;
      std::memcpy(&f, bytes->data() + 4 * i, 4);
      llvm::APFloat a(f);
      bool lost;
      a.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
      uint16_t h = static_cast<uint16_t>(a.bitcastToAPInt().getZExtValue());
      std::memcpy(half.data() + 2 * i, &h, 2);
    }
    *bytes = std::move(half);
    type = type.clone(Float16Type::get(type.getContext()));
  }
  runtime::TensorFile t;
  t.dtype = arg == "w_packed" ? "u8" : dtypeOf(type.getElementType());
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  t.file = "tensors/" + sanitize(layer.name) + "." + arg.str() + ".bin";
  if (t.dtype.empty() || !type.hasStaticShape())
    return op->emitOpError() << arg << ": cannot export a " << type;
  if (static_cast<int64_t>(bytes->size()) != t.byteSize())
    return op->emitOpError() << arg << ": constant holds " << bytes->size()
                             << " bytes, " << type << " needs "
                             << t.byteSize();
  if (failed(writeFile(op, t.file, StringRef(bytes->data(), bytes->size()))))
    return failure();
  layer.tensors[arg.str()] = t;
  return success();
}

std::string Writer::uniqueLayerName(std::string base) {
  int &n = layerNames[base];
  return n++ == 0 ? base : base + "#" + std::to_string(n - 1);
}

LogicalResult Writer::add(W4A8LinearOp op) {
  ArrayAttr kernels = op.getKernelsAttr();
  if (!kernels || kernels.empty())
    return op.emitOpError() << "layer '" << op.getLayerName()
                            << "' has no kernels: run qqq-select-kernels first";
  codegen::GemmShape shape{op.getOutFeatures(), op.getInFeatures(),
                           static_cast<int64_t>(op.getGroupSize().value_or(0))};
  runtime::LayerEntry layer;
  layer.name = uniqueLayerName(op.getLayerName().str());
  layer.kind = "w4a8_linear";
  layer.n = shape.N;
  layer.k = shape.K;
  layer.groupSize = shape.groupSize;
  layer.layout = stringifyWeightLayout(op.getLayout()).str();
  if (std::optional<ArrayAttr> parts = op.getParts()) {
    int64_t offset = 0;
    for (auto [name, n] : llvm::zip(*parts, *op.getPartSizes())) {
      layer.parts.push_back(
          {cast<StringAttr>(name).getValue().str(), offset, n});
      offset += n;
    }
  }
  for (auto [i, attr] : llvm::enumerate(kernels)) {
    auto k = cast<KernelConfigAttr>(attr);
    codegen::GemmConfig c = toGemmConfig(k);
    if (c.arch != options.arch)
      return op.emitOpError() << "layer '" << op.getLayerName()
                              << "': kernel for " << c.arch
                              << " in a bundle for " << options.arch;
    std::optional<codegen::KernelFamily> family =
        codegen::gemmFamilyForArch(c.arch);
    std::string wanted = family == codegen::KernelFamily::W4A8GemmSm90
                             ? "sm90_interleaved"
                             : "sm80_interleaved";
    if (layer.layout != wanted)
      return op.emitOpError() << "layer '" << op.getLayerName()
                              << "': weights are in layout " << layer.layout
                              << " but the " << c.arch << " kernels read "
                              << wanted << " (run qqq-pack layout=" << wanted
                              << " first)";
    FailureOr<std::string> id =
        kernel(op, codegen::generateGemmKernel(shape, c, compile));
    if (failed(id))
      return failure();
    layer.buckets.push_back(runtime::Bucket{c.maxM, *id});
  }
  if (failed(tensor(op, layer, "w_packed", op.getWeight())) ||
      failed(tensor(op, layer, "s_ch", op.getChannelScale())) ||
      (op.getGroupScale() &&
       failed(tensor(op, layer, "s_grp", op.getGroupScale()))) ||
      (op.getBias() && failed(tensor(op, layer, "bias", op.getBias()))))
    return failure();
  manifest.layers.push_back(std::move(layer));
  return success();
}

LogicalResult Writer::add(QuantizeActOp op) {
  // The kernel reads f16 rows whatever the model's float type: the runtime
  // caller passes f16 activations.
  auto type = cast<RankedTensorType>(op.getInput().getType());
  if (ShapedType::isDynamic(type.getShape().back()))
    return op.emitOpError() << "the GPU kernel needs a [..., K] input with "
                               "static K, got "
                            << type;
  runtime::LayerEntry layer;
  layer.kind = "quantize_act";
  layer.k = type.getShape().back();
  layer.name = uniqueLayerName("quantize_act");
  layer.consumers = consumersOf(op.getOutput());
  FailureOr<std::string> id = kernel(
      op, codegen::generateActivationKernel(codegen::KernelFamily::QuantizeAct,
                                            layer.k, compile));
  if (failed(id))
    return failure();
  layer.buckets.push_back(runtime::Bucket{0, *id});
  manifest.layers.push_back(std::move(layer));
  return success();
}

LogicalResult Writer::add(RMSNormQuantizeOp op) {
  auto type = cast<RankedTensorType>(op.getInput().getType());
  auto gammaType = cast<RankedTensorType>(op.getGamma().getType());
  if (ShapedType::isDynamic(type.getShape().back()) ||
      !(gammaType.getElementType().isF16() || gammaType.getElementType().isF32()))
    return op.emitOpError() << "the GPU kernel needs a [..., K] input with "
                               "static K and an f16 or f32 gamma, got "
                            << type << " and " << gammaType;
  runtime::LayerEntry layer;
  layer.kind = "rms_norm_quantize";
  layer.k = type.getShape().back();
  layer.epsilon = op.getEpsilon().convertToDouble();
  layer.name = uniqueLayerName("rms_norm_quantize");
  layer.consumers = consumersOf(op.getOutput());
  FailureOr<std::string> id = kernel(
      op, codegen::generateActivationKernel(
              codegen::KernelFamily::RmsNormQuantize, layer.k, compile));
  if (failed(id))
    return failure();
  layer.buckets.push_back(runtime::Bucket{0, *id});
  if (failed(tensor(op, layer, "gamma", op.getGamma())))
    return failure();
  manifest.layers.push_back(std::move(layer));
  return success();
}

LogicalResult Writer::finish() {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", runtime::toJSON(manifest)) << "\n";
  // The manifest must read back: the writer and the runtime share its code.
  llvm::Expected<runtime::BundleManifest> check =
      runtime::parseManifest(text, "manifest.json");
  if (!check)
    return module.emitError() << "internal error: the bundle manifest does not "
                                 "parse back: "
                              << llvm::toString(check.takeError());
  return writeFile(module, "manifest.json", text);
}

} // namespace

LogicalResult exportBundle(ModuleOp module, StringRef dir,
                           const BundleExportOptions &options) {
  if (!codegen::virtualArchFor(options.arch)) {
    return module.emitError() << "--export-bundle: unknown arch '"
                              << options.arch << "' (sm_90a or sm_80)";
  }
  std::string target = dir.str();
  while (target.size() > 1 && target.back() == '/')
    target.pop_back();
  std::string tmp = target + ".tmp";
  if (llvm::sys::fs::exists(tmp))
    if (std::error_code ec = llvm::sys::fs::remove_directories(tmp))
      return module.emitError() << "cannot remove stale " << tmp << ": "
                                << ec.message();
  if (std::error_code ec = llvm::sys::fs::create_directories(tmp))
    return module.emitError() << "cannot create " << tmp << ": "
                              << ec.message();
  auto cleanup = [&] { llvm::sys::fs::remove_directories(tmp); };

  Writer writer(module, tmp, options);
  WalkResult walk = module.walk([&](Operation *op) -> WalkResult {
    LogicalResult r = success();
    if (auto l = dyn_cast<W4A8LinearOp>(op))
      r = writer.add(l);
    else if (auto q = dyn_cast<QuantizeActOp>(op))
      r = writer.add(q);
    else if (auto n = dyn_cast<RMSNormQuantizeOp>(op))
      r = writer.add(n);
    return failed(r) ? WalkResult::interrupt() : WalkResult::advance();
  });
  if (walk.wasInterrupted() || failed(writer.finish())) {
    cleanup();
    return failure();
  }

  // Replace DIR: move an existing one aside, rename, then delete the old.
  std::string old;
  if (llvm::sys::fs::exists(target)) {
    old = target + ".old";
    llvm::sys::fs::remove_directories(old);
    if (std::error_code ec = llvm::sys::fs::rename(target, old)) {
      cleanup();
      return module.emitError() << "cannot move the existing " << target
                                << " aside: " << ec.message();
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, target)) {
    if (!old.empty())
      llvm::sys::fs::rename(old, target);
    cleanup();
    return module.emitError() << "cannot rename " << tmp << " to " << target
                              << ": " << ec.message();
  }
  if (!old.empty())
    llvm::sys::fs::remove_directories(old);
  return success();
}

} // namespace qqq
