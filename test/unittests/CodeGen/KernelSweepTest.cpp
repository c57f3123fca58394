//===- KernelSweepTest.cpp - every template x target x CI config -> ptxas -===//
//
// The acceptance check of the code generator without a GPU: for each target
// (sm_90a, sm_80), every configuration of the catalog's CI sweep and the
// activation kernels are instantiated with NVRTC (cache off, so NVRTC really
// runs) and the PTX is assembled with ptxas for that target. The launch rules
// recorded for the manifest are compared with the catalog's geometry.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/KernelBuilder.h"
#include "qqq/CodeGen/PtxAssembler.h"

#include <gtest/gtest.h>

using namespace qqq::codegen;

namespace {

struct SweepCase {
  std::string arch;
  KernelFamily family;
  GemmShape shape;
  GemmConfig config; // GEMM only
  std::string name;
};

// gtest (and ctest's test names) print a case by its name.
void PrintTo(const SweepCase &c, std::ostream *os) { *os << c.name; }

std::vector<SweepCase> sweep() {
  std::vector<SweepCase> cases;
  for (const char *arch : {"sm_90a", "sm_80"}) {
    for (const auto &[shape, config] : ciSweep(arch)) {
      SweepCase c{arch, *gemmFamilyForArch(arch), shape, config, ""};
      c.name = std::string(familyName(c.family)) + "_N" +
               std::to_string(shape.N) + "_K" + std::to_string(shape.K) + "_G" +
               std::to_string(shape.groupSize) + "_maxm" +
               std::to_string(config.maxM) + "_tm" +
               std::to_string(config.tileM) + "_sk" +
               std::to_string(config.splitK) + "_w" +
               std::to_string(config.warps) +
               (config.streamK ? "_stk" + std::to_string(config.streamK) : "") +
               (config.tokenTilesFirst ? "_ttf" : "");
      cases.push_back(c);
    }
    for (KernelFamily f : {KernelFamily::QuantizeAct, KernelFamily::RmsNormQuantize})
      for (int64_t K : {4096, 11008}) {
        SweepCase c{arch, f, GemmShape{0, K, 0}, GemmConfig(), ""};
        c.name = std::string(familyName(f)) + "_K" + std::to_string(K) + "_" + arch;
        cases.push_back(c);
      }
  }
  return cases;
}

class KernelSweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(KernelSweep, NvrtcThenPtxas) {
  const SweepCase &c = GetParam();
  CompileOptions options;
  options.arch = c.arch;
  options.cacheDir = "off";
  bool gemm = c.family == KernelFamily::W4A8GemmSm90 ||
              c.family == KernelFamily::W4A8GemmSm80;
  llvm::Expected<GeneratedKernel> k =
      gemm ? generateGemmKernel(c.shape, c.config, options)
           : generateActivationKernel(c.family, c.shape.K, options);
  ASSERT_TRUE(!!k) << llvm::toString(k.takeError());
  EXPECT_NE(k->ptx.find(".entry " + k->launch.entry), std::string::npos);
  EXPECT_NE(k->ptx.find(".target " + c.arch), std::string::npos);
  std::string resources;
  llvm::Error e = assembleWithPtxas(k->ptx, c.arch, &resources);
  ASSERT_FALSE(!!e) << llvm::toString(std::move(e));
  // Local-memory spills make the kernels slow: report them in the log.
  if (resources.find(" 0 bytes spill stores") == std::string::npos)
    std::cout << "ptxas " << c.name << ":\n" << resources << "\n";
  // wgmma batches must stay asynchronous. ptxas says where it had to make
  // them wait: C7519 (warpgroup.arrive injected: a full wait before each
  // wgmma, as when the compiler sank the A-fragment widening into the
  // batch) and C7520 (wgmma serialized).
  if (c.family == KernelFamily::W4A8GemmSm90) {
    EXPECT_EQ(resources.find("C7519"), std::string::npos) << resources;
    EXPECT_EQ(resources.find("C7520"), std::string::npos) << resources;
  }
  // Only sm_90a stream-K leaves its partials as scratch; sm_80 split-K
  // leaves its whole workspace zero (Runtime.h, workspaces).
  EXPECT_EQ(k->launch.workspaceScratch,
            c.family == KernelFamily::W4A8GemmSm90 && c.config.streamK > 0);
  if (c.family == KernelFamily::W4A8GemmSm80 && c.config.splitK > 1) {
    EXPECT_GT(k->launch.workspaceBytes.evaluate(16), 0);
  }
  for (int64_t m : {1, 7, 16, 33, 64, 128, 1000, 4096}) {
    LaunchGeometry g = gemm ? launchGeometry(c.config, c.shape, m)
                            : activationGeometry(c.family, c.shape.K, m);
    for (int d = 0; d < 3; ++d) {
      EXPECT_EQ(k->launch.grid[d].evaluate(m), g.grid[d]) << "M = " << m;
      EXPECT_EQ(k->launch.block[d], g.block[d]);
    }
    EXPECT_EQ(k->launch.sharedBytes, g.sharedBytes);
    EXPECT_EQ(uint64_t(k->launch.workspaceBytes.evaluate(m)), g.workspaceBytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Catalog, KernelSweep, ::testing::ValuesIn(sweep()),
                         [](const ::testing::TestParamInfo<SweepCase> &info) {
                           return info.param.name;
                         });

} // namespace
