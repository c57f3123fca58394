//===- QQQAttrsTest.cpp - building qqq attributes and ops from C++ --------===//
#include "qqq/Dialect/QQQ/IR/QQQOps.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace qqq;

namespace {

class QQQDialectTest : public ::testing::Test {
protected:
  QQQDialectTest() {
    ctx.loadDialect<QQQDialect, func::FuncDialect>();
    // Keep verifier messages out of the test log; the tests inspect them.
    handler = std::make_unique<ScopedDiagnosticHandler>(
        &ctx, [this](Diagnostic &d) {
          lastError = d.str();
          return success();
        });
  }
  MLIRContext ctx;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::string lastError;
};

TEST_F(QQQDialectTest, SchemeRoundTripsThroughItsAccessors) {
  auto scheme = QuantSchemeAttr::get(&ctx, 4u, 8u, int64_t(128), true,
                                     QuantMethod::gptq, Preprocess::rotate);
  EXPECT_EQ(scheme.getWeightBits(), 4u);
  EXPECT_EQ(scheme.getGroupSize(), 128);
  EXPECT_EQ(scheme.getMethod(), QuantMethod::gptq);
  EXPECT_EQ(scheme.getPreprocess(), Preprocess::rotate);
  // Attributes are uniqued: the same parameters give the same attribute.
  EXPECT_EQ(scheme, QuantSchemeAttr::get(&ctx, 4u, 8u, int64_t(128), true,
                                         QuantMethod::gptq, Preprocess::rotate));
}

TEST_F(QQQDialectTest, SchemeRejectsGroupNotMultipleOf16) {
  auto bad = QuantSchemeAttr::getChecked(
      [&] { return emitError(UnknownLoc::get(&ctx)); }, &ctx, 4u, 8u, int64_t(100), true,
      QuantMethod::rtn, Preprocess::none);
  EXPECT_FALSE(bad);
  EXPECT_NE(lastError.find("multiple of 16"), std::string::npos) << lastError;
}

TEST_F(QQQDialectTest, KernelConfigRejectsZeroSplitK) {
  auto bad = KernelConfigAttr::getChecked(
      [&] { return emitError(UnknownLoc::get(&ctx)); }, &ctx,
      StringAttr::get(&ctx, "sm_90a"), int64_t(16), int64_t(16), int64_t(128),
      int64_t(128), int64_t(4), int64_t(4), int64_t(0), true, int64_t(0), false);
  EXPECT_FALSE(bad);
  EXPECT_NE(lastError.find("split_k"), std::string::npos) << lastError;
}

static std::string print(Attribute attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  attr.print(os);
  return text;
}

TEST_F(QQQDialectTest, KernelConfigStreamKRoundTripsAndDefaultIsOmitted) {
  auto arch = StringAttr::get(&ctx, "sm_90a");
  auto streamed = KernelConfigAttr::get(
      &ctx, arch, int64_t(64), int64_t(64), int64_t(128), int64_t(128),
      int64_t(4), int64_t(4), int64_t(1), true, int64_t(132), false);
  EXPECT_EQ(streamed.getStreamK(), 132);
  std::string text = print(streamed);
  EXPECT_NE(text.find(", stream_k = 132>"), std::string::npos) << text;
  EXPECT_EQ(parseAttribute(text, &ctx), streamed) << lastError;

  // 0 (off) is the default: not printed, and text without it parses to 0, so
  // configurations written before stream-K keep their form.
  auto plain = KernelConfigAttr::get(&ctx, arch, int64_t(64), int64_t(64),
                                     int64_t(128), int64_t(128), int64_t(4),
                                     int64_t(4), int64_t(1), true, int64_t(0),
                                     false);
  std::string plainText = print(plain);
  EXPECT_EQ(plainText.find("stream_k"), std::string::npos) << plainText;
  EXPECT_EQ(plainText, "#qqq.kernel<arch = \"sm_90a\", max_m = 64, tile_m = "
                       "64, tile_n = 128, tile_k = 128, stages = 4, warps = "
                       "4, split_k = 1, swap_ab = true>");
  auto parsed =
      dyn_cast_or_null<KernelConfigAttr>(parseAttribute(plainText, &ctx));
  ASSERT_TRUE(parsed) << lastError;
  EXPECT_EQ(parsed.getStreamK(), 0);
  EXPECT_FALSE(parsed.getTokenTilesFirst());
  EXPECT_EQ(parsed, plain);
}

TEST_F(QQQDialectTest, KernelConfigTokenTilesFirstRoundTrips) {
  auto arch = StringAttr::get(&ctx, "sm_90a");
  auto ordered = KernelConfigAttr::get(
      &ctx, arch, int64_t(256), int64_t(64), int64_t(128), int64_t(128),
      int64_t(4), int64_t(8), int64_t(2), true, int64_t(0), true);
  std::string text = print(ordered);
  EXPECT_NE(text.find("swap_ab = true, token_tiles_first = true>"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("stream_k"), std::string::npos) << text;
  auto parsed = dyn_cast_or_null<KernelConfigAttr>(parseAttribute(text, &ctx));
  ASSERT_TRUE(parsed) << lastError;
  EXPECT_TRUE(parsed.getTokenTilesFirst());
  EXPECT_EQ(parsed, ordered);
  // Stream-K orders its own tiles: the flag is rejected with it.
  EXPECT_FALSE(KernelConfigAttr::getChecked(
      [&] { return emitError(UnknownLoc::get(&ctx)); }, &ctx, arch,
      int64_t(256), int64_t(64), int64_t(128), int64_t(128), int64_t(4),
      int64_t(8), int64_t(1), true, int64_t(132), true));
  EXPECT_NE(lastError.find("token_tiles_first requires stream_k = 0"),
            std::string::npos)
      << lastError;
}

TEST_F(QQQDialectTest, KernelConfigRejectsBadStreamK) {
  auto arch = StringAttr::get(&ctx, "sm_90a");
  auto emit = [&] { return emitError(UnknownLoc::get(&ctx)); };
  EXPECT_FALSE(KernelConfigAttr::getChecked(
      emit, &ctx, arch, int64_t(0), int64_t(64), int64_t(128), int64_t(128),
      int64_t(4), int64_t(4), int64_t(1), true, int64_t(-1), false));
  EXPECT_NE(lastError.find("stream_k"), std::string::npos) << lastError;
  lastError.clear();
  // Stream-K and split-K both divide the K loop; only one at a time.
  EXPECT_FALSE(KernelConfigAttr::getChecked(
      emit, &ctx, arch, int64_t(0), int64_t(64), int64_t(128), int64_t(128),
      int64_t(4), int64_t(4), int64_t(2), true, int64_t(132), false));
  EXPECT_NE(lastError.find("stream_k"), std::string::npos) << lastError;
  EXPECT_NE(lastError.find("split_k = 1"), std::string::npos) << lastError;
}

TEST_F(QQQDialectTest, BuiltW4A8LinearVerifiesAndReportsShapes) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  auto module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module.getBody());
  auto i8 = b.getIntegerType(8);
  auto x = RankedTensorType::get({7, 256}, i8);
  auto xs = RankedTensorType::get({7, 1}, b.getF32Type());
  auto w = RankedTensorType::get({64, 128}, i8);
  auto sch = RankedTensorType::get({64}, b.getF32Type());
  auto sg = RankedTensorType::get({2, 64}, b.getF16Type());
  auto y = RankedTensorType::get({7, 64}, b.getF16Type());
  auto fn = func::FuncOp::create(b, loc, "f",
                                 b.getFunctionType({x, xs, w, sch, sg}, {y}));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToEnd(body);
  auto op = W4A8LinearOp::create(
      b, loc, y, body->getArgument(0), body->getArgument(1),
      body->getArgument(2), body->getArgument(3), body->getArgument(4),
      /*bias=*/Value(), WeightLayoutAttr::get(&ctx, WeightLayout::row_major),
      b.getI64IntegerAttr(128), b.getStringAttr("layers.0.q_proj"),
      /*scheme=*/nullptr, /*kernels=*/nullptr, /*parts=*/nullptr,
      /*part_sizes=*/nullptr);
  func::ReturnOp::create(b, loc, op.getResult());
  EXPECT_TRUE(succeeded(verify(module))) << lastError;
  EXPECT_EQ(op.getInFeatures(), 256);
  EXPECT_EQ(op.getOutFeatures(), 64);
  EXPECT_TRUE(op.isPerGroup());

  // A group size that does not divide K must be rejected.
  op.setGroupSizeAttr(b.getI64IntegerAttr(96));
  EXPECT_TRUE(failed(verify(module)));
  EXPECT_NE(lastError.find("does not divide K"), std::string::npos) << lastError;
  module->erase();
}

TEST_F(QQQDialectTest, ParsesAndPrintsLinear) {
  const char *src = R"mlir(
    func.func @f(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x4xf32> {
      %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"}
          : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
      return %y : tensor<3x4xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(src, &ctx);
  ASSERT_TRUE(module) << lastError;
  LinearOp lin;
  module->walk([&](LinearOp op) { lin = op; });
  ASSERT_TRUE(lin);
  EXPECT_EQ(lin.getInFeatures(), 8);
  EXPECT_EQ(lin.getOutFeatures(), 4);
  EXPECT_EQ(lin.getInputName(), "x");
}

} // namespace
