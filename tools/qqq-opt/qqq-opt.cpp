//===- qqq-opt.cpp - the qqq optimizer driver ------------------------------===//
//
// mlir-opt for qqq: the qqq dialect, the upstream dialects the pipeline
// produces or consumes, and every qqq pass.
//
//===----------------------------------------------------------------------===//
#include "qqq/Conversion/Passes.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<qqq::QQQDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect,
                  mlir::gpu::GPUDialect, mlir::NVVM::NVVMDialect>();
  // What qqq-lower-to-gpu produces (qqq/Conversion/Passes.h includes them).
  registry.insert<mlir::bufferization::BufferizationDialect,
                  mlir::LLVM::LLVMDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::vector::VectorDialect>();
  mlir::registerTransformsPasses();
  qqq::registerQQQPasses();
  qqq::registerQQQConversionPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "qqq optimizer driver\n", registry));
}
