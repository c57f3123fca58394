//===- LowerToGPU.cpp - qqq quantized ops -> gpu.launch_func on PTX -------===//
//
// Each quantized op becomes the host code that launches its generated
// kernels: operands bridged to memrefs, outputs allocated on the device, the
// kernel of the token count's M bucket chosen in IR, the grid computed from
// M with the catalog's launch rules. The kernels' PTX is generated here with
// NVRTC (codegen::generate*Kernel, cached) and held in gpu.binary ops.
//
//===----------------------------------------------------------------------===//
#include "qqq/Conversion/QQQToGPU/KernelConfig.h"
#include "qqq/CodeGen/KernelBuilder.h"
#include "qqq/Conversion/Passes.h"
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/TypeSwitch.h"

#include <map>

namespace qqq {
#define GEN_PASS_DEF_QQQLOWERTOGPUPASS
#include "qqq/Conversion/Passes.h.inc"
} // namespace qqq

using namespace mlir;

namespace qqq {
namespace {

/// A generated kernel as placed in the module.
struct PlacedKernel {
  SymbolRefAttr symbol; // @binary::@entry
  runtime::KernelEntry launch;
};

class Lowering {
public:
  Lowering(ModuleOp module, codegen::CompileOptions options)
      : module(module), symbols(module), options(std::move(options)) {}

  LogicalResult lower(W4A8LinearOp op);
  LogicalResult lower(QuantizeActOp op);
  LogicalResult lower(RMSNormQuantizeOp op);

private:
  FailureOr<PlacedKernel> place(Operation *op,
                                llvm::Expected<codegen::GeneratedKernel> kernel,
                                StringRef arch);
  Value constIndex(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value evaluate(OpBuilder &b, Location loc, const runtime::MExpr &e, Value m);
  void emitLaunch(OpBuilder &b, Location loc, const PlacedKernel &kernel,
                  Value m, const std::map<std::string, Value> &args);
  Value rows(OpBuilder &b, Location loc, Value tensor);
  Value activationMap(OpBuilder &b, Location loc, Value x, int64_t rows);
  Value column(OpBuilder &b, Location loc, Value tensor);
  Value unrows(OpBuilder &b, Location loc, Value rows2d, Value like,
               bool lastIsOne, Type elementType);
  Value toBuffer(OpBuilder &b, Location loc, Value tensor);
  Value toTensor(OpBuilder &b, Location loc, Value memref);

  ModuleOp module;
  SymbolTable symbols;
  codegen::CompileOptions options;
  std::map<std::string, PlacedKernel> placed; // by arch + expression
  int binaryCount = 0;
  Operation *lastBinary = nullptr;
};

FailureOr<PlacedKernel>
Lowering::place(Operation *op, llvm::Expected<codegen::GeneratedKernel> kernel,
                StringRef arch) {
  if (!kernel) {
    op->emitOpError() << "kernel generation failed: "
                      << llvm::toString(kernel.takeError());
    return failure();
  }
  std::string key = arch.str() + "|" + kernel->launch.expression;
  if (auto it = placed.find(key); it != placed.end())
    return it->second;

  MLIRContext *ctx = module.getContext();
  Builder b(ctx);
  auto target = NVVM::NVVMTargetAttr::get(ctx, /*optLevel=*/3,
                                          "nvptx64-nvidia-cuda", arch);
  const runtime::KernelEntry &l = kernel->launch;
  auto mexpr = [&](const runtime::MExpr &e) -> Attribute {
    if (e.div == 0)
      return b.getI64IntegerAttr(e.add);
    return b.getDenseI64ArrayAttr({e.mul, e.div, e.add});
  };
  SmallVector<Attribute> args;
  for (const std::string &a : l.args)
    args.push_back(b.getStringAttr(a));
  // What the launch needs besides the PTX, for readers of the IR (the bundle
  // exporter, humans): grids as a*ceil(M/d)+c ([a, d, c]) or constants.
  SmallVector<NamedAttribute> props = {
      b.getNamedAttr("expression", b.getStringAttr(l.expression)),
      b.getNamedAttr("family", b.getStringAttr(l.family)),
      b.getNamedAttr("entry", b.getStringAttr(l.entry)),
      b.getNamedAttr("grid", b.getArrayAttr({mexpr(l.grid[0]), mexpr(l.grid[1]),
                                             mexpr(l.grid[2])})),
      b.getNamedAttr("block", b.getDenseI64ArrayAttr(
                                  {l.block[0], l.block[1], l.block[2]})),
      b.getNamedAttr("shared_bytes", b.getI64IntegerAttr(l.sharedBytes)),
      b.getNamedAttr("workspace_bytes", mexpr(l.workspaceBytes)),
      b.getNamedAttr("args", b.getArrayAttr(args)),
      b.getNamedAttr("programmatic_launch",
                     b.getBoolAttr(l.programmaticLaunch)),
  };
  if (l.xMapRows > 0)
    props.push_back(
        b.getNamedAttr("x_map_rows", b.getI64IntegerAttr(l.xMapRows)));
  if (l.workspaceScratch)
    props.push_back(b.getNamedAttr("workspace_scratch", b.getUnitAttr()));
  DictionaryAttr properties = b.getDictionaryAttr(props);
  auto object = gpu::ObjectAttr::get(ctx, target,
                                     gpu::CompilationTarget::Assembly,
                                     b.getStringAttr(kernel->ptx), properties,
                                     /*kernels=*/nullptr);
  OpBuilder ob(ctx);
  // Binaries at the top of the module, in the order they were generated.
  if (lastBinary)
    ob.setInsertionPointAfter(lastBinary);
  else
    ob.setInsertionPointToStart(module.getBody());
  std::string name = "qqq_" + l.family + "_" + std::to_string(binaryCount++);
  auto binary = gpu::BinaryOp::create(ob, module.getLoc(), name,
                                      /*offloadingHandler=*/nullptr,
                                      ArrayRef<Attribute>{object});
  symbols.insert(binary); // renames on a clash
  lastBinary = binary;
  PlacedKernel p{SymbolRefAttr::get(binary.getSymNameAttr(),
                                    {FlatSymbolRefAttr::get(ctx, l.entry)}),
                 l};
  placed[key] = p;
  return p;
}

Value Lowering::evaluate(OpBuilder &b, Location loc, const runtime::MExpr &e,
                         Value m) {
  if (e.div == 0)
    return constIndex(b, loc, e.add);
  Value v = e.div == 1 ? m
                       : arith::CeilDivUIOp::create(b, loc, m,
                                                    constIndex(b, loc, e.div))
                             .getResult();
  if (e.mul != 1)
    v = arith::MulIOp::create(b, loc, v, constIndex(b, loc, e.mul));
  if (e.add != 0)
    v = arith::AddIOp::create(b, loc, v, constIndex(b, loc, e.add));
  return v;
}

void Lowering::emitLaunch(OpBuilder &b, Location loc, const PlacedKernel &k,
                          Value m, const std::map<std::string, Value> &given) {
  const runtime::KernelEntry &l = k.launch;
  std::map<std::string, Value> args = given;
  Value workspace;
  if (!(l.workspaceBytes.div == 0 && l.workspaceBytes.add == 0)) {
    // Split-K partials: an int32 workspace the kernel expects zeroed.
    runtime::MExpr words{l.workspaceBytes.mul / 4, l.workspaceBytes.div,
                         l.workspaceBytes.add / 4};
    Value n = evaluate(b, loc, words, m);
    auto type = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
    workspace = gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                     ValueRange{}, ValueRange{n}, ValueRange{})
                    .getMemref();
    Value zero = arith::ConstantIntOp::create(b, loc, 0, 32);
    gpu::MemsetOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{},
                          workspace, zero);
    args["workspace"] = workspace;
  }
  Value null;
  SmallVector<Value> operands;
  for (const std::string &name : l.args) {
    if (name == "x_map") {
      operands.push_back(activationMap(b, loc, args.at("x"), l.xMapRows));
      continue;
    }
    auto it = args.find(name);
    if (it != args.end() && it->second) {
      operands.push_back(it->second);
      continue;
    }
    // Absent optional operand (s_grp, bias, workspace): a null pointer.
    if (!null)
      null = LLVM::ZeroOp::create(b, loc,
                                  LLVM::LLVMPointerType::get(b.getContext()));
    operands.push_back(null);
  }
  gpu::KernelDim3 grid{evaluate(b, loc, l.grid[0], m),
                       evaluate(b, loc, l.grid[1], m),
                       evaluate(b, loc, l.grid[2], m)};
  gpu::KernelDim3 block{constIndex(b, loc, l.block[0]),
                        constIndex(b, loc, l.block[1]),
                        constIndex(b, loc, l.block[2])};
  Value smem = arith::ConstantIntOp::create(b, loc, l.sharedBytes, 32);
  gpu::LaunchFuncOp::create(b, loc, k.symbol, grid, block, smem, operands,
                            /*asyncObject=*/Value());
  if (workspace)
    gpu::DeallocOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{},
                           workspace);
}

/// The sm_90a GEMM's `x_map` operand, 128 bytes by value: the TMA tensor
/// map of x that the qqq runtime's C interface qqq_encode_activation_map
/// writes on the host (include/qqq/Runtime/qqq_runtime.h), or zeros for a
/// kernel that reads no map (rows == 0).
Value Lowering::activationMap(OpBuilder &b, Location loc, Value x,
                              int64_t rows) {
  auto i64 = b.getI64Type();
  auto mapType = VectorType::get({16}, i64);
  if (rows == 0)
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(mapType, b.getI64IntegerAttr(0)));
  auto bufType = MemRefType::get({16}, i64);
  auto xType = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                               b.getI8Type());
  StringRef callee = "qqq_encode_activation_map";
  if (!module.lookupSymbol(callee)) {
    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    auto decl = func::FuncOp::create(
        mb, loc, callee, b.getFunctionType({xType, i64, bufType}, {}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }
  Value buf = memref::AllocaOp::create(b, loc, bufType, ValueRange{},
                                       b.getI64IntegerAttr(64));
  Value xAny = memref::CastOp::create(b, loc, xType, x);
  Value rowsValue = arith::ConstantIntOp::create(b, loc, rows, 64);
  func::CallOp::create(b, loc, callee, TypeRange{},
                       ValueRange{xAny, rowsValue, buf});
  return vector::LoadOp::create(b, loc, mapType, buf,
                                ValueRange{constIndex(b, loc, 0)});
}

/// [d0, ..., dn-2, L] -> [M, L] with M = d0 * ... * dn-2.
Value Lowering::rows(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getRank() == 2)
    return tensor;
  ReassociationIndices lead;
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    lead.push_back(i);
  SmallVector<ReassociationIndices> re = {lead, {type.getRank() - 1}};
  return tensor::CollapseShapeOp::create(b, loc, tensor, re);
}

/// [d0, ..., dn-2, 1] -> [M].
Value Lowering::column(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return tensor::CollapseShapeOp::create(b, loc, tensor,
                                         ArrayRef<ReassociationIndices>{all});
}

/// The inverse of rows()/column(): back to the leading dimensions of `like`
/// with last dimension L (or 1 when `lastIsOne`).
Value Lowering::unrows(OpBuilder &b, Location loc, Value t, Value like,
                       bool lastIsOne, Type elementType) {
  auto likeType = cast<RankedTensorType>(like.getType());
  auto tType = cast<RankedTensorType>(t.getType());
  int64_t rank = likeType.getRank();
  if (rank == tType.getRank())
    return t;
  SmallVector<int64_t> shape(likeType.getShape());
  shape.back() = lastIsOne ? 1 : tType.getShape().back();
  SmallVector<OpFoldResult> outShape;
  for (int64_t i = 0; i < rank; ++i) {
    if (i + 1 == rank) {
      outShape.push_back(b.getIndexAttr(shape.back()));
    } else if (ShapedType::isDynamic(shape[i])) {
      outShape.push_back(
          tensor::DimOp::create(b, loc, like, i).getResult());
    } else {
      outShape.push_back(b.getIndexAttr(shape[i]));
    }
  }
  ReassociationIndices lead;
  SmallVector<ReassociationIndices> re;
  if (tType.getRank() == 1) {
    for (int64_t i = 0; i < rank; ++i)
      lead.push_back(i);
    re = {lead};
  } else {
    for (int64_t i = 0; i + 1 < rank; ++i)
      lead.push_back(i);
    re = {lead, {rank - 1}};
  }
  auto resultType = RankedTensorType::get(shape, elementType);
  return tensor::ExpandShapeOp::create(b, loc, resultType, t, re, outShape);
}

Value Lowering::toBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memref = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, loc, memref, tensor,
                                           /*read_only=*/true);
}

Value Lowering::toTensor(OpBuilder &b, Location loc, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  auto tensor = RankedTensorType::get(type.getShape(), type.getElementType());
  return bufferization::ToTensorOp::create(b, loc, tensor, memref,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

/// The activation kernels read f16: wider float activations (models run in
/// f32) are rounded to f16 in the IR, visibly, before the kernel.
static Value asF16(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType().isF16())
    return v;
  return arith::TruncFOp::create(b, loc, type.clone(b.getF16Type()), v);
}

static const char *layoutFor(codegen::KernelFamily family) {
  return family == codegen::KernelFamily::W4A8GemmSm90 ? "sm90_interleaved"
                                                       : "sm80_interleaved";
}

LogicalResult Lowering::lower(W4A8LinearOp op) {
  Location loc = op.getLoc();
  ArrayAttr kernels = op.getKernelsAttr();
  if (!kernels || kernels.empty())
    return op.emitOpError() << "layer '" << op.getLayerName()
                            << "' has no kernels: run qqq-select-kernels first";
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  codegen::GemmShape shape{op.getOutFeatures(), op.getInFeatures(),
                           static_cast<int64_t>(op.getGroupSize().value_or(0))};
  if (inType.getRank() < 2 || ShapedType::isDynamic(shape.N) ||
      ShapedType::isDynamic(shape.K))
    return op.emitOpError() << "layer '" << op.getLayerName()
                            << "': needs a [..., K] input with static N and K";

  // Generate every bucket's kernel first: nothing is rewritten on failure.
  std::vector<PlacedKernel> bucketKernels;
  SmallVector<int64_t> maxMs;
  for (auto [i, attr] : llvm::enumerate(kernels)) {
    auto k = dyn_cast<KernelConfigAttr>(attr);
    if (!k)
      return op.emitOpError() << "kernels must be #qqq.kernel attributes";
    codegen::GemmConfig c = toGemmConfig(k);
    bool last = i + 1 == kernels.size();
    if ((c.maxM == 0) != last || (i > 0 && !last && c.maxM <= maxMs.back()))
      return op.emitOpError() << "layer '" << op.getLayerName()
                              << "': kernels must have increasing max_m, the "
                                 "last one 0 (unbounded)";
    std::optional<codegen::KernelFamily> family =
        codegen::gemmFamilyForArch(c.arch);
    if (!family)
      return op.emitOpError() << "unknown kernel arch '" << c.arch << "'";
    StringRef layout = stringifyWeightLayout(op.getLayout());
    if (layout != layoutFor(*family))
      return op.emitOpError()
             << "layer '" << op.getLayerName() << "': weights are in layout "
             << layout << " but the " << c.arch << " kernels read "
             << layoutFor(*family) << " (run qqq-pack layout="
             << layoutFor(*family) << " first)";
    FailureOr<PlacedKernel> p =
        place(op, codegen::generateGemmKernel(shape, c, options), c.arch);
    if (failed(p))
      return failure();
    bucketKernels.push_back(*p);
    maxMs.push_back(c.maxM);
  }

  OpBuilder b(op);
  Value x = toBuffer(b, loc, rows(b, loc, op.getInput()));
  Value sTok = toBuffer(b, loc, column(b, loc, op.getInputScale()));
  std::map<std::string, Value> args = {
      {"x", x},
      {"s_tok", sTok},
      {"w_packed", toBuffer(b, loc, op.getWeight())},
      {"s_ch", toBuffer(b, loc, op.getChannelScale())}};
  if (op.getGroupScale())
    args["s_grp"] = toBuffer(b, loc, op.getGroupScale());
  if (op.getBias())
    args["bias"] = toBuffer(b, loc, op.getBias());
  Value m = memref::DimOp::create(b, loc, x, 0);
  auto yType = MemRefType::get({ShapedType::kDynamic, shape.N}, b.getF16Type());
  Value y = gpu::AllocOp::create(b, loc, yType, Type(), ValueRange{},
                                 ValueRange{m}, ValueRange{})
                .getMemref();
  args["y"] = y;
  args["M"] = arith::IndexCastOp::create(b, loc, b.getI32Type(), m);

  if (bucketKernels.size() == 1) {
    emitLaunch(b, loc, bucketKernels[0], m, args);
  } else {
    // bucket = #{i : M > max_m[i]} over the bounded buckets.
    Value bucket;
    for (size_t i = 0; i + 1 < maxMs.size(); ++i) {
      Value above = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, m,
                                          constIndex(b, loc, maxMs[i]));
      Value one = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), above);
      bucket = bucket ? arith::AddIOp::create(b, loc, bucket, one).getResult()
                      : one;
    }
    SmallVector<int64_t> cases;
    for (size_t i = 0; i + 1 < maxMs.size(); ++i)
      cases.push_back(static_cast<int64_t>(i));
    auto sw = scf::IndexSwitchOp::create(b, loc, TypeRange{}, bucket, cases,
                                         cases.size());
    auto fill = [&](Region &region, const PlacedKernel &k) {
      Block *block = b.createBlock(&region);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(block);
      emitLaunch(b, loc, k, m, args);
      scf::YieldOp::create(b, loc);
    };
    {
      OpBuilder::InsertionGuard guard(b);
      for (size_t i = 0; i < cases.size(); ++i)
        fill(sw.getCaseRegions()[i], bucketKernels[i]);
      fill(sw.getDefaultRegion(), bucketKernels.back());
    }
    b.setInsertionPointAfter(sw);
  }

  Value result = unrows(b, loc, toTensor(b, loc, y), op.getInput(),
                        /*lastIsOne=*/false, b.getF16Type());
  if (outType.getElementType() != b.getF16Type())
    result = arith::ExtFOp::create(b, loc, outType, result);
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return success();
}

// quantize_act and rms_norm_quantize: one kernel, grid = M rows.
/// Device buffers for M rows of int8 activations [M, K] and their f32
/// per-token scales [M], the outputs of both activation kernels.
static std::pair<Value, Value> allocQuantizedRows(OpBuilder &b, Location loc,
                                                  int64_t K, Value m) {
  auto alloc = [&](MemRefType type) {
    return gpu::AllocOp::create(b, loc, type, Type(), ValueRange{},
                                ValueRange{m}, ValueRange{})
        .getMemref();
  };
  return {alloc(MemRefType::get({ShapedType::kDynamic, K}, b.getI8Type())),
          alloc(MemRefType::get({ShapedType::kDynamic}, b.getF32Type()))};
}

LogicalResult Lowering::lower(QuantizeActOp op) {
  Location loc = op.getLoc();
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  if (inType.getRank() < 2 || ShapedType::isDynamic(inType.getShape().back()))
    return op.emitOpError() << "the GPU kernel needs a [..., K] input with "
                               "static K, got "
                            << inType;
  int64_t K = inType.getShape().back();
  FailureOr<PlacedKernel> k = place(
      op,
      codegen::generateActivationKernel(codegen::KernelFamily::QuantizeAct, K,
                                        options),
      options.arch);
  if (failed(k))
    return failure();
  OpBuilder b(op);
  Value x = toBuffer(b, loc, rows(b, loc, asF16(b, loc, op.getInput())));
  Value m = memref::DimOp::create(b, loc, x, 0);
  auto [q, s] = allocQuantizedRows(b, loc, K, m);
  emitLaunch(b, loc, *k, m,
             {{"x", x},
              {"q", q},
              {"s_tok", s},
              {"M", arith::IndexCastOp::create(b, loc, b.getI32Type(), m)}});
  Value qT = unrows(b, loc, toTensor(b, loc, q), op.getInput(), false,
                    b.getI8Type());
  Value sT = unrows(b, loc, toTensor(b, loc, s), op.getInput(), true,
                    b.getF32Type());
  op.getOutput().replaceAllUsesWith(qT);
  op.getScale().replaceAllUsesWith(sT);
  op.erase();
  return success();
}

LogicalResult Lowering::lower(RMSNormQuantizeOp op) {
  Location loc = op.getLoc();
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  auto gammaType = cast<RankedTensorType>(op.getGamma().getType());
  if (inType.getRank() < 2 || ShapedType::isDynamic(inType.getShape().back()))
    return op.emitOpError() << "the GPU kernel needs a [..., K] input with "
                               "static K, got "
                            << inType << " and " << gammaType;
  int64_t K = inType.getShape().back();
  FailureOr<PlacedKernel> k = place(
      op,
      codegen::generateActivationKernel(codegen::KernelFamily::RmsNormQuantize,
                                        K, options),
      options.arch);
  if (failed(k))
    return failure();
  OpBuilder b(op);
  Value x = toBuffer(b, loc, rows(b, loc, asF16(b, loc, op.getInput())));
  Value m = memref::DimOp::create(b, loc, x, 0);
  auto [q, s] = allocQuantizedRows(b, loc, K, m);
  Value eps = arith::ConstantOp::create(b, loc, op.getEpsilonAttr());
  emitLaunch(b, loc, *k, m,
             {{"x", x},
              {"gamma", toBuffer(b, loc, asF16(b, loc, op.getGamma()))},
              {"epsilon", eps},
              {"q", q},
              {"s_tok", s},
              {"M", arith::IndexCastOp::create(b, loc, b.getI32Type(), m)}});
  Value qT = unrows(b, loc, toTensor(b, loc, q), op.getInput(), false,
                    b.getI8Type());
  Value sT = unrows(b, loc, toTensor(b, loc, s), op.getInput(), true,
                    b.getF32Type());
  op.getOutput().replaceAllUsesWith(qT);
  op.getScale().replaceAllUsesWith(sT);
  op.erase();
  return success();
}

struct LowerToGPUPass : public impl::QQQLowerToGPUPassBase<LowerToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    codegen::CompileOptions options;
    options.arch = arch;
    options.templatesDir = templatesDir;
    options.cacheDir = cacheDir;
    if (!codegen::virtualArchFor(arch)) {
      module.emitError() << "qqq-lower-to-gpu: unknown arch '" << arch << "'";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<W4A8LinearOp, QuantizeActOp, RMSNormQuantizeOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    Lowering lowering(module, options);
    for (Operation *op : ops) {
      LogicalResult r =
          TypeSwitch<Operation *, LogicalResult>(op)
              .Case<W4A8LinearOp, QuantizeActOp, RMSNormQuantizeOp>(
                  [&](auto typed) { return lowering.lower(typed); });
      if (failed(r))
        return signalPassFailure();
    }
  }
};

} // namespace
} // namespace qqq
