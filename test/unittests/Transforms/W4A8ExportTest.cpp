//===- W4A8ExportTest.cpp - exported W4A8 ONNX == numerics reference GEMM -===//
//
// Builds `quantize_act → w4a8_linear` modules from random weights (per
// channel and per group, with and without bias, f16 and f32 results, each
// weight layout this build can pack), exports them with the W4A8 hooks,
// runs the ONNX model in stock ONNX Runtime (python3 subprocess) on random
// inputs that include a zero row and extreme values, and requires every
// output to equal numerics::referenceW4A8Linear bit for bit.
//
//===----------------------------------------------------------------------===//
#include "OrtRunner.h"
#include "W4A8TestLayers.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Export/OnnxExport.h"
#include "qqq/Export/W4A8ToOnnx.h"
#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/ReferenceGemm.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

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
  bool f32Result;
  numerics::WeightLayout layout;
};

/// Builds the module: func @main(%x: ?xK f32) -> ?xN {f16|f32}.
OwningOpRef<ModuleOp> buildModule(MLIRContext &ctx, const Case &c,
                                  const numerics::PackedW4Weight &w) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  int64_t K = w.K, N = w.N, dyn = ShapedType::kDynamic;
  auto xT = RankedTensorType::get({dyn, K}, b.getF32Type());
  auto yT = RankedTensorType::get(
      {dyn, N}, c.f32Result ? Type(b.getF32Type()) : Type(b.getF16Type()));
  auto fn = func::FuncOp::create(b, loc, "main",
                                 b.getFunctionType({xT}, {yT}));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  auto qT = RankedTensorType::get({dyn, K}, b.getI8Type());
  auto sT = RankedTensorType::get({dyn, 1}, b.getF32Type());
  auto quant = QuantizeActOp::create(b, loc, qT, sT, body->getArgument(0));
  auto lin = testlayers::addLinear(b, loc, quant, w, yT, "layers.0.proj");
  func::ReturnOp::create(b, loc, lin.getResult());
  return module;
}

class W4A8Export : public ::testing::TestWithParam<Case> {};

TEST_P(W4A8Export, OrtEqualsReferenceGemmBitForBit) {
  if (!ort::haveOnnxRuntime())
    GTEST_SKIP() << "python3 with onnxruntime and numpy is not available";
  const Case c = GetParam();
  const int64_t M = 37, K = 256, N = 128;
  std::mt19937 rng(11 + c.groupSize + 2 * c.bias + 4 * c.f32Result +
                   8 * int(c.layout));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  numerics::PackedW4Weight w =
      testlayers::randomWeight(c.layout, N, K, c.groupSize, c.bias, rng);
  if (w.packed.empty())
    GTEST_SKIP() << "layout not available in this build";

  Matrix<float> x(M, K);
  for (float &v : x.data)
    v = nd(rng);
  for (int64_t k = 0; k < K; ++k) {
    x.at(0, k) = 0.0f;               // a zero row: scale 0, q = 0
    x.at(1, k) *= 1000.0f;           // large values
    x.at(2, k) = (k % 7 == 0) ? 127.5f : 0.5f; // ties of the rounding
  }
  x.at(3, 5) = -3000.0f;             // one outlier in a row

  MLIRContext ctx;
  ctx.loadDialect<QQQDialect, arith::ArithDialect, func::FuncDialect>();
  OwningOpRef<ModuleOp> module = buildModule(ctx, c, w);
  ASSERT_TRUE(succeeded(mlir::verify(*module)));

  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("qqq-w4a8-export", dir));
  std::string model = (dir + "/model.onnx").str();
  registerW4A8ToOnnxExporters();
  ASSERT_TRUE(succeeded(exportOnnxModel(*module, model)));

  std::vector<Matrix<float>> outputs;
  ASSERT_TRUE(ort::runOrt(dir.str().str(), model, x, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  const Matrix<float> &got = outputs[0];
  Matrix<float> ref;
  ASSERT_EQ(numerics::referenceW4A8Linear(x, w, ref), "");
  int64_t mismatches = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &ref.data[i], 4);
    std::memcpy(&b, &got.data[i], 4);
    if (a != b && mismatches++ < 5)
      ADD_FAILURE() << "y[" << i / N << "," << i % N << "]: ORT " << got.data[i]
                    << " vs reference " << ref.data[i];
  }
  EXPECT_EQ(mismatches, 0);
  // The zero row stays exactly the bias (or zero).
  for (int64_t n = 0; n < N; ++n)
    EXPECT_EQ(got.at(0, n), c.bias ? numerics::halfBitsToFloat(w.biasHalf[n])
                                   : 0.0f);
  if (HasFailure())
    ADD_FAILURE() << "model and inputs kept in " << dir.str().str();
  else
    llvm::sys::fs::remove_directories(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, W4A8Export,
    ::testing::Values(
        Case{0, false, false, numerics::WeightLayout::RowMajor},
        Case{0, true, true, numerics::WeightLayout::RowMajor},
        Case{128, false, true, numerics::WeightLayout::RowMajor},
        Case{64, true, false, numerics::WeightLayout::RowMajor},
        Case{0, true, false, numerics::WeightLayout::Sm90Interleaved},
        Case{128, true, true, numerics::WeightLayout::Sm90Interleaved},
        Case{128, false, false, numerics::WeightLayout::Sm80Interleaved}));

} // namespace
