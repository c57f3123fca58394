//===- OnnxExport.h - MLIR (qqq dialect) -> ONNX model ----------*- C++ -*-===//
//
// Writes a module produced by the ONNX importer (and possibly changed by the
// qqq passes) back to an ONNX model. The exporter itself knows `func.func
// @main`, `func.return`, `arith.constant`, `qqq.onnx_node`, `qqq.none`,
// `qqq.linear` and `qqq.rms_norm`.
//
// Extension point: other ops (e.g. `qqq.w4a8_linear`, `qqq.quantize_act`,
// `qqq.rms_norm_quantize`, exported by lib/Export/W4A8ToOnnx*.cpp) are
// exported by hooks registered with `registerOpExporter(opName, fn)` before
// `exportOnnxModel` runs. A hook receives the op and an `OpExportContext`,
// through which it names values, adds initializers and emits standard ONNX
// nodes. This header deliberately does not expose protobuf/ONNX types, so
// hooks compile with LLVM's -fno-exceptions -fno-rtti flags.
//
// lib/Export/CMakeLists.txt compiles any lib/Export/W4A8ToOnnx*.cpp into
// QQQExport and defines QQQ_HAVE_W4A8_TO_ONNX=1 for the tools; such a file
// must define `void qqq::registerW4A8ToOnnxExporters()`, which
// qqq-translate calls before exporting.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_EXPORT_ONNXEXPORT_H
#define QQQ_EXPORT_ONNXEXPORT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <functional>
#include <string>

namespace qqq {

/// What a hook may do while exporting one op.
class OpExportContext {
public:
  virtual ~OpExportContext() = default;

  /// The ONNX value name of an already exported SSA value (an operand of the
  /// op being exported). Values of `qqq.none` yield "" (absent input).
  virtual std::string getValueName(mlir::Value value) = 0;

  /// Binds a result of the op being exported to an ONNX value name; the
  /// exporter writes value_info for it from its MLIR type.
  virtual void setValueName(mlir::Value value, llvm::StringRef name) = 0;

  /// A name not used yet in the graph, derived from `hint`.
  virtual std::string makeUniqueName(llvm::StringRef hint) = 0;

  /// Appends a node. `attributes` uses the same encoding as the `onnx_attrs`
  /// of `qqq.onnx_node` (see docs/onnx.md): IntegerAttr -> INT, FloatAttr ->
  /// FLOAT, StringAttr -> STRING, DenseI64ArrayAttr -> INTS,
  /// DenseF32ArrayAttr -> FLOATS, ArrayAttr of StringAttr -> STRINGS,
  /// ElementsAttr -> TENSOR. An empty input name is an absent input.
  virtual mlir::LogicalResult
  addNode(llvm::StringRef opType, llvm::ArrayRef<std::string> inputs,
          llvm::ArrayRef<std::string> outputs, llvm::StringRef nodeName,
          mlir::DictionaryAttr attributes = {}, llvm::StringRef domain = "") = 0;

  /// Adds an initializer with the data of `value` (DenseElementsAttr or
  /// dense_resource) and returns its (unique) name derived from `nameHint`.
  /// Large initializers go to the external data file.
  virtual std::string addInitializer(llvm::StringRef nameHint,
                                     mlir::ElementsAttr value) = 0;

  /// Makes sure the model imports `domain` at least at `version`.
  virtual void requireOpset(llvm::StringRef domain, int64_t version) = 0;
};

/// Exports one op; on failure it emits an error on the op.
using OpExporterFn =
    std::function<mlir::LogicalResult(mlir::Operation *, OpExportContext &)>;

/// Registers (or replaces) the exporter of ops named `opName`
/// (e.g. "qqq.w4a8_linear"). Hooks take precedence over built-in handling.
void registerOpExporter(llvm::StringRef opName, OpExporterFn fn);

/// Defined by lib/Export/W4A8ToOnnx*.cpp when present (QQQ_HAVE_W4A8_TO_ONNX).
void registerW4A8ToOnnxExporters();

struct OnnxExportOptions {
  /// Initializers of at least this many bytes go to `<model>.data`
  /// (the file name of the output plus ".data"), in the model's directory.
  /// 0 disables external data.
  uint64_t externalDataThreshold = 1024;
};

/// Writes `module` as an ONNX model to `outputPath` (temp file + rename; the
/// external data file likewise). Errors are emitted as diagnostics.
mlir::LogicalResult exportOnnxModel(mlir::ModuleOp module,
                                    llvm::StringRef outputPath,
                                    const OnnxExportOptions &options = {});

} // namespace qqq

#endif // QQQ_EXPORT_ONNXEXPORT_H
