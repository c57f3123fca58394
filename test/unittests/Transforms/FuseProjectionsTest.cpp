//===- FuseProjectionsTest.cpp - fused GEMM == the separate layers --------===//
//
// Builds `quantize_act → three w4a8_linear` (q/k/v-like widths 128, 64, 64)
// from random weights, exports it to ONNX, runs qqq-fuse-projections,
// exports again, and runs both models in stock ONNX Runtime: every output
// of the fused model (a Slice of the one fused MatMulInteger + epilogue)
// must equal the unfused one bit for bit, and both the numerics reference
// GEMM of each separate layer. Per channel and per group, with and without
// bias, in each weight layout this build can pack (the pass unpacks,
// concatenates and re-packs the int4 weights).
//
//===----------------------------------------------------------------------===//
#include "OrtRunner.h"
#include "W4A8TestLayers.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Export/OnnxExport.h"
#include "qqq/Numerics/ReferenceGemm.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace mlir;
using namespace qqq;
using numerics::Matrix;

namespace {

struct Case {
  int64_t groupSize;
  bool bias;
  numerics::WeightLayout layout;
};

constexpr int64_t kK = 256;
constexpr int64_t kWidths[] = {128, 64, 64};
constexpr const char *kNames[] = {"layers.0.self_attn.q_proj",
                                  "layers.0.self_attn.k_proj",
                                  "layers.0.self_attn.v_proj"};

/// func @main(%x: ?xK f32) -> one ?xN_i f16 per weight, all reading one
/// quantize_act.
OwningOpRef<ModuleOp> buildModule(MLIRContext &ctx,
                                  ArrayRef<numerics::PackedW4Weight> weights) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  int64_t dyn = ShapedType::kDynamic;
  SmallVector<Type> results;
  for (const numerics::PackedW4Weight &w : weights)
    results.push_back(RankedTensorType::get({dyn, w.N}, b.getF16Type()));
  auto fn = func::FuncOp::create(
      b, loc, "main",
      b.getFunctionType({RankedTensorType::get({dyn, kK}, b.getF32Type())},
                        results));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  auto quant = QuantizeActOp::create(
      b, loc, RankedTensorType::get({dyn, kK}, b.getI8Type()),
      RankedTensorType::get({dyn, 1}, b.getF32Type()), body->getArgument(0));
  SmallVector<Value> ys;
  for (auto [i, w] : llvm::enumerate(weights))
    ys.push_back(
        testlayers::addLinear(b, loc, quant, w, results[i], kNames[i])
            .getResult());
  func::ReturnOp::create(b, loc, ys);
  return module;
}

bool sameBits(float a, float b) {
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

class FuseProjections : public ::testing::TestWithParam<Case> {};

TEST_P(FuseProjections, FusedOnnxEqualsSeparateLayersBitForBit) {
  if (!ort::haveOnnxRuntime())
    GTEST_SKIP() << "python3 with onnxruntime and numpy is not available";
  const Case c = GetParam();
  std::mt19937 rng(5 + c.groupSize + 2 * c.bias + 4 * int(c.layout));
  std::vector<numerics::PackedW4Weight> weights;
  for (int64_t n : kWidths) {
    weights.push_back(
        testlayers::randomWeight(c.layout, n, kK, c.groupSize, c.bias, rng));
    if (weights.back().packed.empty())
      GTEST_SKIP() << "layout not available in this build";
  }
  const int64_t M = 23;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Matrix<float> x(M, kK);
  for (float &v : x.data)
    v = nd(rng);
  for (int64_t k = 0; k < kK; ++k)
    x.at(0, k) = 0.0f; // a zero row: exactly the bias

  MLIRContext ctx;
  ctx.loadDialect<QQQDialect, arith::ArithDialect, func::FuncDialect,
                  tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module = buildModule(ctx, weights);
  ASSERT_TRUE(succeeded(mlir::verify(*module)));
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("qqq-fuse", dir));
  std::string separate = (dir + "/separate.onnx").str(),
              fused = (dir + "/fused.onnx").str();
  registerW4A8ToOnnxExporters();
  ASSERT_TRUE(succeeded(exportOnnxModel(*module, separate)));

  PassManager pm(&ctx);
  pm.addPass(createQQQFuseProjectionsPass());
  ASSERT_TRUE(succeeded(pm.run(*module)));
  SmallVector<W4A8LinearOp> linears;
  module->walk([&](W4A8LinearOp op) { linears.push_back(op); });
  ASSERT_EQ(linears.size(), 1u);
  EXPECT_EQ(linears[0].getLayerName(),
            "layers.0.self_attn.q_proj+k_proj+v_proj");
  EXPECT_EQ(linears[0].getOutFeatures(), 256);
  EXPECT_EQ(llvm::to_vector(*linears[0].getPartSizes()),
            (SmallVector<int64_t>{128, 64, 64}));
  ASSERT_TRUE(succeeded(exportOnnxModel(*module, fused)));

  std::vector<Matrix<float>> ySeparate, yFused;
  ASSERT_TRUE(ort::runOrt(dir.str().str(), separate, x, ySeparate));
  ASSERT_TRUE(ort::runOrt(dir.str().str(), fused, x, yFused));
  ASSERT_EQ(ySeparate.size(), 3u);
  ASSERT_EQ(yFused.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    Matrix<float> ref;
    ASSERT_EQ(numerics::referenceW4A8Linear(x, weights[i], ref), "");
    ASSERT_EQ(yFused[i].data.size(), ref.data.size());
    int64_t mismatches = 0;
    for (int64_t j = 0; j < ref.size(); ++j)
      if (!sameBits(yFused[i].data[j], ySeparate[i].data[j]) ||
          !sameBits(ySeparate[i].data[j], ref.data[j]))
        if (mismatches++ < 5)
          ADD_FAILURE() << kNames[i] << " y[" << j / weights[i].N << ","
                        << j % weights[i].N << "]: fused "
                        << yFused[i].data[j] << ", separate "
                        << ySeparate[i].data[j] << ", reference "
                        << ref.data[j];
    EXPECT_EQ(mismatches, 0) << kNames[i];
  }
  if (HasFailure())
    ADD_FAILURE() << "models and inputs kept in " << dir.str().str();
  else
    llvm::sys::fs::remove_directories(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FuseProjections,
    ::testing::Values(Case{0, false, numerics::WeightLayout::RowMajor},
                      Case{128, true, numerics::WeightLayout::RowMajor},
                      Case{0, true, numerics::WeightLayout::Sm90Interleaved},
                      Case{128, false, numerics::WeightLayout::Sm90Interleaved},
                      Case{64, true, numerics::WeightLayout::Sm80Interleaved}));

} // namespace
