// RUN: qqq-opt %s --qqq-quantize-act --split-input-file 2>/dev/null | FileCheck %s

// Two quantizers of one rms_norm result become one rms_norm_quantize.
// CHECK-LABEL: func.func @fuse
// CHECK-SAME:  (%[[X:.*]]: tensor<?x32xf32>, %[[G:.*]]: tensor<32xf32>
// CHECK-NEXT:  %[[Q:.*]], %[[S:.*]] = qqq.rms_norm_quantize %[[X]], %[[G]] {epsilon = 9.99999974E-6 : f32}
// CHECK-NOT:   qqq.quantize_act
// CHECK-NOT:   qqq.rms_norm
// CHECK:       return %[[Q]], %[[S]], %[[Q]], %[[S]]
func.func @fuse(%x: tensor<?x32xf32>, %g: tensor<32xf32>)
    -> (tensor<?x32xi8>, tensor<?x1xf32>, tensor<?x32xi8>, tensor<?x1xf32>) {
  %h = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %q0, %s0 = qqq.quantize_act %h : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  %q1, %s1 = qqq.quantize_act %h : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  return %q0, %s0, %q1, %s1 : tensor<?x32xi8>, tensor<?x1xf32>, tensor<?x32xi8>, tensor<?x1xf32>
}

// -----

// The norm has a floating-point reader too: quantizers merge, no fusion.
// CHECK-LABEL: func.func @keep_norm
// CHECK:       %[[H:.*]] = qqq.rms_norm
// CHECK-NEXT:  %[[Q:.*]], %[[S:.*]] = qqq.quantize_act %[[H]]
// CHECK-NOT:   qqq.quantize_act
// CHECK:       return %[[H]], %[[Q]], %[[S]], %[[Q]]
func.func @keep_norm(%x: tensor<?x32xf32>, %g: tensor<32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xi8>, tensor<?x1xf32>, tensor<?x32xi8>) {
  %h = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %q0, %s0 = qqq.quantize_act %h : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  %q1, %s1 = qqq.quantize_act %h : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  return %h, %q0, %s0, %q1 : tensor<?x32xf32>, tensor<?x32xi8>, tensor<?x1xf32>, tensor<?x32xi8>
}

// -----

// A quantizer of a function argument moves to the top of the block; one of
// an ONNX node result is placed right after the node.
// CHECK-LABEL: func.func @placement
// CHECK-NEXT:  %[[Q:.*]], %[[S:.*]] = qqq.quantize_act %arg0
// CHECK-NEXT:  %[[M:.*]] = qqq.onnx_node "Relu"
// CHECK-NEXT:  %[[Q2:.*]], %[[S2:.*]] = qqq.quantize_act %[[M]]
// CHECK:       return %[[Q]], %[[Q2]], %[[Q]]
func.func @placement(%x: tensor<?x32xf32>) -> (tensor<?x32xi8>, tensor<?x32xi8>, tensor<?x32xi8>) {
  %m = qqq.onnx_node "Relu"(%x) : (tensor<?x32xf32>) -> tensor<?x32xf32>
  %q0, %s0 = qqq.quantize_act %x : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  %q1, %s1 = qqq.quantize_act %m : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  %q2, %s2 = qqq.quantize_act %x : tensor<?x32xf32> -> (tensor<?x32xi8>, tensor<?x1xf32>)
  return %q0, %q1, %q2 : tensor<?x32xi8>, tensor<?x32xi8>, tensor<?x32xi8>
}
