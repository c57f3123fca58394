// RUN: qqq-opt %s --split-input-file --qqq-rotate="seed=7" 2>%t.log | FileCheck %s
// RUN: FileCheck %s --check-prefix=LOG < %t.log

// The residual stream (embedding → Add → final norm) is rotated: the γ of
// both norms becomes 1 (folded into q_proj and lm_head), the embedding, the
// reader weights and the writer (o_proj) get new constants; the structure is
// unchanged. Exactness is checked numerically in python/tests/test_rotate.py.

// CHECK-LABEL: func.func @decoder
// CHECK:       %[[E:.+]] = arith.constant dense<{{.*}}> : tensor<3x4xf32>
// CHECK:       %[[H:.+]] = qqq.onnx_node "Gather"(%[[E]], %{{.+}})
// CHECK:       %[[ONES:.+]] = arith.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK:       %[[N:.+]] = qqq.rms_norm %[[H]], %[[ONES]]
// CHECK:       %[[A:.+]] = qqq.linear %[[N]], %{{.+}} {input_name = "n0", layer_name = "l0.q_proj"}
// CHECK:       %[[O:.+]] = qqq.linear %[[A]], %{{.+}} {input_name = "a0", layer_name = "l0.o_proj"}
// CHECK:       %[[H2:.+]] = qqq.onnx_node "Add"(%[[H]], %[[O]])
// CHECK:       %[[ONES2:.+]] = arith.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK:       %[[NF:.+]] = qqq.rms_norm %[[H2]], %[[ONES2]]
// CHECK:       qqq.linear %[[NF]], %{{.+}} {input_name = "nf", layer_name = "lm_head"}
// CHECK-NOT:   dense<[1.000000e+00, 2.000000e+00, 5.000000e-01, 1.500000e+00]>
// LOG: [qqq-rotate] hidden 4: 2 norms folded, 1 writers, 0 per-head pairs
func.func @decoder(%ids: tensor<1x2xi64>) -> tensor<1x2x3xf32> {
  %e = arith.constant dense<[[0.1, -0.2, 0.3, 0.4], [1.0, 0.5, -0.5, 0.25], [-1.0, 2.0, 0.0, 0.5]]> : tensor<3x4xf32>
  %g = arith.constant dense<[1.0, 2.0, 0.5, 1.5]> : tensor<4xf32>
  %wq = arith.constant dense<[[1.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, -0.5], [0.25, 0.0, 1.0, 0.0], [0.0, 0.5, 0.0, 1.0]]> : tensor<4x4xf32>
  %wo = arith.constant dense<[[0.5, 0.1, 0.0, 0.0], [0.0, 0.5, 0.1, 0.0], [0.0, 0.0, 0.5, 0.1], [0.1, 0.0, 0.0, 0.5]]> : tensor<4x4xf32>
  %gf = arith.constant dense<[0.9, 1.1, 1.0, 0.8]> : tensor<4xf32>
  %wl = arith.constant dense<[[1.0, -1.0, 0.5, 0.0], [0.0, 1.0, 1.0, -1.0], [0.5, 0.5, 0.5, 0.5]]> : tensor<3x4xf32>
  %h = qqq.onnx_node "Gather"(%e, %ids) {node_name = "embed", onnx_attrs = {axis = 0 : i64}} : (tensor<3x4xf32>, tensor<1x2xi64>) -> tensor<1x2x4xf32>
  %n = qqq.rms_norm %h, %g {epsilon = 1.0e-05 : f32} : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  %a = qqq.linear %n, %wq {layer_name = "l0.q_proj", input_name = "n0"} : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %o = qqq.linear %a, %wo {layer_name = "l0.o_proj", input_name = "a0"} : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %h2 = qqq.onnx_node "Add"(%h, %o) {node_name = "l0.residual"} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %nf = qqq.rms_norm %h2, %gf {epsilon = 1.0e-05 : f32} : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  %y = qqq.linear %nf, %wl {layer_name = "lm_head", input_name = "nf"} : (tensor<1x2x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}
