//===- KernelBuilderTest.cpp - launch rules as functions of M -------------===//
#include "qqq/CodeGen/KernelBuilder.h"

#include <gtest/gtest.h>

using namespace qqq::codegen;
using qqq::runtime::MExpr;

namespace {

MExpr fit(llvm::function_ref<int64_t(int64_t)> f) {
  llvm::Expected<MExpr> e = fitMExpr(f, "test quantity");
  EXPECT_TRUE(!!e) << llvm::toString(e.takeError());
  return e ? *e : MExpr();
}

TEST(FitMExpr, ConstantCeilDivAndIdentity) {
  EXPECT_EQ(fit([](int64_t) { return 7; }), MExpr::constant(7));
  MExpr tiles = fit([](int64_t m) { return 3 * ((m + 15) / 16) + 2; });
  EXPECT_EQ(tiles, (MExpr{3, 16, 2}));
  EXPECT_EQ(tiles.evaluate(1), 5);
  EXPECT_EQ(tiles.evaluate(16), 5);
  EXPECT_EQ(tiles.evaluate(17), 8);
  EXPECT_EQ(fit([](int64_t m) { return m; }), (MExpr{1, 1, 0}));
}

TEST(FitMExpr, RejectsOtherForms) {
  llvm::Expected<MExpr> e = fitMExpr([](int64_t m) { return m * m; }, "M squared");
  ASSERT_FALSE(!!e);
  EXPECT_NE(llvm::toString(e.takeError()).find("M squared"), std::string::npos);
  // Changes only beyond the scanned range are caught by the large samples.
  llvm::Expected<MExpr> late =
      fitMExpr([](int64_t m) { return m > 50000 ? 2 : 1; }, "late step");
  ASSERT_FALSE(!!late);
  llvm::consumeError(late.takeError());
}

TEST(FitMExpr, MatchesTheCatalogGemmGeometry) {
  GemmShape shape{4096, 4096, 128};
  for (int64_t bucket : mBuckets()) {
    GemmConfig c = defaultConfig(shape, bucket, "sm_90a");
    ASSERT_FALSE(whyInvalid(c, shape).has_value());
    for (int d = 0; d < 3; ++d) {
      MExpr g = fit([&](int64_t m) { return int64_t(launchGeometry(c, shape, m).grid[d]); });
      for (int64_t m : {1, 7, 16, 33, 64, 128, 1000, 4096})
        EXPECT_EQ(g.evaluate(m), launchGeometry(c, shape, m).grid[d]);
    }
    MExpr ws = fit([&](int64_t m) { return int64_t(launchGeometry(c, shape, m).workspaceBytes); });
    for (int64_t m : {1, 33, 1000, 4096})
      EXPECT_EQ(uint64_t(ws.evaluate(m)), launchGeometry(c, shape, m).workspaceBytes);
  }
}

TEST(KernelBuilder, InvalidConfigurationIsAnErrorNamingTheReason) {
  GemmShape shape{100, 4096, 0}; // N not a multiple of any tile_n
  GemmConfig c = defaultConfig({4096, 4096, 0}, 16, "sm_90a");
  llvm::Expected<GeneratedKernel> k = generateGemmKernel(shape, c);
  ASSERT_FALSE(!!k);
  std::string message = llvm::toString(k.takeError());
  EXPECT_NE(message.find("N = 100"), std::string::npos) << message;
  llvm::Expected<GeneratedKernel> a =
      generateActivationKernel(KernelFamily::QuantizeAct, 12);
  ASSERT_FALSE(!!a);
  EXPECT_NE(llvm::toString(a.takeError()).find("K = 12"), std::string::npos);
}

TEST(KernelBuilder, ArgumentNamesFollowTheCatalog) {
  EXPECT_EQ(gemmArgumentNames(KernelFamily::W4A8GemmSm80).size(), 9u);
  EXPECT_EQ(gemmArgumentNames(KernelFamily::W4A8GemmSm80).front(), "x");
  EXPECT_EQ(gemmArgumentNames(KernelFamily::W4A8GemmSm80).back(), "workspace");
  EXPECT_EQ(gemmArgumentNames(KernelFamily::W4A8GemmSm90).size(), 10u);
  EXPECT_EQ(gemmArgumentNames(KernelFamily::W4A8GemmSm90).back(), "x_map");
  EXPECT_EQ(activationArgumentNames(KernelFamily::RmsNormQuantize)[2], "epsilon");
}

} // namespace
