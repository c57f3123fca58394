//===- qqq-compile.cpp - ONNX model → W4A8 ONNX model in one command ------===//
//
//   qqq-compile model.onnx --calibration stats.safetensors -o out/
//   qqq-compile model.onnx --text wiki.valid.tokens -o out/   (calibrates)
//
// Stages, each timed and reported: [calibrate] (python -m qqq.calibrate, only
// with --text) → import (ONNX → qqq dialect) → quantize
// (qqq-quantize-pipeline) → export (W4A8 ONNX for stock ONNX Runtime).
// Writes out/model.w4a8.onnx (+ .data) and out/report.json.
//
//===----------------------------------------------------------------------===//
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Export/BundleExport.h"
#include "qqq/Export/OnnxExport.h"
#include "qqq/Export/W4A8ToOnnx.h"
#include "qqq/Import/OnnxImport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;

static cl::OptionCategory cat("qqq-compile options");
static cl::opt<std::string> inputModel(cl::Positional, cl::Required,
                                       cl::desc("<model.onnx>"), cl::cat(cat));
static cl::opt<std::string> outDir("o", cl::Required,
                                   cl::desc("output directory (created)"),
                                   cl::value_desc("dir"), cl::cat(cat));
static cl::opt<std::string> calibration(
    "calibration",
    cl::desc("calibration statistics from python -m qqq.calibrate"),
    cl::value_desc("stats.safetensors"), cl::cat(cat));
static cl::opt<std::string> text(
    "text",
    cl::desc("calibration text: run python -m qqq.calibrate on it first "
             "(writes <dir>/calibration.safetensors)"),
    cl::value_desc("file"), cl::cat(cat));
static cl::opt<int> samples("samples", cl::init(128),
                            cl::desc("with --text: calibration windows"),
                            cl::cat(cat));
static cl::opt<int> seqLen("seq-len", cl::init(2048),
                           cl::desc("with --text: tokens per window"),
                           cl::cat(cat));
static cl::opt<std::string> python("python", cl::init("python3"),
                                   cl::desc("with --text: Python interpreter "
                                            "with the qqq package importable"),
                                   cl::cat(cat));
static cl::opt<std::string> preprocess(
    "preprocess", cl::init("none"),
    cl::desc("outlier treatment: none | smooth (OS+ search) | smoothquant | "
             "rotate (randomized Hadamard, folded into the weights)"),
    cl::cat(cat));
static cl::opt<int64_t> headDim(
    "head-dim", cl::init(-1),
    cl::desc("rotate: attention head size for the per-head v/o Hadamard "
             "(0: none; default: from the model's qqq.config metadata)"),
    cl::cat(cat));
static cl::opt<int64_t> groupSize(
    "group-size", cl::init(0),
    cl::desc("weight group size along K, e.g. 128 (0: per output channel)"),
    cl::cat(cat));
static cl::opt<bool> rtn("rtn", cl::desc("round to nearest instead of GPTQ "
                                         "(the baseline)"),
                         cl::cat(cat));
static cl::opt<bool> actOrder("act-order", cl::desc("GPTQ act-order"),
                              cl::cat(cat));
static cl::opt<bool> mseClip("mse-clip",
                             cl::desc("search clipped weight scales (MSE)"),
                             cl::cat(cat));
static cl::opt<double> damp("damp", cl::init(0.01),
                            cl::desc("GPTQ damping (fraction of mean diag H)"),
                            cl::cat(cat));
static cl::opt<double> sinkWeight(
    "sink-weight", cl::init(0.5),
    cl::desc("share of each calibration window's first token (the attention "
             "sink) in the GPTQ Hessian; 0 = plain sum of x x^T"),
    cl::cat(cat));
static cl::opt<std::string> sinkLayers(
    "sink-layers", cl::init("[qkv]_proj$"),
    cl::desc("regex of the layers whose GPTQ Hessian gets --sink-weight"),
    cl::cat(cat));
static cl::opt<std::string> skip(
    "skip", cl::init("lm_head"),
    cl::desc("regex of layer names kept in floating point"), cl::cat(cat));
static cl::opt<std::string> layout(
    "layout", cl::init("row_major"),
    cl::desc("int4 weight layout in the IR (row_major, auto, "
             "sm90_interleaved); the ONNX export reads any"),
    cl::cat(cat));
static cl::opt<bool> fuseProjections(
    "fuse-projections", cl::init(true),
    cl::desc("one GEMM for the layers reading the same activations (q/k/v, "
             "gate/up; qqq-fuse-projections), in the ONNX model and the "
             "bundle; bit-identical outputs"),
    cl::cat(cat));

static cl::opt<std::string> bundleArch(
    "bundle", cl::init(""),
    cl::desc("also write the GPU kernel bundle for this target (sm_90a or "
             "sm_80) to <out>/bundle: weights re-packed for the target, one "
             "kernel configuration per M bucket (qqq-select-kernels: the "
             "tuning table of --gpu, else the heuristic), PTX from NVRTC, "
             "manifest.json"),
    cl::value_desc("arch"), cl::cat(cat));
static cl::opt<std::string> gpuName(
    "gpu", cl::init(""),
    cl::desc("GPU name for the tuning-table lookup of --bundle, e.g. "
             "\"NVIDIA H100 80GB HBM3\""),
    cl::cat(cat));

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int fail(const Twine &msg) {
  errs() << "qqq-compile: error: " << msg << "\n";
  return 1;
}

Error writeJsonAtomically(StringRef path, const json::Value &value) {
  SmallString<256> model(path), tmp;
  model += ".tmp-%%%%%%";
  int fd;
  if (std::error_code ec = sys::fs::createUniqueFile(model, fd, tmp))
    return createStringError("cannot create a file in '" +
                             sys::path::parent_path(path) +
                             "': " + ec.message());
  {
    raw_fd_ostream os(fd, true);
    os << formatv("{0:2}", value) << "\n";
    os.close();
    if (os.has_error()) {
      sys::fs::remove(tmp);
      return createStringError("cannot write '" + path + "'");
    }
  }
  if (std::error_code ec = sys::fs::rename(tmp, path)) {
    sys::fs::remove(tmp);
    return createStringError("cannot rename to '" + path +
                             "': " + ec.message());
  }
  return Error::success();
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "qqq-compile: quantize an ONNX decoder model to W4A8 in one command\n\n"
      "  qqq-compile model.onnx --calibration stats.safetensors -o out/\n"
      "  qqq-compile model.onnx --text wiki.valid.tokens -o out/ "
      "--preprocess smooth --group-size 128\n\n"
      "Writes out/model.w4a8.onnx (standard ONNX ops; stock ONNX Runtime runs\n"
      "it with the exact W4A8 integer arithmetic of the GPU kernels) and\n"
      "out/report.json (per-stage times, per-layer quantization errors).\n"
      "Calibration statistics come from `python -m qqq.calibrate` "
      "(docs/python.md);\n--text runs it for you. See docs/pipeline.md.\n");

  auto total = Clock::now();
  json::Object times;
  if (!sys::fs::exists(inputModel))
    return fail("input model '" + inputModel + "' does not exist");
  if (calibration.empty() == text.empty())
    return fail(calibration.empty()
                    ? "give --calibration <stats.safetensors> or --text "
                      "<calibration text>"
                    : "give only one of --calibration and --text");
  if (preprocess != "none" && preprocess != "smooth" &&
      preprocess != "smoothquant" && preprocess != "rotate")
    return fail("--preprocess must be none, smooth, smoothquant or rotate, "
                "got '" + preprocess + "'");
  if (std::error_code ec = sys::fs::create_directories(outDir))
    return fail("cannot create output directory '" + outDir +
                "': " + ec.message());

  std::string stats = calibration;
  if (!text.empty()) {
    auto t = Clock::now();
    SmallString<256> out(outDir);
    sys::path::append(out, "calibration.safetensors");
    stats = out.str().str();
    auto py = sys::findProgramByName(python);
    if (!py)
      return fail("cannot find the Python interpreter '" + python + "'");
    std::string samplesStr = std::to_string(samples),
                seqStr = std::to_string(seqLen);
    SmallVector<StringRef> args = {*py,      "-m",          "qqq.calibrate",
                                   inputModel, "--text",    text,
                                   "--samples", samplesStr, "--seq-len",
                                   seqStr,   "-o",          stats};
    errs() << "[qqq-compile] calibrate: " << python
           << " -m qqq.calibrate " << inputModel << " --text " << text
           << " --samples " << samples << " --seq-len " << seqLen << " -o "
           << stats << "\n";
    std::string errMsg;
    int rc = sys::ExecuteAndWait(*py, args, std::nullopt, {}, 0, 0, &errMsg);
    if (rc != 0)
      return fail("python -m qqq.calibrate failed (exit " + Twine(rc) + ")" +
                  (errMsg.empty() ? "" : ": " + errMsg) +
                  "; is the qqq Python package on PYTHONPATH?");
    times["calibrate"] = since(t);
    errs() << formatv("[qqq-compile] calibrate done in {0:f2} s\n",
                      since(t));
  }
  if (!sys::fs::exists(stats))
    return fail("calibration file '" + stats + "' does not exist");

  mlir::MLIRContext ctx;
  mlir::DialectRegistry registry;
  registry.insert<qqq::QQQDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect>();
  ctx.appendDialectRegistry(registry);
  qqq::loadOnnxImportDialects(&ctx);
  ctx.loadAllAvailableDialects();
  // With no handler installed, MLIR prints error diagnostics (with their
  // locations: ONNX node names) to stderr.

  auto t = Clock::now();
  errs() << "[qqq-compile] import " << inputModel << "\n";
  mlir::OwningOpRef<mlir::ModuleOp> module =
      qqq::importOnnxModel(inputModel, &ctx);
  if (!module)
    return fail("importing '" + inputModel + "' failed (see above)");
  times["import"] = since(t);
  errs() << formatv("[qqq-compile] import done in {0:f2} s\n", since(t));

  SmallString<256> pipelineReport(outDir);
  sys::path::append(pipelineReport, "quantize-report.json");
  t = Clock::now();
  qqq::QQQQuantizePipelinePassOptions opts;
  opts.calibration = stats;
  opts.preprocess = preprocess;
  opts.headDim = headDim;
  opts.method = rtn ? "rtn" : "gptq";
  opts.groupSize = groupSize;
  opts.actOrder = actOrder;
  opts.mseClip = mseClip;
  opts.damp = damp;
  opts.sinkWeight = sinkWeight;
  opts.sinkLayers = sinkLayers;
  opts.skip = skip;
  opts.layout = layout;
  opts.report = pipelineReport.str().str();
  errs() << formatv("[qqq-compile] quantize: preprocess={0} method={1} "
                    "group-size={2} act-order={3} mse-clip={4} damp={5} sink-weight={8} "
                    "skip='{6}' layout={7}\n",
                    preprocess, opts.method, groupSize.getValue(),
                    actOrder ? "on" : "off", mseClip ? "on" : "off",
                    damp.getValue(), skip, layout, sinkWeight.getValue());
  mlir::PassManager pm(&ctx);
  pm.addPass(qqq::createQQQQuantizePipelinePass(opts));
  if (fuseProjections)
    pm.addPass(qqq::createQQQFuseProjectionsPass());
  if (failed(pm.run(*module)))
    return fail("quantization failed (see above)");
  times["quantize"] = since(t);
  // The GEMMs qqq-fuse-projections made, with the layers each computes.
  json::Array fused;
  module->walk([&](qqq::W4A8LinearOp op) {
    if (std::optional<mlir::ArrayAttr> parts = op.getParts()) {
      json::Array names;
      for (mlir::Attribute a : *parts)
        names.push_back(mlir::cast<mlir::StringAttr>(a).getValue());
      fused.push_back(json::Object{{"name", op.getLayerName()},
                                   {"parts", std::move(names)}});
    }
  });
  errs() << formatv("[qqq-compile] quantize done in {0:f2} s\n", since(t));

  t = Clock::now();
  SmallString<256> outModel(outDir);
  sys::path::append(outModel, "model.w4a8.onnx");
  errs() << "[qqq-compile] export " << outModel << "\n";
  qqq::registerW4A8ToOnnxExporters();
  if (failed(qqq::exportOnnxModel(*module, outModel)))
    return fail("ONNX export failed (see above)");
  times["export"] = since(t);
  errs() << formatv("[qqq-compile] export done in {0:f2} s\n", since(t));

  if (!bundleArch.empty()) {
    t = Clock::now();
    SmallString<256> bundleDir(outDir);
    sys::path::append(bundleDir, "bundle");
    errs() << "[qqq-compile] bundle " << bundleDir << " (" << bundleArch
           << ")\n";
    mlir::PassManager kernels(&ctx);
    qqq::QQQPackPassOptions pack;
    pack.layout = bundleArch == "sm_80" ? "sm80_interleaved" : "sm90_interleaved";
    kernels.addPass(qqq::createQQQPackPass(pack));
    qqq::QQQSelectKernelsPassOptions select;
    select.arch = bundleArch;
    select.gpu = gpuName;
    kernels.addPass(qqq::createQQQSelectKernelsPass(select));
    if (failed(kernels.run(*module)))
      return fail("kernel selection for --bundle " + bundleArch +
                  " failed (see above)");
    qqq::BundleExportOptions bundle;
    bundle.arch = bundleArch;
    if (failed(qqq::exportBundle(*module, bundleDir, bundle)))
      return fail("bundle export failed (see above)");
    times["bundle"] = since(t);
    errs() << formatv("[qqq-compile] bundle done in {0:f2} s\n", since(t));
  }
  times["total"] = since(total);

  json::Value pipelineJson = nullptr;
  if (auto buf = MemoryBuffer::getFile(pipelineReport)) {
    if (auto parsed = json::parse((*buf)->getBuffer()))
      pipelineJson = std::move(*parsed);
    else
      consumeError(parsed.takeError());
    sys::fs::remove(pipelineReport);
  }
  SmallString<256> reportPath(outDir);
  sys::path::append(reportPath, "report.json");
  json::Object report{{"input", inputModel.getValue()},
                      {"output", outModel.str().str()},
                      {"calibration", stats},
                      {"seconds", std::move(times)},
                      {"quantization", std::move(pipelineJson)},
                      {"fused_projections", std::move(fused)}};
  if (Error e = writeJsonAtomically(reportPath, std::move(report)))
    return fail(toString(std::move(e)));
  errs() << formatv("[qqq-compile] wrote {0} and {1} in {2:f2} s\n", outModel,
                    reportPath, since(total));
  return 0;
}
