//===- Passes.td - qqq conversion passes -------------------*- tablegen -*-===//
#ifndef QQQ_CONVERSION_PASSES_TD
#define QQQ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QQQLowerToGPUPass : Pass<"qqq-lower-to-gpu", "mlir::ModuleOp"> {
  let summary = "lower the quantized qqq ops to gpu.launch_func on generated PTX";
  let description = [{
    Every `qqq.w4a8_linear` (with `kernels` chosen by `qqq-select-kernels`),
    `qqq.quantize_act` and `qqq.rms_norm_quantize` becomes launches of
    kernels instantiated from `kernels-templates/` with NVRTC for their exact
    shape and configuration. Each kernel's PTX is held by a `gpu.binary`
    (`#gpu.object<#nvvm.target<chip = ...>, properties = {...}, assembly =
    "<PTX>">`, properties recording the template instance and launch rules);
    identical instances share one binary.

    The host code it writes: operands bridged with `bufferization.to_buffer`
    (leading dimensions collapsed to the token count M), outputs and split-K
    workspaces allocated with `gpu.alloc` (the workspace zeroed with
    `gpu.memset`, freed with `gpu.dealloc`), M computed with `memref.dim`,
    the M bucket selected with `arith.cmpi` + `scf.index_switch` (one case
    per `#qqq.kernel`, the unbounded bucket as default), grids computed from
    M with `arith.ceildivui`, and the results returned through
    `bufferization.to_tensor`. Kernel arguments follow the catalog's order;
    memrefs are passed as bare pointers, absent optional operands as
    `llvm.mlir.zero` null pointers. The activation kernels read f16: f32
    activations and gamma are rounded with `arith.truncf` first. M >= 1 is
    assumed (the runtime skips M = 0). See docs/codegen.md.
  }];
  let options = [
    Option<"arch", "arch", "std::string", "\"sm_90a\"",
           "target of the activation kernels (the GEMMs follow their #qqq.kernel)">,
    Option<"templatesDir", "templates-dir", "std::string", "\"\"",
           "kernel-template directory (default: QQQ_KERNELS_DIR / installed / source tree)">,
    Option<"cacheDir", "cache-dir", "std::string", "\"\"",
           "PTX cache directory (default: QQQ_CACHE_DIR or ~/.cache/qqq; 'off' disables)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect", "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"];
}

#endif // QQQ_CONVERSION_PASSES_TD
