// RUN: qqq-opt %s --split-input-file --qqq-rotate --verify-diagnostics

// qqq-rotate proves that folding is exact before it changes anything; each
// case breaks one condition and gets an error naming the op.

func.func @stream_read_by_other_op(%ids: tensor<1x2xi64>, %e: tensor<3x4xf32>, %g: tensor<4xf32>) -> tensor<1x2x4xf32> {
  %ec = arith.constant dense<1.0> : tensor<3x4xf32>
  %gc = arith.constant dense<1.0> : tensor<4xf32>
  %h = qqq.onnx_node "Gather"(%ec, %ids) {onnx_attrs = {axis = 0 : i64}} : (tensor<3x4xf32>, tensor<1x2xi64>) -> tensor<1x2x4xf32>
  %n = qqq.rms_norm %h, %gc {epsilon = 1.0e-05 : f32} : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  // expected-error @+1 {{qqq-rotate: the residual stream is read by 'qqq.onnx_node', which does not commute with the rotation}}
  %s = qqq.onnx_node "Softmax"(%h) : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %s : tensor<1x2x4xf32>
}

// -----

func.func @norm_read_by_other_op(%ids: tensor<1x2xi64>) -> tensor<1x2x4xf32> {
  %ec = arith.constant dense<1.0> : tensor<3x4xf32>
  %gc = arith.constant dense<1.0> : tensor<4xf32>
  %h = qqq.onnx_node "Gather"(%ec, %ids) {onnx_attrs = {axis = 0 : i64}} : (tensor<3x4xf32>, tensor<1x2xi64>) -> tensor<1x2x4xf32>
  %n = qqq.rms_norm %h, %gc {epsilon = 1.0e-05 : f32} : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  // expected-error @+1 {{qqq-rotate: a rotated norm output is read by 'qqq.onnx_node', not a linear layer}}
  %s = qqq.onnx_node "Relu"(%n) : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %s : tensor<1x2x4xf32>
}

// -----

func.func @residual_adds_foreign_value(%ids: tensor<1x2xi64>, %x: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %ec = arith.constant dense<1.0> : tensor<3x4xf32>
  %gc = arith.constant dense<1.0> : tensor<4xf32>
  %h = qqq.onnx_node "Gather"(%ec, %ids) {onnx_attrs = {axis = 0 : i64}} : (tensor<3x4xf32>, tensor<1x2xi64>) -> tensor<1x2x4xf32>
  // expected-error @+1 {{qqq-rotate: residual Add 'bad_add' adds a value that is neither the stream nor a linear layer's output}}
  %a = qqq.onnx_node "Add"(%h, %x) {node_name = "bad_add"} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %n = qqq.rms_norm %a, %gc {epsilon = 1.0e-05 : f32} : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  return %n : tensor<1x2x4xf32>
}

// -----

// expected-error @+1 {{qqq-rotate: no embedding Gather of a constant [vocab, 4] table starts the residual stream}}
module {
  func.func @no_embedding(%h: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
    %gc = arith.constant dense<1.0> : tensor<4xf32>
    %n = qqq.rms_norm %h, %gc {epsilon = 1.0e-05 : f32} : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
    return %n : tensor<1x2x4xf32>
  }
}

// -----

// expected-error @+1 {{qqq-rotate: no qqq.rms_norm in the module; nothing defines the residual stream}}
module {
  func.func @no_norm(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
    return %x : tensor<1x4xf32>
  }
}

// -----

// expected-error @+1 {{qqq-rotate: hidden size 6:}}
module {
  func.func @unsupported_size(%ids: tensor<1x2xi64>) -> tensor<1x2x2xf32> {
    %ec = arith.constant dense<1.0> : tensor<3x6xf32>
    %gc = arith.constant dense<1.0> : tensor<6xf32>
    %w = arith.constant dense<1.0> : tensor<2x6xf32>
    %h = qqq.onnx_node "Gather"(%ec, %ids) {onnx_attrs = {axis = 0 : i64}} : (tensor<3x6xf32>, tensor<1x2xi64>) -> tensor<1x2x6xf32>
    %n = qqq.rms_norm %h, %gc {epsilon = 1.0e-05 : f32} : (tensor<1x2x6xf32>, tensor<6xf32>) -> tensor<1x2x6xf32>
    %y = qqq.linear %n, %w {layer_name = "head", input_name = "n"} : (tensor<1x2x6xf32>, tensor<2x6xf32>) -> tensor<1x2x2xf32>
    return %y : tensor<1x2x2xf32>
  }
}
