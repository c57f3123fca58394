// RUN: %PYTHON %S/Inputs/gen_model.py %t.unused.mlir %t.safetensors
// RUN: qqq-opt %s --qqq-smooth="calibration=%t.safetensors" 2>&1 >/dev/null | FileCheck %s

// A norm whose result also feeds a non-linear op cannot absorb scales: it is
// skipped with a message naming the activation and its layers.
// CHECK: [qqq-smooth] 1/2 norm0 (layers.0.q_proj): skipped: the activation has readers other than linear layers
// An activation produced by something other than a norm or a Mul of a
// single-use linear (here a function argument) is skipped too.
// CHECK: [qqq-smooth] 2/2 mlp_act (layers.0.down_proj): skipped: activation is a function argument
func.func @f(%x: tensor<?x32xf32>, %m: tensor<?x64xf32>) -> (tensor<?x16xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %g = arith.constant dense<1.0> : tensor<32xf32>
  %w = arith.constant dense<0.5> : tensor<16x32xf32>
  %wd = arith.constant dense<0.25> : tensor<32x64xf32>
  %h = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %y = qqq.linear %h, %w {layer_name = "layers.0.q_proj", input_name = "norm0"} : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %r = qqq.onnx_node "Relu"(%h) : (tensor<?x32xf32>) -> tensor<?x32xf32>
  %d = qqq.linear %m, %wd {layer_name = "layers.0.down_proj", input_name = "mlp_act"} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y, %r, %d : tensor<?x16xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}
