//===- qqq-translate.cpp - ONNX <-> MLIR translation ------------------------===//
//
//   qqq-translate --import-onnx model.onnx [-o model.mlir] [--no-raise]
//   qqq-translate --export-onnx model.mlir -o model.onnx
//                 [--external-data-threshold=BYTES]
//   qqq-translate --export-bundle=DIR quantized.mlir [--bundle-arch=sm_90a]
//                 (packed weights, scales, PTX, manifest.json for the runtime)
//
// Import reads the model from its file (external data is memory-mapped
// relative to it); export writes `<output>.data` next to the output for
// initializers of at least the threshold. Outputs are written to a
// temporary file and renamed. Any error: one message, exit code 1.
//
//===----------------------------------------------------------------------===//
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Export/BundleExport.h"
#include "qqq/Export/OnnxExport.h"
#include "qqq/Import/OnnxImport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static llvm::cl::opt<bool> importOnnx("import-onnx",
                                      llvm::cl::desc("ONNX model -> MLIR"));
static llvm::cl::opt<bool> exportOnnx("export-onnx",
                                      llvm::cl::desc("MLIR -> ONNX model"));
static llvm::cl::opt<std::string>
    exportBundle("export-bundle",
                 llvm::cl::desc("quantized MLIR -> kernel bundle directory "
                                "(manifest.json, kernels/*.ptx, tensors/*.bin)"),
                 llvm::cl::value_desc("dir"));
static llvm::cl::opt<std::string>
    bundleArch("bundle-arch",
               llvm::cl::desc("GPU target of the bundle: sm_90a or sm_80"),
               llvm::cl::init("sm_90a"));
static llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                            llvm::cl::desc("<input>"),
                                            llvm::cl::Required);
static llvm::cl::opt<std::string> outputFile("o", llvm::cl::desc("output file"),
                                             llvm::cl::init("-"));
static llvm::cl::opt<bool>
    noRaise("no-raise",
            llvm::cl::desc("import every node as qqq.onnx_node (no qqq.linear "
                           "or qqq.rms_norm)"));
static llvm::cl::opt<bool> noShapeInference(
    "no-shape-inference",
    llvm::cl::desc("type values only from the model's value_info (no ONNX "
                   "shape inference)"));
static llvm::cl::opt<bool> verifyOnly(
    "verify-only",
    llvm::cl::desc("import and verify the model, write nothing (printing "
                   "weights as MLIR text hex-encodes them, which reads all "
                   "the data)"));
static llvm::cl::opt<uint64_t> externalThreshold(
    "external-data-threshold",
    llvm::cl::desc("export initializers of at least this many bytes to "
                   "<output>.data (0: keep all inline)"),
    llvm::cl::init(1024));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  llvm::cl::ParseCommandLineOptions(argc, argv, "qqq ONNX translator\n");
  if (int(importOnnx) + int(exportOnnx) + int(!exportBundle.empty()) != 1) {
    llvm::errs() << "qqq-translate: give exactly one of --import-onnx, "
                    "--export-onnx, --export-bundle\n";
    return 1;
  }
#ifdef QQQ_HAVE_W4A8_TO_ONNX
  qqq::registerW4A8ToOnnxExporters();
#endif
  DialectRegistry registry;
  registry.insert<qqq::QQQDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  if (importOnnx) {
    qqq::OnnxImportOptions options;
    options.raiseOps = !noRaise;
    options.inferShapes = !noShapeInference;
    OwningOpRef<ModuleOp> module =
        qqq::importOnnxModel(inputFile, &context, options);
    if (!module)
      return 1;
    if (verifyOnly)
      return 0;
    llvm::Error err = llvm::writeToOutput(outputFile, [&](raw_ostream &os) {
      module->print(os, OpPrintingFlags());
      os << "\n";
      return llvm::Error::success();
    });
    if (err) {
      llvm::errs() << "qqq-translate: cannot write '" << outputFile
                   << "': " << llvm::toString(std::move(err)) << "\n";
      return 1;
    }
    return 0;
  }

  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFile, sourceMgr, &context);
  if (!module)
    return 1;
  if (!exportBundle.empty()) {
    qqq::BundleExportOptions bundle;
    bundle.arch = bundleArch;
    return failed(qqq::exportBundle(*module, exportBundle, bundle)) ? 1 : 0;
  }
  qqq::OnnxExportOptions options;
  options.externalDataThreshold = externalThreshold;
  if (outputFile == "-" ) {
    llvm::errs() << "qqq-translate: --export-onnx needs an output file (-o)\n";
    return 1;
  }
  return failed(qqq::exportOnnxModel(*module, outputFile, options)) ? 1 : 0;
}
