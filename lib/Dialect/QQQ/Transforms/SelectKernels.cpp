//===- SelectKernels.cpp - kernel configuration per M bucket --------------===//
//
// Reads the tuning table of the target GPU (when one is named and exists)
// and falls back on the kernel catalog's heuristic, so that every
// qqq.w4a8_linear carries the configuration of each kernel the lowering will
// generate for it.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/KernelCatalog.h"
#include "qqq/CodeGen/TemplatePaths.h"
#include "qqq/CodeGen/TuningTable.h"
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/FileSystem.h"

namespace qqq {
#define GEN_PASS_DEF_QQQSELECTKERNELSPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;

namespace qqq {
namespace {

struct SelectKernelsPass
    : public impl::QQQSelectKernelsPassBase<SelectKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!codegen::gemmFamilyForArch(arch)) {
      module.emitError() << "qqq-select-kernels: unknown arch '" << arch
                         << "' (sm_90a or sm_80)";
      return signalPassFailure();
    }
    std::vector<int64_t> mBuckets(buckets.begin(), buckets.end());
    if (mBuckets.empty())
      mBuckets = codegen::mBuckets();
    for (size_t i = 0; i < mBuckets.size(); ++i) {
      bool last = i + 1 == mBuckets.size();
      if (mBuckets[i] < 0 || (mBuckets[i] == 0) != last ||
          (i > 0 && !last && mBuckets[i] <= mBuckets[i - 1])) {
        module.emitError() << "qqq-select-kernels: buckets must increase and "
                              "end with 0 (unbounded)";
        return signalPassFailure();
      }
    }

    std::optional<codegen::TuningTable> table;
    if (!gpu.empty()) {
      std::string dir =
          tuningDir.empty() ? codegen::tuningTablesDir() : std::string(tuningDir);
      if (llvm::sys::fs::is_directory(dir)) {
        auto found = codegen::TuningTable::findForGpu(dir, gpu);
        if (!found) {
          module.emitError() << "qqq-select-kernels: "
                             << llvm::toString(found.takeError());
          return signalPassFailure();
        }
        table = std::move(*found);
      } else if (!tuningDir.empty()) {
        module.emitError() << "qqq-select-kernels: tuning directory '" << dir
                           << "' does not exist";
        return signalPassFailure();
      }
      if (!table)
        module.emitRemark() << "qqq-select-kernels: no tuning table for GPU '"
                            << gpu << "' in " << dir
                            << "; using the catalog heuristic";
    }

    MLIRContext *ctx = &getContext();
    StringAttr archAttr = StringAttr::get(ctx, arch);
    WalkResult result = module.walk([&](W4A8LinearOp op) -> WalkResult {
      codegen::GemmShape shape{
          op.getOutFeatures(), op.getInFeatures(),
          static_cast<int64_t>(op.getGroupSize().value_or(0))};
      if (ShapedType::isDynamic(shape.N) || ShapedType::isDynamic(shape.K))
        return op.emitOpError()
               << "layer '" << op.getLayerName()
               << "': kernels need static N and K";
      SmallVector<Attribute> configs;
      int64_t tuned = 0;
      for (int64_t bucket : mBuckets) {
        std::optional<codegen::GemmConfig> config;
        if (table)
          config = table->configForBucket(arch, shape, bucket);
        if (config)
          ++tuned;
        else
          config = codegen::defaultConfig(shape, bucket, arch);
        if (std::optional<std::string> why = codegen::whyInvalid(*config, shape))
          return op.emitOpError()
                 << "layer '" << op.getLayerName() << "': no " << arch
                 << " kernel for N = " << shape.N << ", K = " << shape.K
                 << ", group " << shape.groupSize << " (M bucket " << bucket
                 << "): " << *why;
        auto attr = KernelConfigAttr::getChecked(
            [&] { return op.emitOpError(); }, ctx, archAttr, bucket,
            config->tileM, config->tileN, config->tileK, config->stages,
            config->warps, config->splitK, config->swapAB, config->streamK,
            config->tokenTilesFirst);
        if (!attr)
          return WalkResult::interrupt();
        configs.push_back(attr);
      }
      op.setKernelsAttr(ArrayAttr::get(ctx, configs));
      if (table && tuned < static_cast<int64_t>(mBuckets.size()))
        op.emitRemark() << "layer '" << op.getLayerName() << "' (N = "
                        << shape.N << ", K = " << shape.K << ", group "
                        << shape.groupSize << "): " << mBuckets.size() - tuned
                        << " of " << mBuckets.size()
                        << " M buckets not in the tuning table; heuristic "
                           "used (tune it: tools/qqq-tune/qqq-tune.sh --shapes "
                        << shape.N << "x" << shape.K << ")";
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
} // namespace qqq
