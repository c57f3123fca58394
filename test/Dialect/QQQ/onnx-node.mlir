// RUN: qqq-opt %s | qqq-opt | FileCheck %s
// RUN: qqq-opt %s --mlir-print-op-generic | qqq-opt | FileCheck %s

// The generic op carries any ONNX node: op type, domain, node name and
// attributes of every kind survive printing and parsing.

// CHECK-LABEL: func.func @carried
func.func @carried(%x: tensor<2x?x8xf32>, %pos: tensor<2x?xi64>) -> (tensor<2x?x8xf32>, tensor<2x?x8xf32>) {
  // CHECK: %[[N:.+]] = qqq.none
  %none = qqq.none
  // CHECK: %[[S:.+]] = qqq.onnx_node "Softmax"(%{{.+}}) {node_name = "attn/softmax", onnx_attrs = {axis = -1 : i64}} : (tensor<2x?x8xf32>) -> tensor<2x?x8xf32>
  %s = qqq.onnx_node "Softmax"(%x) {node_name = "attn/softmax", onnx_attrs = {axis = -1 : i64}}
      : (tensor<2x?x8xf32>) -> tensor<2x?x8xf32>
  // CHECK: qqq.onnx_node "RotaryEmbedding"(%[[S]], %{{.+}}, %[[N]]) {domain = "com.microsoft", onnx_attrs = {interleaved = 0 : i64, names = ["a", "b"], scale = 5.000000e-01 : f32, table = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>}}
  %r = qqq.onnx_node "RotaryEmbedding"(%s, %pos, %none) {domain = "com.microsoft",
      onnx_attrs = {interleaved = 0 : i64, scale = 0.5 : f32, names = ["a", "b"],
                    table = dense<[1.0, 2.0]> : tensor<2xf32>}}
      : (tensor<2x?x8xf32>, tensor<2x?xi64>, none) -> tensor<2x?x8xf32>
  // CHECK: qqq.onnx_node "Split"
  // CHECK-SAME: -> (tensor<2x?x4xf32>, tensor<2x?x4xf32>)
  %a, %b = qqq.onnx_node "Split"(%r) {onnx_attrs = {axis = 2 : i64, num_outputs = 2 : i64}}
      : (tensor<2x?x8xf32>) -> (tensor<2x?x4xf32>, tensor<2x?x4xf32>)
  // CHECK: qqq.onnx_node "Concat"
  %c = qqq.onnx_node "Concat"(%a, %b) {onnx_attrs = {axis = 2 : i64}}
      : (tensor<2x?x4xf32>, tensor<2x?x4xf32>) -> tensor<2x?x8xf32>
  return %s, %c : tensor<2x?x8xf32>, tensor<2x?x8xf32>
}
