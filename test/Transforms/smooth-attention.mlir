// RUN: %PYTHON %S/Inputs/gen_model.py %t.unused.mlir %t.safetensors
// RUN: qqq-opt %s --qqq-smooth="calibration=%t.safetensors mode=smoothquant report=%t.json" 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=LOG < %t.err
// RUN: FileCheck %s --check-prefix=REPORT < %t.json
// RUN: qqq-opt %s --qqq-smooth="calibration=%t.safetensors mode=smoothquant v-proj=" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOV

// o_proj's input is the attention output: attention is linear in V per
// channel, so with kv-heads == heads (v_proj's 64 rows are o_proj's 64
// channels) the scales go into v_proj's rows and bias.
// LOG: [qqq-smooth] 1/4 norm0 (layers.0.self_attn.v_proj): scales in [
// LOG: [qqq-smooth] 2/4 mlp_act (layers.0.self_attn.o_proj): scales in [
// REPORT:      "activation": "mlp_act",
// REPORT:      "applied": true,
// REPORT:      "folded_into": "rows of layers.0.self_attn.v_proj",
// CHECK-LABEL: func.func @mha
// CHECK: %[[V:.*]] = qqq.linear %{{.*}}, %{{.*}}, %{{.*}} {input_name = "norm0", layer_name = "layers.0.self_attn.v_proj"}
// CHECK: %[[A:.*]] = qqq.onnx_node "Transpose"(%[[V]])
// CHECK: qqq.linear %[[A]], %{{.*}} {input_name = "mlp_act", layer_name = "layers.0.self_attn.o_proj"}
// Without a v_proj pattern the attention output has no foldable producer.
// NOV: [qqq-smooth] 2/4 mlp_act (layers.0.self_attn.o_proj): skipped: producer is onnx 'Transpose', not an elementwise Mul with a single-use linear operand
func.func @mha(%x: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %g = arith.constant dense<1.0> : tensor<32xf32>
  %wv = arith.constant dense<0.125> : tensor<64x32xf32>
  %bv = arith.constant dense<0.5> : tensor<64xf32>
  %wo = arith.constant dense<0.25> : tensor<32x64xf32>
  %h = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<1x4x32xf32>, tensor<32xf32>) -> tensor<1x4x32xf32>
  %v = qqq.linear %h, %wv, %bv {layer_name = "layers.0.self_attn.v_proj", input_name = "norm0"} : (tensor<1x4x32xf32>, tensor<64x32xf32>, tensor<64xf32>) -> tensor<1x4x64xf32>
  %a = qqq.onnx_node "Transpose"(%v) {perm = [0, 1, 2]} : (tensor<1x4x64xf32>) -> tensor<1x4x64xf32>
  %o = qqq.linear %a, %wo {layer_name = "layers.0.self_attn.o_proj", input_name = "mlp_act"} : (tensor<1x4x64xf32>, tensor<32x64xf32>) -> tensor<1x4x32xf32>
  return %o : tensor<1x4x32xf32>
}

// Grouped-query attention: v_proj's 32 rows feed o_proj's 64 channels (each
// value head serves two query heads), so no per-channel scale can be folded.
// LOG: [qqq-smooth] 4/4 gqa_out (layers.1.self_attn.o_proj): skipped: grouped-query attention: 'layers.1.self_attn.v_proj' has 32 rows for 64 channels of 'layers.1.self_attn.o_proj' (one v row feeds several heads, so per-channel scales cannot be folded exactly)
// CHECK-LABEL: func.func @gqa
func.func @gqa(%x: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %g = arith.constant dense<1.0> : tensor<32xf32>
  %wv = arith.constant dense<0.125> : tensor<32x32xf32>
  %wo = arith.constant dense<0.25> : tensor<32x64xf32>
  %h = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<1x4x32xf32>, tensor<32xf32>) -> tensor<1x4x32xf32>
  %v = qqq.linear %h, %wv {layer_name = "layers.1.self_attn.v_proj", input_name = "norm0"} : (tensor<1x4x32xf32>, tensor<32x32xf32>) -> tensor<1x4x32xf32>
  %a = qqq.onnx_node "Concat"(%v, %v) {axis = -1 : si64} : (tensor<1x4x32xf32>, tensor<1x4x32xf32>) -> tensor<1x4x64xf32>
  %o = qqq.linear %a, %wo {layer_name = "layers.1.self_attn.o_proj", input_name = "gqa_out"} : (tensor<1x4x64xf32>, tensor<32x64xf32>) -> tensor<1x4x32xf32>
  return %o : tensor<1x4x32xf32>
}
