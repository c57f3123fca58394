//===- OnnxImport.h - ONNX model -> MLIR (qqq dialect) ----------*- C++ -*-===//
//
// Imports an ONNX model into a module with one `func.func @main`:
//  - graph inputs are arguments (`qqq.onnx_name`, `qqq.onnx_dims` for
//    symbolic dims), graph outputs are returned (same attributes on results);
//  - initializers are `arith.constant dense_resource<...>` (external data is
//    memory-mapped, never copied);
//  - MatMul/Gemm with an initializer weight (possibly through Transpose,
//    bias from a following Add) become `qqq.linear`; the three RMSNorm forms
//    become `qqq.rms_norm`; every other node is a `qqq.onnx_node`.
// docs/onnx.md describes the representation in full.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_IMPORT_ONNXIMPORT_H
#define QQQ_IMPORT_ONNXIMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace qqq {

struct OnnxImportOptions {
  /// Raise MatMul/Gemm and RMSNorm patterns into qqq ops (otherwise every
  /// node is a `qqq.onnx_node`).
  bool raiseOps = true;
  /// Complete missing value types with ONNX's shape inference (libonnx;
  /// operators up to its opset, others are skipped). Declared types win.
  bool inferShapes = true;
};

/// Imports the model file at `path` (external data is resolved relative to
/// its directory). Errors are emitted as diagnostics; returns null on error.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModel(llvm::StringRef path, mlir::MLIRContext *context,
                const OnnxImportOptions &options = {});

/// Imports a serialized model held in memory; `bufferName` names it in
/// errors and `baseDir` resolves external data ("" forbids external data).
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModelFromBuffer(llvm::StringRef bytes, llvm::StringRef bufferName,
                          llvm::StringRef baseDir, mlir::MLIRContext *context,
                          const OnnxImportOptions &options = {});

/// Loads the dialects the importer produces.
void loadOnnxImportDialects(mlir::MLIRContext *context);

} // namespace qqq

#endif // QQQ_IMPORT_ONNXIMPORT_H
