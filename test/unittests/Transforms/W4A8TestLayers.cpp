//===- W4A8TestLayers.cpp - random W4A8 layers for the export tests -------===//
#include "W4A8TestLayers.h"

#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/Quantizers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace qqq;
using numerics::Matrix;

numerics::PackedW4Weight
testlayers::randomWeight(numerics::WeightLayout layout, int64_t N, int64_t K,
                         int64_t groupSize, bool bias, std::mt19937 &rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Matrix<float> wf(N, K);
  for (float &v : wf.data)
    v = nd(rng) * 0.05f;
  numerics::Int4Weight q = numerics::quantizeWeightRTN(wf, groupSize);
  numerics::PackedW4Weight w;
  w.layout = layout;
  w.N = N;
  w.K = K;
  w.groupSize = groupSize;
  if (!numerics::packWeights(layout, q.q, w.packed).empty())
    w.packed.clear();
  if (groupSize > 0) {
    numerics::TwoLevelScales two =
        numerics::computeTwoLevelScales(q.q, q.groupScale, groupSize);
    w.sCh = two.sCh;
    w.sGrpHalf = two.sGrpHalf;
  } else {
    w.sCh = q.channelScale;
  }
  if (bias)
    for (int64_t n = 0; n < N; ++n)
      w.biasHalf.push_back(numerics::floatToHalfBits(nd(rng)));
  return w;
}

W4A8LinearOp testlayers::addLinear(OpBuilder &b, Location loc,
                                   QuantizeActOp quant,
                                   const numerics::PackedW4Weight &w,
                                   Type resultType, StringRef name) {
  int64_t N = w.N, K = w.K;
  auto raw = [&](ArrayRef<int64_t> shape, Type elt, const void *p,
                 size_t bytes) -> Value {
    auto t = RankedTensorType::get(shape, elt);
    return arith::ConstantOp::create(
        b, loc, t,
        DenseElementsAttr::getFromRawBuffer(
            t, ArrayRef<char>(static_cast<const char *>(p), bytes)));
  };
  Value weight =
      raw({N, K / 2}, b.getI8Type(), w.packed.data(), w.packed.size());
  Value chScale = raw({N}, b.getF32Type(), w.sCh.data(), N * 4);
  Value grpScale, bias;
  IntegerAttr groupSize;
  if (w.groupSize > 0) {
    grpScale = raw({K / w.groupSize, N}, b.getF16Type(),
                   w.sGrpHalf.data.data(), w.sGrpHalf.data.size() * 2);
    groupSize = b.getI64IntegerAttr(w.groupSize);
  }
  if (!w.biasHalf.empty())
    bias = raw({N}, b.getF16Type(), w.biasHalf.data(), N * 2);
  auto layout = WeightLayoutAttr::get(
      b.getContext(),
      static_cast<WeightLayout>(static_cast<uint32_t>(w.layout)));
  return W4A8LinearOp::create(
      b, loc, resultType, quant.getOutput(), quant.getScale(), weight, chScale,
      grpScale, bias, layout, groupSize, b.getStringAttr(name),
      QuantSchemeAttr(), /*kernels=*/ArrayAttr(), /*parts=*/ArrayAttr(),
      /*part_sizes=*/DenseI64ArrayAttr());
}
