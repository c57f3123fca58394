//===- Pack.cpp - qqq-pack: int4 weights into a kernel layout -------------===//
//
// Unpacks each qqq.w4a8_linear weight from its current #qqq.layout and packs
// it into the requested one with the numerics library (which owns every
// layout's definition). `layout=auto` picks sm90_interleaved when this build
// has the kernel layouts, per layer, and keeps a layer whose shape that
// layout cannot hold as it is; an explicitly requested layout that is not
// available (or cannot hold a layer) is an error naming the layer.
//
//===----------------------------------------------------------------------===//
#include "QuantizeSteps.h"
#include "WeightConstants.h"

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Numerics/Packing.h"

#include "llvm/Support/raw_ostream.h"

namespace qqq {
#define GEN_PASS_DEF_QQQPACKPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;

/// Whether this build can pack `layout` (probes with a tiny weight).
static bool layoutAvailable(WeightLayout layout) {
  numerics::Matrix<int8_t> probe(64, 128, 0);
  std::vector<uint8_t> bytes;
  return numerics::packWeights(toNumerics(layout), probe, bytes).empty();
}

LogicalResult qqq::runPack(ModuleOp module, StringRef layoutName,
                           llvm::json::Array &records) {
  std::optional<WeightLayout> target;
  bool autoLayout = layoutName == "auto";
  if (autoLayout)
    target = layoutAvailable(WeightLayout::sm90_interleaved)
                 ? WeightLayout::sm90_interleaved
                 : WeightLayout::row_major;
  else
    target = symbolizeWeightLayout(layoutName);
  if (!target)
    return module.emitError() << "qqq-pack: unknown layout '" << layoutName
                              << "' (auto, row_major, sm90_interleaved, "
                                 "sm80_interleaved)";
  int64_t repacked = 0, kept = 0, unfit = 0;
  WalkResult res = module.walk([&](W4A8LinearOp op) {
    WeightLayout from = op.getLayout();
    if (from == *target) {
      ++kept;
      return WalkResult::advance();
    }
    auto type = cast<RankedTensorType>(op.getWeight().getType());
    int64_t n = type.getDimSize(0), k = type.getDimSize(1) * 2;
    auto bytes = readByteConstant(op.getWeight());
    if (failed(bytes)) {
      op.emitError() << "qqq-pack: layer '" << op.getLayerName()
                     << "': packed weight is not a constant";
      return WalkResult::interrupt();
    }
    numerics::Matrix<int8_t> q;
    std::string err =
        numerics::unpackWeights(toNumerics(from), *bytes, n, k, q);
    std::vector<uint8_t> packed;
    if (err.empty())
      err = numerics::packWeights(toNumerics(*target), q, packed);
    if (!err.empty() && autoLayout) {
      // `auto` keeps a layer the kernel layout cannot hold (its shape) as is.
      llvm::errs() << "[qqq-pack] " << op.getLayerName() << ": kept "
                   << stringifyWeightLayout(from) << " (" << err << ")\n";
      ++unfit;
      return WalkResult::advance();
    }
    if (!err.empty()) {
      op.emitError() << "qqq-pack: layer '" << op.getLayerName() << "': "
                     << stringifyWeightLayout(from) << " -> "
                     << stringifyWeightLayout(*target) << ": " << err;
      return WalkResult::interrupt();
    }
    OpBuilder b(op);
    Value c = makeRawConstant(
        b, op.getLoc(), type,
        ArrayRef<char>(reinterpret_cast<const char *>(packed.data()),
                       packed.size()));
    Operation *old = op.getWeight().getDefiningOp();
    op.getWeightMutable().assign(c);
    eraseIfDeadConstant(old);
    op.setLayoutAttr(WeightLayoutAttr::get(op.getContext(), *target));
    ++repacked;
    return WalkResult::advance();
  });
  if (res.wasInterrupted())
    return failure();
  llvm::errs() << "[qqq-pack] layout " << stringifyWeightLayout(*target)
               << ": " << repacked << " layer(s) re-packed, " << kept
               << " already in it";
  if (unfit)
    llvm::errs() << ", " << unfit << " kept in their layout (shape)";
  llvm::errs() << "\n";
  records.push_back(llvm::json::Object{
      {"stage", "pack"},
      {"layout", stringifyWeightLayout(*target)},
      {"repacked", repacked},
      {"kept", kept},
      {"kept_for_shape", unfit}});
  return success();
}

namespace {
struct QQQPackPass : qqq::impl::QQQPackPassBase<QQQPackPass> {
  using Base::Base;
  void runOnOperation() override {
    llvm::json::Array records;
    if (failed(runPack(getOperation(), layout, records)))
      signalPassFailure();
  }
};
} // namespace
