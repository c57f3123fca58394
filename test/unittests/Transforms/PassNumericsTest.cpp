//===- PassNumericsTest.cpp - the passes against the numerics library -----===//
//
// Runs the quantization passes on small modules and checks that what lands
// in the IR is exactly what the numerics library computes for the same
// weights and calibration statistics (RTN, GPTQ with the Hessian 2/n·XᵀX,
// two-level scales), and that smoothing leaves the float model's function
// unchanged while updating the in-memory calibration statistics.
//
//===----------------------------------------------------------------------===//
#include "qqq/Calibration/CalibrationStats.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Numerics/GPTQ.h"
#include "qqq/Numerics/Packing.h"
#include "qqq/Numerics/Quantizers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

using namespace mlir;
using namespace qqq;
using numerics::Matrix;

namespace {

std::string denseLiteral(const std::vector<float> &v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.9e", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

std::string matrixLiteral(const Matrix<float> &m) {
  std::string s = "[";
  for (int64_t r = 0; r < m.rows; ++r) {
    std::vector<float> row(m.row(r), m.row(r) + m.cols);
    s += (r ? ", " : "") + denseLiteral(row);
  }
  return s + "]";
}

Matrix<float> randomMatrix(int64_t r, int64_t c, std::mt19937 &rng,
                           float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  Matrix<float> m(r, c);
  for (float &v : m.data)
    v = nd(rng);
  return m;
}

/// Writes calibration statistics for one activation in the safetensors
/// layout python -m qqq.calibrate produces.
/// With windowLen > 0, rows 0, windowLen, 2·windowLen, ... are the windows'
/// first tokens and their rows `first` are written too (or, with
/// `legacyFirst`, the first format's `xtx_first`/`count_first`).
void writeCalibration(const std::string &path, const std::string &act,
                      const Matrix<float> &x, int64_t windowLen = 0,
                      bool legacyFirst = false) {
  int64_t k = x.cols, n = x.rows;
  std::vector<float> mn(k, INFINITY), mx(k, -INFINITY);
  std::vector<double> xtx(k * k, 0.0), xtxFirst(k * k, 0.0);
  int64_t countFirst = 0;
  std::vector<float> firstRows;
  for (int64_t r = 0; r < n; ++r) {
    bool first = windowLen > 0 && r % windowLen == 0;
    countFirst += first;
    if (first)
      firstRows.insert(firstRows.end(), x.row(r), x.row(r) + k);
    for (int64_t i = 0; i < k; ++i) {
      mn[i] = std::min(mn[i], x.at(r, i));
      mx[i] = std::max(mx[i], x.at(r, i));
      for (int64_t j = 0; j < k; ++j) {
        double v = double(x.at(r, i)) * x.at(r, j);
        xtx[i * k + j] += v;
        if (first)
          xtxFirst[i * k + j] += v;
      }
    }
  }
  int64_t count = n;
  struct T {
    std::string name, dtype;
    std::vector<int64_t> shape;
    const void *data;
    size_t bytes;
  };
  std::vector<T> ts = {
      {act + ".min", "F32", {k}, mn.data(), mn.size() * 4},
      {act + ".max", "F32", {k}, mx.data(), mx.size() * 4},
      {act + ".xtx", "F64", {k, k}, xtx.data(), xtx.size() * 8},
      {act + ".count", "I64", {1}, &count, 8},
      {act + ".sample", "F32", {n, k}, x.data.data(), x.data.size() * 4}};
  if (windowLen > 0 && legacyFirst) {
    ts.push_back({act + ".xtx_first", "F64", {k, k}, xtxFirst.data(),
                  xtxFirst.size() * 8});
    ts.push_back({act + ".count_first", "I64", {1}, &countFirst, 8});
  } else if (windowLen > 0) {
    ts.push_back({act + ".first", "F32", {countFirst, k}, firstRows.data(),
                  firstRows.size() * 4});
  }
  std::string header = "{";
  size_t off = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    std::string shape;
    for (size_t d = 0; d < ts[i].shape.size(); ++d)
      shape += (d ? "," : "") + std::to_string(ts[i].shape[d]);
    header += (i ? "," : "") + std::string("\"") + ts[i].name +
              "\":{\"dtype\":\"" + ts[i].dtype + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(off) + "," +
              std::to_string(off + ts[i].bytes) + "]}";
    off += ts[i].bytes;
  }
  header += "}";
  while (header.size() % 8)
    header += ' ';
  std::ofstream f(path, std::ios::binary);
  uint64_t len = header.size();
  f.write(reinterpret_cast<const char *>(&len), 8);
  f.write(header.data(), header.size());
  for (const T &t : ts)
    f.write(static_cast<const char *>(t.data), t.bytes);
}

std::string tempPath(const char *suffix) {
  llvm::SmallString<128> p;
  llvm::sys::fs::createTemporaryFile("qqq-transforms-test", suffix, p);
  return p.str().str();
}

struct Fixture {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
  Fixture(const std::string &src) {
    DialectRegistry reg;
    reg.insert<QQQDialect, arith::ArithDialect, func::FuncDialect>();
    ctx.appendDialectRegistry(reg);
    ctx.loadAllAvailableDialects();
    module = parseSourceString<ModuleOp>(src, &ctx);
  }
  LogicalResult run(const std::string &pipeline) {
    PassManager pm(&ctx);
    if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
      return failure();
    return pm.run(*module);
  }
};

std::vector<char> rawBytes(Value v) {
  DenseElementsAttr attr;
  EXPECT_TRUE(matchPattern(v, m_Constant(&attr)));
  ArrayRef<char> raw = attr.getRawData();
  return std::vector<char>(raw.begin(), raw.end());
}

std::vector<float> floats(Value v) {
  std::vector<char> raw = rawBytes(v);
  std::vector<float> out(raw.size() / 4);
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

/// One linear over an RMSNorm, K = 64, N = 32.
std::string linearModule(const Matrix<float> &w, const std::vector<float> &g) {
  return "func.func @f(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {\n"
         "  %g = arith.constant dense<" + denseLiteral(g) + "> : tensor<64xf32>\n"
         "  %w = arith.constant dense<" + matrixLiteral(w) + "> : tensor<32x64xf32>\n"
         "  %h = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>\n"
         "  %y = qqq.linear %h, %w {layer_name = \"l0\", input_name = \"act\"} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>\n"
         "  return %y : tensor<?x32xf32>\n}\n";
}

W4A8LinearOp onlyW4A8(ModuleOp m) {
  W4A8LinearOp found;
  m.walk([&](W4A8LinearOp op) { found = op; });
  return found;
}

TEST(PassNumerics, RtnMatchesNumericsBitForBit) {
  registerQQQPasses();
  std::mt19937 rng(1);
  Matrix<float> w = randomMatrix(32, 64, rng, 0.1f);
  Fixture f(linearModule(w, std::vector<float>(64, 1.0f)));
  ASSERT_TRUE(f.module);
  for (int64_t g : {0, 16}) {
    Fixture fx(linearModule(w, std::vector<float>(64, 1.0f)));
    ASSERT_TRUE(succeeded(fx.run("qqq-gptq{method=rtn group-size=" +
                                 std::to_string(g) + "}")));
    W4A8LinearOp op = onlyW4A8(*fx.module);
    ASSERT_TRUE(op);
    numerics::Int4Weight ref = numerics::quantizeWeightRTN(w, g, false);
    std::vector<uint8_t> packed;
    ASSERT_EQ(numerics::packRowMajor(ref.q, packed), "");
    std::vector<char> got = rawBytes(op.getWeight());
    ASSERT_EQ(got.size(), packed.size());
    EXPECT_EQ(0, std::memcmp(got.data(), packed.data(), packed.size()));
    std::vector<float> sCh = floats(op.getChannelScale());
    if (g == 0) {
      EXPECT_EQ(sCh, ref.channelScale);
      EXPECT_FALSE(op.getGroupScale());
    } else {
      numerics::TwoLevelScales two =
          numerics::computeTwoLevelScales(ref.q, ref.groupScale, g);
      EXPECT_EQ(sCh, two.sCh);
      std::vector<char> gs = rawBytes(op.getGroupScale());
      ASSERT_EQ(gs.size(), two.sGrpHalf.data.size() * 2);
      EXPECT_EQ(0, std::memcmp(gs.data(), two.sGrpHalf.data.data(), gs.size()));
      EXPECT_EQ(op.getGroupSize(), std::optional<int64_t>(g));
    }
  }
}

TEST(PassNumerics, GptqUsesTheCalibrationHessian) {
  registerQQQPasses();
  std::mt19937 rng(2);
  Matrix<float> w = randomMatrix(32, 64, rng, 0.1f);
  Matrix<float> x = randomMatrix(200, 64, rng, 1.0f);
  for (int64_t r = 0; r < x.rows; ++r)
    x.at(r, 3) *= 10.0f; // an outlier channel makes H far from identity
  std::string calib = tempPath("safetensors");
  writeCalibration(calib, "act", x);
  Fixture fx(linearModule(w, std::vector<float>(64, 1.0f)));
  ASSERT_TRUE(succeeded(fx.run(
      "qqq-gptq{calibration=" + calib +
      " group-size=16 act-order=true damp=0.02}")));
  W4A8LinearOp op = onlyW4A8(*fx.module);
  ASSERT_TRUE(op);
  Matrix<double> h = numerics::computeHessian(x);
  numerics::GptqOptions o;
  o.groupSize = 16;
  o.actOrder = true;
  o.staticGroups = true;
  o.dampPercent = 0.02;
  numerics::GptqResult ref = numerics::gptqQuantize(w, h, o);
  std::vector<uint8_t> packed;
  ASSERT_EQ(numerics::packRowMajor(ref.q, packed), "");
  std::vector<char> got = rawBytes(op.getWeight());
  ASSERT_EQ(got.size(), packed.size());
  EXPECT_EQ(0, std::memcmp(got.data(), packed.data(), packed.size()));
  // And GPTQ differs from RTN here (the Hessian was used at all).
  numerics::Int4Weight rtn = numerics::quantizeWeightRTN(w, 16, false);
  EXPECT_NE(rtn.q.data, ref.q.data);
  EXPECT_EQ(op.getScheme()->getMethod(), QuantMethod::gptq);
  CalibrationRegistry::drop(calib);
  llvm::sys::fs::remove(calib);
}

TEST(PassNumerics, GptqWeightsTheWindowsFirstTokens) {
  registerQQQPasses();
  std::mt19937 rng(4);
  Matrix<float> w = randomMatrix(32, 64, rng, 0.1f);
  Matrix<float> x = randomMatrix(200, 64, rng, 1.0f);
  for (int64_t r = 0; r < x.rows; r += 20) // 10 windows of 20 tokens
    for (int64_t k = 0; k < 64; ++k)
      x.at(r, k) = k % 4 == 0 ? 6.0f : 0.5f;
  std::string calib = tempPath("safetensors");
  writeCalibration(calib, "act", x, /*windowLen=*/20);
  auto quantized = [&](const std::string &opts) {
    Fixture fx(linearModule(w, std::vector<float>(64, 1.0f)));
    EXPECT_TRUE(succeeded(fx.run("qqq-gptq{calibration=" + calib + opts + "}")));
    std::vector<char> bytes = rawBytes(onlyW4A8(*fx.module).getWeight());
    CalibrationRegistry::drop(calib);
    return bytes;
  };
  // H = Σ x xᵀ + 0.5·(200 / 10)·Σ x₀x₀ᵀ, computed here independently.
  Matrix<float> first(10, 64);
  for (int64_t i = 0; i < 10; ++i)
    for (int64_t k = 0; k < 64; ++k)
      first.at(i, k) = x.at(20 * i, k);
  Matrix<double> h = numerics::computeHessian(x), f = numerics::computeHessian(first);
  for (size_t i = 0; i < h.data.size(); ++i) // both are 2/n-scaled
    h.data[i] += 0.5 * (200.0 / 10.0) * f.data[i] * 10.0 / 200.0;
  numerics::GptqResult ref = numerics::gptqQuantize(w, h, numerics::GptqOptions());
  std::vector<uint8_t> packed;
  ASSERT_EQ(numerics::packRowMajor(ref.q, packed), "");
  std::vector<char> weighted = quantized(" sink-weight=0.5 sink-layers=^l0$");
  ASSERT_EQ(weighted.size(), packed.size());
  EXPECT_EQ(0, std::memcmp(weighted.data(), packed.data(), packed.size()));
  std::vector<char> plain = quantized(" sink-weight=0");
  EXPECT_NE(weighted, plain);
  // The default sink-layers (q/k/v projections) does not match "l0".
  EXPECT_EQ(plain, quantized(" sink-weight=0.5"));
  // Files of the first format (Σ x₀x₀ᵀ stored) give the same weights.
  writeCalibration(calib, "act", x, /*windowLen=*/20, /*legacyFirst=*/true);
  EXPECT_EQ(weighted, quantized(" sink-weight=0.5 sink-layers=^l0$"));
  llvm::sys::fs::remove(calib);
}

/// y = rmsnorm(x)·γ·Wᵀ in float64 for a row.
std::vector<double> floatModel(const std::vector<float> &x,
                               const std::vector<float> &g,
                               const Matrix<float> &w) {
  double ms = 0;
  for (float v : x)
    ms += double(v) * v;
  double inv = 1.0 / std::sqrt(ms / x.size() + double(1.0e-05f));
  std::vector<double> y(w.rows, 0.0);
  for (int64_t n = 0; n < w.rows; ++n)
    for (int64_t k = 0; k < w.cols; ++k)
      y[n] += x[k] * inv * g[k] * w.at(n, k);
  return y;
}

TEST(PassNumerics, SmoothingKeepsTheFunctionAndUpdatesStatistics) {
  registerQQQPasses();
  std::mt19937 rng(3);
  Matrix<float> w = randomMatrix(32, 64, rng, 0.1f);
  std::vector<float> g(64);
  for (int64_t k = 0; k < 64; ++k)
    g[k] = k < 2 ? 30.0f : 1.0f + 0.01f * k;
  // Calibration rows are the norm outputs of random inputs.
  Matrix<float> x = randomMatrix(128, 64, rng, 1.0f), h(128, 64);
  for (int64_t r = 0; r < 128; ++r) {
    double ms = 0;
    for (int64_t k = 0; k < 64; ++k)
      ms += double(x.at(r, k)) * x.at(r, k);
    double inv = 1.0 / std::sqrt(ms / 64 + 1e-5);
    for (int64_t k = 0; k < 64; ++k)
      h.at(r, k) = float(x.at(r, k) * inv * g[k]);
  }
  std::string calib = tempPath("safetensors");
  writeCalibration(calib, "act", h, /*windowLen=*/16);
  auto before = CalibrationStats::load(calib);
  ASSERT_TRUE(bool(before));
  std::vector<double> xtx0 = (*before)->lookup("act")->xtx;
  std::vector<double> first0 = (*before)->lookup("act")->xtxFirst;
  ASSERT_EQ((*before)->lookup("act")->countFirst, 8);

  Fixture fx(linearModule(w, g));
  ASSERT_TRUE(succeeded(fx.run("qqq-smooth{calibration=" + calib + "}")));
  RMSNormOp norm;
  LinearOp lin;
  fx.module->walk([&](RMSNormOp op) { norm = op; });
  fx.module->walk([&](LinearOp op) { lin = op; });
  ASSERT_TRUE(norm && lin);
  std::vector<float> g2 = floats(norm.getGamma());
  std::vector<float> wv = floats(lin.getWeight());
  Matrix<float> w2(32, 64);
  w2.data = wv;
  // Outlier channels were scaled down: smoothing did something.
  double ratio = g[0] / g2[0];
  EXPECT_GT(ratio, 1.5);
  // The float function is unchanged (up to f32 rounding of γ/s and W·s).
  for (int64_t r = 0; r < 8; ++r) {
    std::vector<float> xr(x.row(r), x.row(r) + 64);
    std::vector<double> a = floatModel(xr, g, w), b = floatModel(xr, g2, w2);
    for (int64_t n = 0; n < 32; ++n)
      EXPECT_NEAR(a[n], b[n], 1e-4 * (1.0 + std::fabs(a[n])));
  }
  // The registry's statistics now describe x/s: xtx' = S⁻¹·xtx·S⁻¹.
  auto cached = CalibrationRegistry::get(calib);
  ASSERT_TRUE(bool(cached));
  ActivationStats *st = (*cached)->lookup("act");
  for (int64_t i = 0; i < 64; ++i) {
    double si = double(w2.at(0, i)) / w.at(0, i);
    EXPECT_NEAR(st->xtx[i * 64 + i], xtx0[i * 64 + i] / (si * si),
                1e-3 * xtx0[i * 64 + i] / (si * si));
    EXPECT_NEAR(st->xtxFirst[i * 64 + i], first0[i * 64 + i] / (si * si),
                1e-3 * first0[i * 64 + i] / (si * si));
  }
  CalibrationRegistry::drop(calib);
  llvm::sys::fs::remove(calib);
}

// o_proj's scales go into v_proj's rows and bias (kv-heads == heads): the
// float function W_o·(W_v·h + b_v) is unchanged.
TEST(PassNumerics, SmoothingThroughVProjKeepsTheFunction) {
  registerQQQPasses();
  std::mt19937 rng(5);
  Matrix<float> wv = randomMatrix(64, 32, rng, 0.1f);
  Matrix<float> wo = randomMatrix(16, 64, rng, 0.1f);
  std::vector<float> bv(64);
  for (int64_t n = 0; n < 64; ++n)
    bv[n] = 0.01f * float(n % 7);
  for (int64_t k = 0; k < 32; ++k) // two outlier value channels
    for (int64_t n : {3, 40})
      wv.at(n, k) *= 40.0f;
  Matrix<float> h = randomMatrix(128, 32, rng, 1.0f), a(128, 64);
  for (int64_t r = 0; r < 128; ++r)
    for (int64_t n = 0; n < 64; ++n) {
      double acc = bv[n];
      for (int64_t k = 0; k < 32; ++k)
        acc += double(h.at(r, k)) * wv.at(n, k);
      a.at(r, n) = float(acc);
    }
  std::string calib = tempPath("safetensors");
  writeCalibration(calib, "attn", a, /*windowLen=*/16);
  std::string src =
      "func.func @f(%x: tensor<?x32xf32>) -> tensor<?x16xf32> {\n"
      "  %wv = arith.constant dense<" + matrixLiteral(wv) + "> : tensor<64x32xf32>\n"
      "  %bv = arith.constant dense<" + denseLiteral(bv) + "> : tensor<64xf32>\n"
      "  %wo = arith.constant dense<" + matrixLiteral(wo) + "> : tensor<16x64xf32>\n"
      "  %v = qqq.linear %x, %wv, %bv {layer_name = \"l0.v_proj\", input_name = \"h\"} : (tensor<?x32xf32>, tensor<64x32xf32>, tensor<64xf32>) -> tensor<?x64xf32>\n"
      "  %t = qqq.onnx_node \"Transpose\"(%v) {perm = [0, 1]} : (tensor<?x64xf32>) -> tensor<?x64xf32>\n"
      "  %y = qqq.linear %t, %wo {layer_name = \"l0.o_proj\", input_name = \"attn\"} : (tensor<?x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>\n"
      "  return %y : tensor<?x16xf32>\n}\n";
  Fixture fx(src);
  ASSERT_TRUE(fx.module);
  ASSERT_TRUE(succeeded(fx.run("qqq-smooth{calibration=" + calib + "}")));
  LinearOp v, o;
  fx.module->walk([&](LinearOp op) {
    (op.getLayerName() == "l0.v_proj" ? v : o) = op;
  });
  ASSERT_TRUE(v && o);
  Matrix<float> wv2(64, 32), wo2(16, 64);
  wv2.data = floats(v.getWeight());
  wo2.data = floats(o.getWeight());
  std::vector<float> bv2 = floats(v.getBias());
  // The outlier channels were scaled down in v_proj (rows and bias alike).
  double s3 = double(wv.at(3, 0)) / wv2.at(3, 0);
  EXPECT_GT(s3, 1.5);
  EXPECT_NEAR(double(wo2.at(0, 3)) / wo.at(0, 3), s3, 1e-4 * s3);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t m = 0; m < 16; ++m) {
      double y0 = 0, y1 = 0;
      for (int64_t n = 0; n < 64; ++n) {
        double a0 = bv[n], a1 = bv2[n];
        for (int64_t k = 0; k < 32; ++k) {
          a0 += double(h.at(r, k)) * wv.at(n, k);
          a1 += double(h.at(r, k)) * wv2.at(n, k);
        }
        y0 += a0 * wo.at(m, n);
        y1 += a1 * wo2.at(m, n);
      }
      EXPECT_NEAR(y0, y1, 1e-4 * (1.0 + std::fabs(y0)));
    }
  CalibrationRegistry::drop(calib);
  llvm::sys::fs::remove(calib);
}

TEST(Calibration, RejectsInconsistentFiles) {
  std::string p = tempPath("safetensors");
  {
    std::ofstream f(p, std::ios::binary);
    f << "short";
  }
  auto r = CalibrationStats::load(p);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("not a safetensors file"),
            std::string::npos);
  std::mt19937 rng(4);
  writeCalibration(p, "a", randomMatrix(4, 8, rng));
  auto ok = CalibrationStats::load(p);
  ASSERT_TRUE(bool(ok));
  ActivationStats *s = (*ok)->lookup("a");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->channels, 8);
  EXPECT_EQ(s->count, 4);
  EXPECT_EQ(s->sampleRows, 4);
  EXPECT_EQ((*ok)->lookup("b"), nullptr);
  EXPECT_EQ(s->countFirst, 0);
  // The windows' first rows (rows 0 and 3 of two windows of 3) are read as
  // their Σ x₀x₀ᵀ, in either file format.
  Matrix<float> x = randomMatrix(6, 8, rng);
  for (bool legacy : {false, true}) {
    writeCalibration(p, "a", x, /*windowLen=*/3, legacy);
    auto w = CalibrationStats::load(p);
    ASSERT_TRUE(bool(w));
    ActivationStats *f = (*w)->lookup("a");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->countFirst, 2);
    ASSERT_EQ(f->xtxFirst.size(), 64u);
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 8; ++j)
        EXPECT_DOUBLE_EQ(f->xtxFirst[i * 8 + j],
                         double(x.at(0, i)) * x.at(0, j) +
                             double(x.at(3, i)) * x.at(3, j));
  }
  llvm::sys::fs::remove(p);
}

} // namespace
