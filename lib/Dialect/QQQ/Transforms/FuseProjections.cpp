//===- FuseProjections.cpp - qqq-fuse-projections: one GEMM per input -----===//
//
// The layers that read the same int8 activations (a LLaMA layer's q, k and v
// after the shared RMSNorm quantizer; gate and up) become one
// qqq.w4a8_linear whose weights are theirs stacked along N. Small GQA k/v
// projections are launch-bound on their own (docs/kernels.md); stacked they
// ride on q's weight stream. Each old result becomes a tensor.extract_slice
// of its columns, so every consumer sees the same values.
//
//===----------------------------------------------------------------------===//
#include "WeightConstants.h"

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Numerics/Packing.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace qqq {
#define GEN_PASS_DEF_QQQFUSEPROJECTIONSPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;

namespace {

/// The layers an op stands for: itself, or the parts it was fused from.
struct PartList {
  SmallVector<std::string> names;
  SmallVector<int64_t> sizes;
};

PartList partsOf(W4A8LinearOp op) {
  PartList p;
  if (std::optional<ArrayAttr> names = op.getParts()) {
    for (Attribute a : *names)
      p.names.push_back(cast<StringAttr>(a).getValue().str());
    llvm::append_range(p.sizes, *op.getPartSizes());
  } else {
    p.names.push_back(op.getLayerName().str());
    p.sizes.push_back(op.getOutFeatures());
  }
  return p;
}

/// Ops that may share one GEMM: same activations, block and everything that
/// is one value per GEMM (layout, K, group size, scheme, output type, bias).
struct FusionKey {
  Value input, inputScale;
  Block *block;
  WeightLayout layout;
  int64_t k, groupSize;
  Attribute scheme;
  Type resultElement;
  bool bias;
  auto tie() const {
    return std::make_tuple(input.getAsOpaquePointer(),
                           inputScale.getAsOpaquePointer(), block,
                           static_cast<uint32_t>(layout), k, groupSize,
                           scheme.getAsOpaquePointer(),
                           resultElement.getAsOpaquePointer(), bias);
  }
  bool operator<(const FusionKey &o) const { return tie() < o.tie(); }
};

FusionKey keyOf(W4A8LinearOp op) {
  return {op.getInput(),
          op.getInputScale(),
          op->getBlock(),
          op.getLayout(),
          op.getInFeatures(),
          static_cast<int64_t>(op.getGroupSize().value_or(0)),
          op.getSchemeAttr(),
          op.getResult().getType().getElementType(),
          op.getBias() != nullptr};
}

/// `layers.0.attn.q_proj`, `layers.0.attn.k_proj` → `layers.0.attn.q_proj+k_proj`:
/// the common prefix up to its last `.` or `/`, then each rest joined by `+`.
std::string fusedName(ArrayRef<std::string> names) {
  size_t common = names.front().size();
  for (const std::string &n : names.drop_front()) {
    size_t i = 0;
    while (i < common && i < n.size() && n[i] == names.front()[i])
      ++i;
    common = i;
  }
  size_t cut = names.front().find_last_of("./", common == 0 ? 0 : common - 1);
  size_t prefix = (common == 0 || cut == std::string::npos) ? 0 : cut + 1;
  std::string out = names.front().substr(0, prefix);
  for (auto [i, n] : llvm::enumerate(names))
    out += (i ? "+" : "") + n.substr(prefix);
  return out;
}

std::vector<float> concatFloats(ArrayRef<std::vector<float>> parts) {
  std::vector<float> out;
  for (const std::vector<float> &p : parts)
    llvm::append_range(out, p);
  return out;
}

/// [rows, cols_i] row-major blocks side by side: [rows, Σ cols_i].
std::vector<float> concatColumns(ArrayRef<std::vector<float>> parts,
                                 ArrayRef<int64_t> cols, int64_t rows) {
  std::vector<float> out;
  for (int64_t r = 0; r < rows; ++r)
    for (auto [p, c] : llvm::zip(parts, cols))
      out.insert(out.end(), p.begin() + r * c, p.begin() + (r + 1) * c);
  return out;
}

/// Fuses `ops` (≥ 2, one FusionKey, module order). Returns the error text, or
/// "" on success; the ops are untouched on error.
std::string fuse(ArrayRef<W4A8LinearOp> ops) {
  W4A8LinearOp first = ops.front();
  int64_t k = first.getInFeatures();
  SmallVector<std::string> names;
  SmallVector<int64_t> sizes;
  numerics::Matrix<int8_t> q(0, k);
  std::vector<std::vector<float>> chScales, grpScales, biases;
  for (W4A8LinearOp op : ops) {
    PartList p = partsOf(op);
    names.append(p.names);
    sizes.append(p.sizes);
    int64_t n = op.getOutFeatures();
    auto bytes = readByteConstant(op.getWeight());
    if (failed(bytes))
      return "the packed weight of '" + op.getLayerName().str() +
             "' is not a constant";
    numerics::Matrix<int8_t> part;
    std::string err =
        numerics::unpackWeights(toNumerics(op.getLayout()), *bytes, n, k, part);
    if (!err.empty())
      return "'" + op.getLayerName().str() + "': " + err;
    llvm::append_range(q.data, part.data);
    q.rows += n;
    auto ch = readFloatConstant(op.getChannelScale());
    auto grp = op.getGroupScale() ? readFloatConstant(op.getGroupScale())
                                  : FailureOr<std::vector<float>>();
    auto bias = op.getBias() ? readFloatConstant(op.getBias())
                             : FailureOr<std::vector<float>>();
    if (failed(ch) || (op.getGroupScale() && failed(grp)) ||
        (op.getBias() && failed(bias)))
      return "the scales or bias of '" + op.getLayerName().str() +
             "' are not constants";
    chScales.push_back(std::move(*ch));
    if (op.getGroupScale())
      grpScales.push_back(std::move(*grp));
    if (op.getBias())
      biases.push_back(std::move(*bias));
  }
  std::vector<uint8_t> packed;
  if (std::string err =
          numerics::packWeights(toNumerics(first.getLayout()), q, packed);
      !err.empty())
    return "the fused " + std::to_string(q.rows) + " x " + std::to_string(k) +
           " weight: " + err;

  OpBuilder b(first);
  Location loc = b.getFusedLoc(llvm::to_vector(
      llvm::map_range(ops, [](W4A8LinearOp op) { return op.getLoc(); })));
  int64_t n = q.rows;
  auto like = [&](Value v, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(
        shape, cast<RankedTensorType>(v.getType()).getElementType());
  };
  Value weight = makeRawConstant(
      b, loc, like(first.getWeight(), {n, k / 2}),
      ArrayRef<char>(reinterpret_cast<const char *>(packed.data()),
                     packed.size()));
  Value chScale = makeFloatConstant(b, loc, like(first.getChannelScale(), {n}),
                                    concatFloats(chScales));
  Value grpScale, bias;
  if (first.getGroupScale()) {
    SmallVector<int64_t> cols;
    for (W4A8LinearOp op : ops)
      cols.push_back(op.getOutFeatures());
    int64_t groups = k / *first.getGroupSize();
    grpScale = makeFloatConstant(b, loc,
                                 like(first.getGroupScale(), {groups, n}),
                                 concatColumns(grpScales, cols, groups));
  }
  if (first.getBias())
    bias = makeFloatConstant(b, loc, like(first.getBias(), {n}),
                             concatFloats(biases));
  auto resultType = cast<RankedTensorType>(first.getResult().getType());
  SmallVector<int64_t> shape(resultType.getShape());
  shape.back() = n;
  auto fused = W4A8LinearOp::create(
      b, loc, resultType.clone(shape), first.getInput(), first.getInputScale(),
      weight, chScale, grpScale, bias, first.getLayoutAttr(),
      first.getGroupSizeAttr(), b.getStringAttr(fusedName(names)),
      first.getSchemeAttr(), /*kernels=*/ArrayAttr(),
      b.getStrArrayAttr(llvm::to_vector(llvm::map_range(
          names, [](const std::string &s) { return StringRef(s); }))),
      b.getDenseI64ArrayAttr(sizes));

  // Each old result: its columns of the fused one, all leading dimensions.
  int64_t rank = resultType.getRank(), offset = 0;
  for (W4A8LinearOp op : ops) {
    OpBuilder at(op);
    SmallVector<OpFoldResult> offsets(rank, at.getIndexAttr(0)), sizesOf,
        strides(rank, at.getIndexAttr(1));
    for (int64_t d = 0; d + 1 < rank; ++d)
      sizesOf.push_back(
          resultType.isDynamicDim(d)
              ? OpFoldResult(tensor::DimOp::create(at, op.getLoc(),
                                                   fused.getResult(), d)
                                 .getResult())
              : OpFoldResult(at.getIndexAttr(resultType.getDimSize(d))));
    int64_t width = op.getOutFeatures();
    offsets.back() = at.getIndexAttr(offset);
    sizesOf.push_back(at.getIndexAttr(width));
    offset += width;
    auto slice = tensor::ExtractSliceOp::create(
        at, op.getLoc(), cast<RankedTensorType>(op.getResult().getType()),
        fused.getResult(), offsets, sizesOf, strides);
    op.getResult().replaceAllUsesWith(slice.getResult());
    SmallVector<Operation *> constants;
    for (Value v : {op.getWeight(), op.getChannelScale(), op.getGroupScale(),
                    op.getBias()})
      if (v)
        constants.push_back(v.getDefiningOp());
    op.erase();
    for (Operation *c : constants)
      eraseIfDeadConstant(c);
  }
  return "";
}

struct QQQFuseProjectionsPass
    : qqq::impl::QQQFuseProjectionsPassBase<QQQFuseProjectionsPass> {
  using Base::Base;
  void runOnOperation() override {
    // Module order within each group comes from the walk.
    std::map<FusionKey, SmallVector<W4A8LinearOp>> byKey;
    WalkResult res = getOperation().walk([&](W4A8LinearOp op) {
      if (op.getKernels()) {
        op.emitError() << "qqq-fuse-projections: layer '" << op.getLayerName()
                       << "' already has kernels (run this pass before "
                          "qqq-select-kernels)";
        return WalkResult::interrupt();
      }
      byKey[keyOf(op)].push_back(op);
      return WalkResult::advance();
    });
    if (res.wasInterrupted())
      return signalPassFailure();
    int64_t groups = 0, layers = 0;
    for (auto &[key, ops] : byKey) {
      if (ops.size() < 2)
        continue;
      if (std::string err = fuse(ops); !err.empty()) {
        std::string name = fusedName(llvm::to_vector(llvm::map_range(
            ops, [](W4A8LinearOp op) { return op.getLayerName().str(); })));
        ops.front().emitError() << "qqq-fuse-projections: cannot fuse into '"
                                << name << "': " << err;
        return signalPassFailure();
      }
      ++groups;
      layers += ops.size();
    }
    llvm::errs() << "[qqq-fuse-projections] " << layers << " layer(s) fused into "
                 << groups << " GEMM(s)\n";
  }
};

} // namespace
