// Export errors name the op and exit with status 1.
// RUN: split-file %s %t
// RUN: not qqq-translate --export-onnx %t/unknown-op.mlir -o %t/a.onnx 2>&1 | FileCheck %s --check-prefix=OP
// RUN: not qqq-translate --export-onnx %t/no-main.mlir -o %t/b.onnx 2>&1 | FileCheck %s --check-prefix=MAIN
// RUN: not qqq-translate --export-onnx %t/elided.mlir -o %t/c.onnx 2>&1 | FileCheck %s --check-prefix=ELIDED
// RUN: not qqq-translate --export-onnx %t/slice-rows.mlir -o %t/d.onnx 2>&1 | FileCheck %s --check-prefix=SLICE
// RUN: not qqq-translate --export-onnx %t/dim-alone.mlir -o %t/e.onnx 2>&1 | FileCheck %s --check-prefix=DIM
// RUN: qqq-translate --export-onnx %t/slice-cols.mlir -o %t/f.onnx
// RUN: not ls %t/a.onnx %t/b.onnx %t/c.onnx %t/d.onnx %t/e.onnx

//--- unknown-op.mlir
// OP: error: 'arith.addf' cannot be exported to ONNX (no exporter is registered for it)
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

//--- no-main.mlir
// MAIN: error: export needs a 'func.func @main' with a body
func.func @other(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

//--- elided.mlir
// ELIDED: error: the data of resource 'w' is missing (was it elided when printing?)
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %w = arith.constant dense_resource<w> : tensor<4xf32>
  %y = qqq.onnx_node "Add"(%x, %w) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

//--- slice-rows.mlir
// Only the column slices qqq-fuse-projections makes have an ONNX form.
// SLICE: slice-rows.mlir:4:8: error: only slices of the last dimension (constant offset and size, unit stride, every other dimension whole) can be exported to ONNX
func.func @main(%x: tensor<4x8xf32>) -> tensor<2x8xf32> {
  %y = tensor.extract_slice %x[1, 0] [2, 8] [1, 1] : tensor<4x8xf32> to tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

//--- dim-alone.mlir
// DIM: dim-alone.mlir:4:8: error: tensor.dim can be exported to ONNX only as the size of a tensor.extract_slice
func.func @main(%x: tensor<?x8xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %y = tensor.empty(%d) : tensor<?xf32>
  return %y : tensor<?xf32>
}

//--- slice-cols.mlir
func.func @main(%x: tensor<?x8xf32>) -> tensor<?x3xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %y = tensor.extract_slice %x[0, 5] [%d, 3] [1, 1] : tensor<?x8xf32> to tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
