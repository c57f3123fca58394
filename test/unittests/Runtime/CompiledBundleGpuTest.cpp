//===- CompiledBundleGpuTest.cpp - qqq-compile's bundles on a GPU ---------===//
//
// The whole compiler path on the GPU: bundles written by `qqq-compile
// --bundle sm_90a` from one model, once with qqq-fuse-projections (the
// default; $QQQ_TEST_BUNDLE) and once without ($QQQ_TEST_BUNDLE_UNFUSED);
// test/gpu/make_compiled_bundles.sh writes both. Every linear layer of the
// fused bundle, launched with qqqLaunchLinear, must equal
// numerics::referenceW4A8Gemm of the bundle's own tensors bit for bit, and
// each part of a fused layer (found with qqqFindLayerPart) must equal the
// unfused bundle's layer of that name, same input, bit for bit. Skipped
// without a GPU or without the bundles.
//
//===----------------------------------------------------------------------===//
#include "qqq/Numerics/ReferenceGemm.h"
#include "qqq/Runtime/CudaDriver.h"
#include "qqq/Runtime/Runtime.h"
#include "qqq/Runtime/qqq_runtime.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>

using namespace qqq;
namespace nm = qqq::numerics;

namespace {

constexpr int64_t kMs[] = {1, 16, 33, 130};

/// The raw bytes of tensor `arg` of `layer`, empty when it has none.
std::vector<char> readTensor(const std::string &dir,
                             const runtime::LayerEntry &layer,
                             const std::string &arg) {
  auto it = layer.tensors.find(arg);
  if (it == layer.tensors.end())
    return {};
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, it->second.file);
  auto buf = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(!!buf) << path.str().str();
  if (!buf)
    return {};
  return std::vector<char>((*buf)->getBufferStart(), (*buf)->getBufferEnd());
}

/// The layer's weight as the reference GEMM reads it.
nm::PackedW4Weight weightOf(const std::string &dir,
                            const runtime::LayerEntry &layer) {
  nm::PackedW4Weight w;
  EXPECT_EQ(layer.layout, "sm90_interleaved") << layer.name;
  w.layout = nm::WeightLayout::Sm90Interleaved;
  w.N = layer.n;
  w.K = layer.k;
  w.groupSize = layer.groupSize;
  std::vector<char> packed = readTensor(dir, layer, "w_packed");
  w.packed.assign(packed.begin(), packed.end());
  std::vector<char> sCh = readTensor(dir, layer, "s_ch");
  w.sCh.resize(sCh.size() / 4);
  std::memcpy(w.sCh.data(), sCh.data(), sCh.size());
  if (std::vector<char> g = readTensor(dir, layer, "s_grp"); !g.empty()) {
    w.sGrpHalf = nm::Matrix<uint16_t>(layer.k / layer.groupSize, layer.n);
    std::memcpy(w.sGrpHalf.data.data(), g.data(), g.size());
  }
  if (std::vector<char> b = readTensor(dir, layer, "bias"); !b.empty()) {
    w.biasHalf.resize(b.size() / 2);
    std::memcpy(w.biasHalf.data(), b.data(), b.size());
  }
  return w;
}

class CompiledBundleGpu : public ::testing::Test {
protected:
  std::string fusedDir, unfusedDir;
  qqqRuntime *rt = nullptr;
  const runtime::CudaDriver *cu = nullptr;
  CUdeviceptr dx = 0, ds = 0, dy = 0;
  static constexpr int64_t kMaxBytes = 1 << 22;

  void SetUp() override {
    const char *f = std::getenv("QQQ_TEST_BUNDLE");
    const char *u = std::getenv("QQQ_TEST_BUNDLE_UNFUSED");
    if (!f || !u)
      GTEST_SKIP() << "set QQQ_TEST_BUNDLE and QQQ_TEST_BUNDLE_UNFUSED to the "
                      "bundles test/gpu/make_compiled_bundles.sh writes";
    fusedDir = f;
    unfusedDir = u;
    if (qqqRuntimeCreate(0, &rt) != QQQ_SUCCESS)
      GTEST_SKIP() << "no GPU: " << qqqLastError();
    std::string why;
    cu = runtime::CudaDriver::get(why);
    ASSERT_NE(cu, nullptr) << why;
    ASSERT_EQ(cu->cuMemAlloc(&dx, kMaxBytes), CUDA_SUCCESS);
    ASSERT_EQ(cu->cuMemAlloc(&ds, kMaxBytes), CUDA_SUCCESS);
    ASSERT_EQ(cu->cuMemAlloc(&dy, kMaxBytes), CUDA_SUCCESS);
  }
  void TearDown() override {
    if (cu) {
      cu->cuMemFree(dx);
      cu->cuMemFree(ds);
      cu->cuMemFree(dy);
    }
    qqqRuntimeDestroy(rt);
  }

  /// y (M x N f16 bits) of layer `index` of `runtime` for x, sTok.
  std::vector<uint16_t> launch(qqqRuntime *runtime, int index, int64_t N,
                               const nm::Matrix<int8_t> &x,
                               const std::vector<float> &sTok) {
    std::vector<uint16_t> y(x.rows * N, 0x7E00); // NaN: unwritten shows
    EXPECT_LE(int64_t(y.size() * 2), kMaxBytes);
    EXPECT_EQ(cu->cuMemcpyHtoD(dx, x.data.data(), x.data.size()), CUDA_SUCCESS);
    EXPECT_EQ(cu->cuMemcpyHtoD(ds, sTok.data(), sTok.size() * 4), CUDA_SUCCESS);
    EXPECT_EQ(cu->cuMemcpyHtoD(dy, y.data(), y.size() * 2), CUDA_SUCCESS);
    EXPECT_EQ(qqqLaunchLinear(runtime, index, x.rows, dx, ds, dy, nullptr),
              QQQ_SUCCESS)
        << qqqLastError();
    EXPECT_EQ(cu->cuCtxSynchronize(), CUDA_SUCCESS);
    EXPECT_EQ(cu->cuMemcpyDtoH(y.data(), dy, y.size() * 2), CUDA_SUCCESS);
    return y;
  }
};

void randomInput(int64_t M, int64_t K, std::mt19937 &rng, nm::Matrix<int8_t> &x,
                 std::vector<float> &sTok) {
  x = nm::Matrix<int8_t>(M, K);
  std::uniform_int_distribution<int> act(-127, 127);
  for (int8_t &v : x.data)
    v = static_cast<int8_t>(act(rng));
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  sTok.assign(M, 0.0f);
  for (float &s : sTok)
    s = 0.01f * unit(rng);
}

TEST_F(CompiledBundleGpu, EveryLinearMatchesTheReference) {
  llvm::Expected<runtime::BundleManifest> m = runtime::readBundle(fusedDir);
  ASSERT_TRUE(!!m) << llvm::toString(m.takeError());
  ASSERT_EQ(qqqLoadBundle(rt, fusedDir.c_str()), QQQ_SUCCESS) << qqqLastError();
  std::mt19937 rng(77);
  int linears = 0, fused = 0;
  for (const runtime::LayerEntry &layer : m->layers) {
    if (layer.kind != "w4a8_linear")
      continue;
    ++linears;
    fused += !layer.parts.empty();
    int index = qqqFindLayer(rt, layer.name.c_str());
    ASSERT_GE(index, 0) << layer.name;
    nm::PackedW4Weight w = weightOf(fusedDir, layer);
    for (int64_t M : kMs) {
      nm::Matrix<int8_t> x;
      std::vector<float> sTok;
      randomInput(M, layer.k, rng, x, sTok);
      nm::Matrix<uint16_t> expected;
      ASSERT_EQ(nm::referenceW4A8Gemm(x, sTok, w, expected), "");
      std::vector<uint16_t> y = launch(rt, index, layer.n, x, sTok);
      int64_t bad = 0;
      for (size_t i = 0; i < y.size(); ++i)
        if (y[i] != expected.data[i] && bad++ < 3)
          ADD_FAILURE() << layer.name << " M = " << M << " y[" << i / layer.n
                        << ", " << i % layer.n << "] = 0x" << std::hex << y[i]
                        << " expected 0x" << expected.data[i] << std::dec;
      EXPECT_EQ(bad, 0) << layer.name << " M = " << M;
    }
  }
  EXPECT_GT(linears, 0);
  EXPECT_GT(fused, 0) << "the bundle has no fused layer: was it compiled "
                         "with --fuse-projections=false?";
}

TEST_F(CompiledBundleGpu, FusedPartsEqualTheSeparateLayers) {
  llvm::Expected<runtime::BundleManifest> m = runtime::readBundle(fusedDir);
  ASSERT_TRUE(!!m) << llvm::toString(m.takeError());
  ASSERT_EQ(qqqLoadBundle(rt, fusedDir.c_str()), QQQ_SUCCESS) << qqqLastError();
  qqqRuntime *separate = nullptr;
  ASSERT_EQ(qqqRuntimeCreate(0, &separate), QQQ_SUCCESS) << qqqLastError();
  ASSERT_EQ(qqqLoadBundle(separate, unfusedDir.c_str()), QQQ_SUCCESS)
      << qqqLastError();
  std::mt19937 rng(78);
  int parts = 0;
  for (const runtime::LayerEntry &layer : m->layers) {
    if (layer.parts.empty())
      continue;
    int index = qqqFindLayer(rt, layer.name.c_str());
    for (int64_t M : kMs) {
      nm::Matrix<int8_t> x;
      std::vector<float> sTok;
      randomInput(M, layer.k, rng, x, sTok);
      std::vector<uint16_t> yFused = launch(rt, index, layer.n, x, sTok);
      for (const runtime::LayerPart &part : layer.parts) {
        int64_t offset = -1, columns = -1;
        ASSERT_EQ(qqqFindLayerPart(rt, part.name.c_str(), &offset, &columns),
                  index)
            << part.name;
        EXPECT_EQ(offset, part.offset);
        ASSERT_EQ(columns, part.n);
        int alone = qqqFindLayer(separate, part.name.c_str());
        ASSERT_GE(alone, 0) << part.name << " is not in the unfused bundle";
        std::vector<uint16_t> ySep = launch(separate, alone, part.n, x, sTok);
        int64_t bad = 0;
        for (int64_t r = 0; r < M; ++r)
          for (int64_t c = 0; c < part.n; ++c)
            if (yFused[r * layer.n + offset + c] != ySep[r * part.n + c] &&
                bad++ < 3)
              ADD_FAILURE() << part.name << " M = " << M << " [" << r << ", "
                            << c << "]: fused 0x" << std::hex
                            << yFused[r * layer.n + offset + c]
                            << ", separate 0x" << ySep[r * part.n + c]
                            << std::dec;
        EXPECT_EQ(bad, 0) << part.name << " M = " << M;
        parts += M == kMs[0];
      }
    }
  }
  EXPECT_GT(parts, 0) << "no fused layer in " << fusedDir;
  qqqRuntimeDestroy(separate);
}

} // namespace
