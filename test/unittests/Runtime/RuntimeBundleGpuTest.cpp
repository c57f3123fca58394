//===- RuntimeBundleGpuTest.cpp - bundle -> qqqLaunchLinear on a GPU ------===//
//
// The runtime's whole path on the GPU: kernels generated for a shape
// (KernelBuilder, the catalog's default configurations for M buckets 16 and
// unbounded), weights packed in the kernel layout by the numerics library, a
// bundle directory written with the manifest code the exporter uses, loaded
// with qqqLoadBundle and launched with qqqLaunchLinear for several M; the f16
// output must equal numerics::referenceW4A8Gemm bit for bit (the catalog's
// contract), poisoned outputs catch unwritten elements. Skipped without GPU.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/KernelBuilder.h"
#include "qqq/Numerics/Half.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/Quantizers.h"
#include "qqq/Numerics/ReferenceGemm.h"
#include "qqq/Runtime/BundleManifest.h"
#include "qqq/Runtime/CudaDriver.h"
#include "qqq/Runtime/qqq_runtime.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <random>

using namespace qqq;
namespace nm = qqq::numerics;

namespace {

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("qqq-rt-bundle", path)); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  void write(const std::string &rel, const void *data, size_t size) {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, rel);
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(p));
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    ASSERT_FALSE(ec) << p.str().str();
    os.write(static_cast<const char *>(data), size);
  }
};

struct Case {
  int64_t N, K, G;
  bool bias;
};

void PrintTo(const Case &c, std::ostream *os) {
  *os << "N" << c.N << " K" << c.K << " G" << c.G << (c.bias ? " bias" : "");
}

class BundleGpu : public ::testing::TestWithParam<Case> {
protected:
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

/// "sm_90a" on Hopper and newer, else "sm_80".
std::string deviceArch(const runtime::CudaDriver *cu) {
  int major = 0;
  CUdevice dev;
  EXPECT_EQ(cu->cuDeviceGet(&dev, 0), CUDA_SUCCESS);
  EXPECT_EQ(cu->cuDeviceGetAttribute(
                &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
            CUDA_SUCCESS);
  return major >= 9 ? "sm_90a" : "sm_80";
}

/// A layer of random weights for `c`, packed for `arch`, written with its
/// kernels (the default configurations for M buckets 16 and unbounded, and
/// for M <= 64 the stream-K form of the default on sm_90a) into
/// a bundle in `dir`; `quantizeK` > 0 adds a quantize_act layer of that K.
void writeBundle(const Case &c, const std::string &arch, std::mt19937 &rng,
                 TempDir &dir, nm::PackedW4Weight &w, int64_t quantizeK = 0) {
  nm::WeightLayout layout = arch == "sm_90a" ? nm::WeightLayout::Sm90Interleaved
                                             : nm::WeightLayout::Sm80Interleaved;
  // Weights: int4 codes (never all zero), per-channel / group scales, bias.
  nm::Matrix<int8_t> q(c.N, c.K);
  std::uniform_int_distribution<int> code(c.G ? -8 : -7, 7);
  for (int8_t &v : q.data)
    v = static_cast<int8_t>(code(rng));
  w = nm::PackedW4Weight();
  w.layout = layout;
  w.N = c.N;
  w.K = c.K;
  w.groupSize = c.G;
  ASSERT_EQ(nm::packWeights(layout, q, w.packed), "");
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  w.sCh.resize(c.N);
  for (float &s : w.sCh)
    s = 0.001f * unit(rng);
  if (c.G) {
    w.sGrpHalf = nm::Matrix<uint16_t>(c.K / c.G, c.N);
    std::uniform_real_distribution<float> grp(1.0f, 15.0f); // |q*s| <= 120
    for (uint16_t &h : w.sGrpHalf.data)
      h = nm::floatToHalfBits(grp(rng));
  }
  if (c.bias) {
    w.biasHalf.resize(c.N);
    for (uint16_t &h : w.biasHalf)
      h = nm::floatToHalfBits(unit(rng) - 1.0f);
  }

  // The bundle: kernels for buckets 16, 64 and unbounded, tensors, manifest.
  runtime::BundleManifest m;
  m.arch = arch;
  runtime::LayerEntry layer;
  layer.name = "layers.0.test_proj";
  layer.kind = "w4a8_linear";
  layer.n = c.N;
  layer.k = c.K;
  layer.groupSize = c.G;
  layer.layout = nm::weightLayoutName(layout);
  // A generated kernel's PTX file and manifest entry; returns its name.
  auto addKernel = [&](const codegen::GeneratedKernel &k) {
    runtime::KernelEntry e = k.launch;
    e.name = "k" + std::to_string(m.kernels.size());
    e.ptxFile = "kernels/" + e.name + ".ptx";
    dir.write(e.ptxFile, k.ptx.data(), k.ptx.size());
    m.kernels.push_back(e);
    return e.name;
  };
  codegen::GemmShape shape{c.N, c.K, c.G};
  for (int64_t bucket : {int64_t(16), int64_t(64), int64_t(0)}) {
    codegen::GemmConfig config = codegen::defaultConfig(shape, bucket, arch);
    // Stream-K: a persistent grid sharing the runtime's workspace.
    codegen::GemmConfig streamK = config;
    streamK.splitK = 1;
    streamK.streamK = 132;
    if (bucket == 64 && !codegen::whyInvalid(streamK, shape))
      config = streamK;
    llvm::Expected<codegen::GeneratedKernel> k =
        codegen::generateGemmKernel(shape, config);
    ASSERT_TRUE(!!k) << llvm::toString(k.takeError());
    layer.buckets.push_back(runtime::Bucket{bucket, addKernel(*k)});
  }
  auto tensor = [&](const std::string &arg, const std::string &dtype,
                    std::vector<int64_t> shape, const void *data, size_t size) {
    runtime::TensorFile t{"tensors/" + arg + ".bin", dtype, shape};
    dir.write(t.file, data, size);
    layer.tensors[arg] = t;
  };
  tensor("w_packed", "u8", {c.N, c.K / 2}, w.packed.data(), w.packed.size());
  tensor("s_ch", "f32", {c.N}, w.sCh.data(), w.sCh.size() * 4);
  if (c.G)
    tensor("s_grp", "f16", {c.K / c.G, c.N}, w.sGrpHalf.data.data(),
           w.sGrpHalf.data.size() * 2);
  if (c.bias)
    tensor("bias", "f16", {c.N}, w.biasHalf.data(), w.biasHalf.size() * 2);
  m.layers.push_back(layer);
  if (quantizeK > 0) {
    codegen::CompileOptions options;
    options.arch = arch;
    llvm::Expected<codegen::GeneratedKernel> k =
        codegen::generateActivationKernel(codegen::KernelFamily::QuantizeAct,
                                          quantizeK, options);
    ASSERT_TRUE(!!k) << llvm::toString(k.takeError());
    runtime::LayerEntry q;
    q.name = "quantize_act";
    q.kind = "quantize_act";
    q.k = quantizeK;
    q.buckets = {runtime::Bucket{0, addKernel(*k)}};
    q.consumers = {layer.name};
    m.layers.push_back(q);
  }
  std::string manifest;
  llvm::raw_string_ostream(manifest) << llvm::formatv("{0:2}", runtime::toJSON(m));
  dir.write("manifest.json", manifest.data(), manifest.size());
}

TEST_P(BundleGpu, LinearMatchesTheReferenceBitForBit) {
  const Case c = GetParam();
  std::string arch = deviceArch(cu);
  std::mt19937 rng(1234 + c.N + c.G);
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  TempDir dir;
  nm::PackedW4Weight w;
  ASSERT_NO_FATAL_FAILURE(writeBundle(c, arch, rng, dir, w));

  ASSERT_EQ(qqqLoadBundle(rt, dir.path.c_str()), QQQ_SUCCESS) << qqqLastError();
  int index = qqqFindLayer(rt, "layers.0.test_proj");
  ASSERT_GE(index, 0);

  const int64_t maxM = 300;
  CUdeviceptr dx, ds, dy;
  ASSERT_EQ(cu->cuMemAlloc(&dx, maxM * c.K), CUDA_SUCCESS);
  ASSERT_EQ(cu->cuMemAlloc(&ds, maxM * 4), CUDA_SUCCESS);
  ASSERT_EQ(cu->cuMemAlloc(&dy, maxM * c.N * 2), CUDA_SUCCESS);
  for (int64_t M : {1, 7, 16, 17, 33, 64, 128, 300}) {
    nm::Matrix<int8_t> x(M, c.K);
    std::uniform_int_distribution<int> act(-127, 127);
    for (int8_t &v : x.data)
      v = static_cast<int8_t>(act(rng));
    std::vector<float> sTok(M);
    for (float &s : sTok)
      s = 0.01f * unit(rng);
    nm::Matrix<uint16_t> expected;
    ASSERT_EQ(nm::referenceW4A8Gemm(x, sTok, w, expected), "");
    // Poison: NaN f16 everywhere, rows beyond M too.
    std::vector<uint16_t> y(maxM * c.N, 0x7E00);
    ASSERT_EQ(cu->cuMemcpyHtoD(dx, x.data.data(), M * c.K), CUDA_SUCCESS);
    ASSERT_EQ(cu->cuMemcpyHtoD(ds, sTok.data(), M * 4), CUDA_SUCCESS);
    ASSERT_EQ(cu->cuMemcpyHtoD(dy, y.data(), y.size() * 2), CUDA_SUCCESS);
    ASSERT_EQ(qqqLaunchLinear(rt, index, M, dx, ds, dy, nullptr), QQQ_SUCCESS)
        << qqqLastError();
    ASSERT_EQ(cu->cuCtxSynchronize(), CUDA_SUCCESS);
    ASSERT_EQ(cu->cuMemcpyDtoH(y.data(), dy, y.size() * 2), CUDA_SUCCESS);
    int64_t bad = 0;
    for (int64_t i = 0; i < M * c.N; ++i)
      if (y[i] != expected.data[i] && bad++ < 5)
        ADD_FAILURE() << "M = " << M << " y[" << i / c.N << ", " << i % c.N
                      << "] = 0x" << std::hex << y[i] << " expected 0x"
                      << expected.data[i] << std::dec;
    EXPECT_EQ(bad, 0) << "M = " << M;
    for (int64_t i = M * c.N; i < maxM * c.N; ++i)
      ASSERT_EQ(y[i], 0x7E00) << "M = " << M << ": wrote beyond row M";
  }
  // Misaligned x or y: refused before any launch, naming the layer.
  EXPECT_EQ(qqqLaunchLinear(rt, index, 1, dx, ds, dy + 2, nullptr),
            QQQ_ERROR_INVALID);
  EXPECT_NE(std::string(qqqLastError()).find("16-byte aligned"),
            std::string::npos);
  EXPECT_NE(std::string(qqqLastError()).find("layers.0.test_proj"),
            std::string::npos);
  EXPECT_EQ(qqqLaunchLinear(rt, index, 1, dx + 8, ds, dy, nullptr),
            QQQ_ERROR_INVALID);
  cu->cuMemFree(dx);
  cu->cuMemFree(ds);
  cu->cuMemFree(dy);
  EXPECT_EQ(qqqLaunchLinear(rt, 99, 1, 0, 0, 0, nullptr), QQQ_ERROR_INVALID);
  EXPECT_NE(std::string(qqqLastError()).find("out of range"), std::string::npos);
}

// Decode-style chains on one stream with no synchronization in between:
// quantize x_r into shared q / s_tok buffers, then the linear reads them,
// round after round. With programmatic dependent launch each kernel may
// start while the previous one runs: the quantizer must not overwrite q
// before the previous GEMM has read it, and the GEMM must not read q before
// the quantizer has written it. Every round's output must equal the
// reference of its own input, bit for bit, with the launch mode on and off.
TEST_P(BundleGpu, ChainedQuantizeAndLinearMatchTheReference) {
  const Case c = GetParam();
  std::string arch = deviceArch(cu);
  std::mt19937 rng(4321 + c.N + c.G);
  TempDir dir;
  nm::PackedW4Weight w;
  ASSERT_NO_FATAL_FAILURE(writeBundle(c, arch, rng, dir, w, c.K));
  ASSERT_EQ(qqqLoadBundle(rt, dir.path.c_str()), QQQ_SUCCESS) << qqqLastError();
  int linear = qqqFindLayer(rt, "layers.0.test_proj");
  int quantize = qqqFindLayer(rt, "quantize_act");
  ASSERT_GE(linear, 0);
  ASSERT_GE(quantize, 0);
  CUstream stream;
  ASSERT_EQ(cu->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
  constexpr int kRounds = 6;
  for (int64_t M : {1, 16, 33, 300})
    for (int programmatic : {1, 0}) {
      ASSERT_EQ(qqqSetProgrammaticLaunch(rt, programmatic), QQQ_SUCCESS);
      std::normal_distribution<float> act(0.0f, 2.0f);
      std::vector<std::vector<uint16_t>> x(kRounds);
      std::vector<nm::Matrix<uint16_t>> expected(kRounds);
      for (int r = 0; r < kRounds; ++r) {
        x[r].resize(M * c.K);
        nm::Matrix<int8_t> q(M, c.K);
        std::vector<float> sTok(M), row(c.K);
        for (int64_t m = 0; m < M; ++m) {
          for (int64_t k = 0; k < c.K; ++k) {
            x[r][m * c.K + k] = nm::floatToHalfBits(act(rng));
            row[k] = nm::halfBitsToFloat(x[r][m * c.K + k]);
          }
          sTok[m] = nm::quantizeActRow(row.data(), c.K, q.data.data() + m * c.K);
        }
        ASSERT_EQ(nm::referenceW4A8Gemm(q, sTok, w, expected[r]), "");
      }
      std::vector<CUdeviceptr> dx(kRounds), dy(kRounds);
      CUdeviceptr dq, ds;
      ASSERT_EQ(cu->cuMemAlloc(&dq, M * c.K), CUDA_SUCCESS);
      ASSERT_EQ(cu->cuMemAlloc(&ds, M * 4), CUDA_SUCCESS);
      for (int r = 0; r < kRounds; ++r) {
        ASSERT_EQ(cu->cuMemAlloc(&dx[r], M * c.K * 2), CUDA_SUCCESS);
        ASSERT_EQ(cu->cuMemAlloc(&dy[r], M * c.N * 2), CUDA_SUCCESS);
        ASSERT_EQ(cu->cuMemcpyHtoD(dx[r], x[r].data(), M * c.K * 2),
                  CUDA_SUCCESS);
      }
      ASSERT_EQ(cu->cuCtxSynchronize(), CUDA_SUCCESS);
      for (int r = 0; r < kRounds; ++r) {
        ASSERT_EQ(qqqLaunchQuantize(rt, quantize, M, dx[r], dq, ds, stream),
                  QQQ_SUCCESS)
            << qqqLastError();
        ASSERT_EQ(qqqLaunchLinear(rt, linear, M, dq, ds, dy[r], stream),
                  QQQ_SUCCESS)
            << qqqLastError();
      }
      ASSERT_EQ(cu->cuStreamSynchronize(stream), CUDA_SUCCESS);
      for (int r = 0; r < kRounds; ++r) {
        std::vector<uint16_t> y(M * c.N);
        ASSERT_EQ(cu->cuMemcpyDtoH(y.data(), dy[r], y.size() * 2),
                  CUDA_SUCCESS);
        int64_t bad = 0;
        for (int64_t i = 0; i < M * c.N; ++i)
          if (y[i] != expected[r].data[i] && bad++ < 3)
            ADD_FAILURE() << "M = " << M << " programmatic " << programmatic
                          << " round " << r << " y[" << i / c.N << ", "
                          << i % c.N << "] = 0x" << std::hex << y[i]
                          << " expected 0x" << expected[r].data[i] << std::dec;
        EXPECT_EQ(bad, 0) << "M = " << M << " round " << r;
        cu->cuMemFree(dx[r]);
        cu->cuMemFree(dy[r]);
      }
      cu->cuMemFree(dq);
      cu->cuMemFree(ds);
    }
  cu->cuStreamDestroy(stream);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BundleGpu,
                         ::testing::Values(Case{256, 512, 0, false},
                                           Case{256, 1024, 128, true},
                                           Case{4096, 4096, 128, true},
                                           // SmolLM2-135M shapes: K = 576
                                           // takes the tile_k = 64 configs.
                                           Case{576, 576, 0, false},
                                           Case{192, 576, 64, true},
                                           Case{576, 1536, 64, false}),
                         [](const ::testing::TestParamInfo<Case> &i) {
                           return "N" + std::to_string(i.param.N) + "_K" +
                                  std::to_string(i.param.K) + "_G" +
                                  std::to_string(i.param.G) +
                                  (i.param.bias ? "_bias" : "");
                         });

} // namespace
