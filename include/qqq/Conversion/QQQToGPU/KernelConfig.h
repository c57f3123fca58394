//===- KernelConfig.h - #qqq.kernel as a codegen::GemmConfig -----*- C++ -*-===//
//
// The lowering and the bundle writer both hand the kernel configuration a
// pass recorded in IR to the (IR-free) code generator.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_CONVERSION_QQQTOGPU_KERNELCONFIG_H
#define QQQ_CONVERSION_QQQTOGPU_KERNELCONFIG_H

#include "qqq/CodeGen/KernelCatalog.h"
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"

namespace qqq {

inline codegen::GemmConfig toGemmConfig(KernelConfigAttr k) {
  codegen::GemmConfig c;
  c.arch = k.getArch().str();
  c.maxM = k.getMaxM();
  c.tileM = k.getTileM();
  c.tileN = k.getTileN();
  c.tileK = k.getTileK();
  c.stages = k.getStages();
  c.warps = k.getWarps();
  c.splitK = k.getSplitK();
  c.swapAB = k.getSwapAB();
  c.streamK = k.getStreamK();
  c.tokenTilesFirst = k.getTokenTilesFirst();
  return c;
}

} // namespace qqq

#endif // QQQ_CONVERSION_QQQTOGPU_KERNELCONFIG_H
