//===- RuntimeGpuTest.cpp - the runtime on a GPU (skipped without one) ----===//
//
// Compiles the test template scale_kernel.cuh with NVRTC, JIT-loads it
// through the C API and checks its output; loads broken PTX and checks the
// JIT log is surfaced. Skipped with a message where no GPU is present.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/NvrtcCompiler.h"
#include "qqq/Runtime/CudaDriver.h"
#include "qqq/Runtime/qqq_runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace qqq;

namespace {

struct Gpu : ::testing::Test {
  qqqRuntime *rt = nullptr;
  const runtime::CudaDriver *cu = nullptr;
  void SetUp() override {
    if (qqqRuntimeCreate(0, &rt) != QQQ_SUCCESS)
      GTEST_SKIP() << "no GPU: " << qqqLastError();
    std::string why;
    cu = runtime::CudaDriver::get(why);
    ASSERT_NE(cu, nullptr) << why;
  }
  void TearDown() override { qqqRuntimeDestroy(rt); }
};

uint16_t toHalf(int v) { // small integers are exact in f16
  float f = static_cast<float>(v);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000;
  int32_t exp = ((bits >> 23) & 0xff) - 127 + 15;
  uint32_t mant = (bits >> 13) & 0x3ff;
  if (v == 0)
    return 0;
  return static_cast<uint16_t>(sign | (exp << 10) | mant);
}

TEST_F(Gpu, LaunchesAnNvrtcKernel) {
  EXPECT_STRNE(qqqDeviceName(rt), "");
  codegen::CompileOptions o;
  o.arch = "sm_80"; // runs on sm_80 and newer
  o.templatesDir = QQQ_CODEGEN_TEST_INPUTS_DIR;
  o.cacheDir = "off";
  llvm::Expected<codegen::CompiledKernel> k = codegen::compileKernel(
      {"scale_kernel.cuh", "qqq_test::scale<3, 128>", {}}, o);
  ASSERT_TRUE(!!k) << llvm::toString(k.takeError());
  qqqKernel *kernel = nullptr;
  ASSERT_EQ(qqqLoadPtx(rt, k->ptx.c_str(), k->entryName.c_str(), 0, &kernel),
            QQQ_SUCCESS)
      << qqqLastError();

  const int n = 1000;
  std::vector<uint16_t> x(n), y(n, 0xFFFF);
  for (int i = 0; i < n; ++i)
    x[i] = toHalf(i % 50 - 25);
  CUdeviceptr dx = 0, dy = 0;
  ASSERT_EQ(cu->cuMemAlloc(&dx, n * 2), CUDA_SUCCESS);
  ASSERT_EQ(cu->cuMemAlloc(&dy, n * 2), CUDA_SUCCESS);
  ASSERT_EQ(cu->cuMemcpyHtoD(dx, x.data(), n * 2), CUDA_SUCCESS);
  int count = n;
  void *args[] = {&dx, &dy, &count};
  uint32_t grid[3] = {(n + 127) / 128, 1, 1}, block[3] = {128, 1, 1};
  ASSERT_EQ(qqqLaunchKernel(rt, kernel, grid, block, 0, args, nullptr),
            QQQ_SUCCESS)
      << qqqLastError();
  ASSERT_EQ(cu->cuCtxSynchronize(), CUDA_SUCCESS);
  ASSERT_EQ(cu->cuMemcpyDtoH(y.data(), dy, n * 2), CUDA_SUCCESS);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(y[i], toHalf(3 * (i % 50 - 25))) << "element " << i;
  cu->cuMemFree(dx);
  cu->cuMemFree(dy);
}

TEST_F(Gpu, JitErrorLogIsSurfaced) {
  qqqKernel *kernel = nullptr;
  const char *bad = ".version 8.0\n.target sm_80\n.address_size 64\n"
                    ".visible .entry f() { bogus_instruction; }\n";
  EXPECT_EQ(qqqLoadPtx(rt, bad, "f", 0, &kernel), QQQ_ERROR_CUDA);
  std::string message = qqqLastError();
  EXPECT_NE(message.find("cuModuleLoadDataEx"), std::string::npos) << message;
  EXPECT_NE(message.find("JIT log"), std::string::npos) << message;
  EXPECT_NE(message.find("bogus_instruction"), std::string::npos) << message;
}

TEST_F(Gpu, MissingBundleIsABundleError) {
  EXPECT_EQ(qqqLoadBundle(rt, "/nonexistent/bundle"), QQQ_ERROR_BUNDLE);
  EXPECT_NE(std::string(qqqLastError()).find("manifest.json"), std::string::npos);
}

} // namespace
