//===- AttentionPaths.cpp - from v_proj to the o_proj it feeds ------------===//
#include "AttentionPaths.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

FailureOr<qqq::LinearOp> qqq::followToOProj(LinearOp vProj, std::string &why) {
  SmallVector<Value> work{vProj.getResult()};
  llvm::DenseSet<Value> seen;
  LinearOp oProj;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (Operation *user : v.getUsers()) {
      if (auto lin = dyn_cast<LinearOp>(user)) {
        if (oProj && oProj != lin) {
          why = "v_proj output reaches two linear layers";
          return failure();
        }
        oProj = lin;
        continue;
      }
      if (!isa<OnnxNodeOp>(user)) {
        why = "v_proj output reaches '" + user->getName().getStringRef().str() +
              "'";
        return failure();
      }
      for (Value r : user->getResults())
        work.push_back(r);
    }
  }
  if (!oProj) {
    why = "v_proj output reaches no linear layer";
    return failure();
  }
  return oProj;
}
