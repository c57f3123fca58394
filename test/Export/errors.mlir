// Export errors name the op and exit with status 1.
// RUN: split-file %s %t
// RUN: not qqq-translate --export-onnx %t/unknown-op.mlir -o %t/a.onnx 2>&1 | FileCheck %s --check-prefix=OP
// RUN: not qqq-translate --export-onnx %t/no-main.mlir -o %t/b.onnx 2>&1 | FileCheck %s --check-prefix=MAIN
// RUN: not qqq-translate --export-onnx %t/elided.mlir -o %t/c.onnx 2>&1 | FileCheck %s --check-prefix=ELIDED
// RUN: not ls %t/a.onnx %t/b.onnx %t/c.onnx

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
