//===- QuantizeAct.cpp - qqq-quantize-act: place the activation quantizers ===//
//
// qqq-gptq gives every W4A8 layer its own qqq.quantize_act. Here the
// quantizers of one activation (q/k/v, gate/up) become one, placed right
// after the activation's producer, and a qqq.rms_norm whose only reader is
// that quantizer is fused with it into qqq.rms_norm_quantize.
//
//===----------------------------------------------------------------------===//
#include "QuantizeSteps.h"

#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/raw_ostream.h"

namespace qqq {
#define GEN_PASS_DEF_QQQQUANTIZEACTPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;

LogicalResult qqq::runQuantizeAct(ModuleOp module,
                                  llvm::json::Array &records) {
  // 1. One quantizer per activation value (and result types).
  llvm::MapVector<std::pair<Value, Type>, SmallVector<QuantizeActOp>> groups;
  module.walk([&](QuantizeActOp op) {
    groups[{op.getInput(), op.getOutput().getType()}].push_back(op);
  });
  int64_t merged = 0, fused = 0;
  for (auto &[key, ops] : groups) {
    QuantizeActOp keep = ops.front();
    Value x = key.first;
    if (Operation *def = x.getDefiningOp())
      keep->moveAfter(def);
    else
      keep->moveBefore(&cast<BlockArgument>(x).getOwner()->front());
    for (QuantizeActOp other : llvm::drop_begin(ops)) {
      if (other->getBlock() != keep->getBlock())
        continue; // a quantizer in another region stays where it is
      other.getOutput().replaceAllUsesWith(keep.getOutput());
      other.getScale().replaceAllUsesWith(keep.getScale());
      other.erase();
      ++merged;
    }
  }
  // 2. rms_norm → quantize_act with no other reader: fuse.
  SmallVector<QuantizeActOp> quantizers;
  module.walk([&](QuantizeActOp op) { quantizers.push_back(op); });
  for (QuantizeActOp q : quantizers) {
    auto norm = q.getInput().getDefiningOp<RMSNormOp>();
    if (!norm || !norm.getResult().hasOneUse())
      continue;
    OpBuilder b(norm);
    auto fusedOp = RMSNormQuantizeOp::create(
        b, norm.getLoc(), q.getOutput().getType(), q.getScale().getType(),
        norm.getInput(), norm.getGamma(), norm.getEpsilonAttr());
    q.getOutput().replaceAllUsesWith(fusedOp.getOutput());
    q.getScale().replaceAllUsesWith(fusedOp.getScale());
    q.erase();
    norm.erase();
    ++fused;
  }
  llvm::errs() << "[qqq-quantize-act] " << groups.size()
               << " activation(s) quantized, " << merged
               << " duplicate quantizer(s) merged, " << fused
               << " fused with rms_norm\n";
  records.push_back(llvm::json::Object{{"stage", "quantize-act"},
                                       {"activations", int64_t(groups.size())},
                                       {"merged", merged},
                                       {"fused_rms_norm", fused}});
  return success();
}

namespace {
struct QQQQuantizeActPass
    : qqq::impl::QQQQuantizeActPassBase<QQQQuantizeActPass> {
  using Base::Base;
  void runOnOperation() override {
    llvm::json::Array records;
    if (failed(runQuantizeAct(getOperation(), records)))
      signalPassFailure();
  }
};
} // namespace
