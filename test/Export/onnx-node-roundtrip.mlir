// qqq.onnx_node exports verbatim: attributes of every kind, absent inputs,
// domains, unnamed nodes; importing the export gives the same IR.
// RUN: qqq-translate --export-onnx %s -o %t.onnx
// RUN: qqq-translate --import-onnx %t.onnx | FileCheck %s

// CHECK-LABEL: func.func @main(
// CHECK: %[[NONE:.*]] = qqq.none
// CHECK: %[[C:.*]] = qqq.onnx_node "Clip"(%{{.*}}, %[[NONE]], %{{.*}}) {node_name = "clip", qqq.onnx_outputs = ["c"]} : (tensor<?x4xf32>, none, tensor<f32>) -> tensor<?x4xf32>
// CHECK: qqq.onnx_node "Custom"(%[[C]]) {domain = "custom", node_name = "Custom_1", onnx_attrs = {f = 2.500000e+00 : f32, fs = array<f32: 1.000000e+00, 2.000000e+00>, i = 7 : i64, is = array<i64: 1, -1>, s = "text", ss = ["a", "b"], t = dense<[1, 2, 3]> : tensor<3xi64>}, qqq.onnx_outputs = ["y"], qqq.onnx_unnamed} : (tensor<?x4xf32>) -> none
module attributes {qqq.onnx_opset_import = [["", 17], ["custom", 1]]} {
  func.func @main(%x: tensor<?x4xf32> {qqq.onnx_name = "x"}) -> (none {qqq.onnx_name = "y"}) {
    %none = qqq.none
    %hi = arith.constant {qqq.onnx_name = "hi"} dense<6.0> : tensor<f32>
    %c = qqq.onnx_node "Clip"(%x, %none, %hi) {node_name = "clip", qqq.onnx_outputs = ["c"]} : (tensor<?x4xf32>, none, tensor<f32>) -> tensor<?x4xf32>
    %y = qqq.onnx_node "Custom"(%c) {domain = "custom", node_name = "Custom_1", qqq.onnx_unnamed, qqq.onnx_outputs = ["y"],
        onnx_attrs = {i = 7 : i64, f = 2.5 : f32, s = "text", is = array<i64: 1, -1>, fs = array<f32: 1.0, 2.0>, ss = ["a", "b"], t = dense<[1, 2, 3]> : tensor<3xi64>}} : (tensor<?x4xf32>) -> none
    return %y : none
  }
}
