// Layers without a recorded ONNX form (as passes make them) export to
// standard ops, and importing the result raises them again.
// RUN: qqq-translate --export-onnx %s -o %t.onnx --external-data-threshold=64
// RUN: qqq-translate --import-onnx %t.onnx | FileCheck %s
// RUN: qqq-translate --import-onnx --no-raise %t.onnx | FileCheck %s --check-prefix=OPS

// CHECK: module attributes {qqq.onnx_graph_name = "main", qqq.onnx_ir_version = 8 : i64, qqq.onnx_opset_import = {{\[\["", 18\]\]}}, qqq.onnx_producer_name = "qqq"}
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: tensor<?x4xf32> {qqq.onnx_dims = ["tokens", ""], qqq.onnx_name = "x"}
// CHECK: %[[G:.*]] = arith.constant {qqq.onnx_name = "gamma"} dense_resource<gamma> : tensor<4xf32>
// CHECK: %[[W:.*]] = arith.constant {qqq.onnx_name = "w"} dense_resource<w> : tensor<2x4xf32>
// CHECK: %[[B:.*]] = arith.constant {qqq.onnx_name = "b"} dense_resource<b> : tensor<2xf32>
// CHECK: %[[H:.*]] = qqq.rms_norm %[[X]], %[[G]] {epsilon = 9.99999997E-7 : f32, qqq.onnx_chain = {{.*}}, qqq.onnx_form = "decomposed", qqq.onnx_node_name = "norm/Mul", qqq.onnx_output = "h"}
// CHECK: %[[Y:.*]] = qqq.linear %[[H]], %[[W]], %[[B]] {input_name = "h", layer_name = "fc"
// CHECK-SAME: qqq.onnx_transpose = {node = "fc_transpose", output = "w_transposed"}
// CHECK: return %[[Y]]

// OPS-COUNT-6: qqq.onnx_node "{{Pow|ReduceMean|Add|Sqrt|Div|Mul}}"
// OPS: qqq.onnx_node "Transpose"
// OPS: qqq.onnx_node "MatMul"
// OPS: qqq.onnx_node "Add"
module attributes {qqq.onnx_opset_import = [["", 18]]} {
  func.func @main(%x: tensor<?x4xf32> {qqq.onnx_name = "x", qqq.onnx_dims = ["tokens", ""]}) -> (tensor<?x2xf32> {qqq.onnx_name = "y"}) {
    %g = arith.constant {qqq.onnx_name = "gamma"} dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
    %w = arith.constant {qqq.onnx_name = "w"} dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
    %b = arith.constant {qqq.onnx_name = "b"} dense<0.5> : tensor<2xf32>
    %h = qqq.rms_norm %x, %g {epsilon = 1.0e-06 : f32, qqq.onnx_node_name = "norm", qqq.onnx_output = "h"} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %y = qqq.linear %h, %w, %b {layer_name = "fc", input_name = "h"} : (tensor<?x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    return %y : tensor<?x2xf32>
  }
}
