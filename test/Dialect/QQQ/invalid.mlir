// RUN: qqq-opt %s --split-input-file --verify-diagnostics

// One case per verifier error of the qqq dialect.

func.func @linear_weight_rank(%x: tensor<3x8xf32>, %w: tensor<8xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{weight must be rank 2 (NxK), got rank 1}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<4x8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{input must have rank >= 1}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<f32>, tensor<4x8xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @linear_empty_layer_name(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{layer_name must not be empty}}
  %y = qqq.linear %x, %w {layer_name = "", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_empty_input_name(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{input_name must not be empty}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = ""} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_missing_input_name(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{requires attribute 'input_name'}}
  %y = qqq.linear %x, %w {layer_name = "l"} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_int_weight(%x: tensor<3x8xf32>, %w: tensor<4x8xi32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{operand #1 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xi32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_k_mismatch(%x: tensor<3x16xf32>, %w: tensor<4x8xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{input features (16) do not match the weight's K (8)}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x16xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_kn_k_mismatch(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{input features (8) do not match the weight's K (4)}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x", weight_kn} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @linear_result_type(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x4xf16> {
  // expected-error @+1 {{result element type 'f16' differs from input element type 'f32'}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf16>
  return %y : tensor<3x4xf16>
}

// -----

func.func @linear_result_rank(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<1x3x4xf32> {
  // expected-error @+1 {{result must have the rank of input (2), got 3}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<1x3x4xf32>
  return %y : tensor<1x3x4xf32>
}

// -----

func.func @linear_result_rows(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  // expected-error @+1 {{result dimension 0 (5) does not match input (3)}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32>
  return %y : tensor<5x4xf32>
}

// -----

func.func @linear_result_n(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) -> tensor<3x6xf32> {
  // expected-error @+1 {{result last dimension must be 4, got 6}}
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x6xf32>
  return %y : tensor<3x6xf32>
}

// -----

func.func @linear_bias_rank(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>, %b: tensor<1x4xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{bias must be rank 1, got rank 2}}
  %y = qqq.linear %x, %w, %b {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<1x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @linear_bias_size(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>, %b: tensor<5xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{bias must have 4 elements, got 5}}
  %y = qqq.linear %x, %w, %b {layer_name = "l", input_name = "x"} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<5xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @rms_result_type(%x: tensor<3x8xf32>, %g: tensor<8xf32>) -> tensor<3x8xf16> {
  // expected-error @+1 {{result type must equal the input type}}
  %y = qqq.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf16>
  return %y : tensor<3x8xf16>
}

// -----

func.func @rms_input_rank(%x: tensor<f32>, %g: tensor<8xf32>) -> tensor<f32> {
  // expected-error @+1 {{input must have rank >= 1}}
  %y = qqq.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : (tensor<f32>, tensor<8xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @rms_gamma_rank(%x: tensor<3x8xf32>, %g: tensor<1x8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{gamma must be rank 1, got rank 2}}
  %y = qqq.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : (tensor<3x8xf32>, tensor<1x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @rms_gamma_size(%x: tensor<3x8xf32>, %g: tensor<6xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{gamma must have 8 elements, got 6}}
  %y = qqq.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : (tensor<3x8xf32>, tensor<6xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @rms_epsilon(%x: tensor<3x8xf32>, %g: tensor<8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{epsilon must be positive, got 0}}
  %y = qqq.rms_norm %x, %g {epsilon = 0.0 : f32} : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @rms_missing_epsilon(%x: tensor<3x8xf32>, %g: tensor<8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{requires attribute 'epsilon'}}
  %y = qqq.rms_norm %x, %g : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @qa_rank(%x: tensor<f32>) -> (tensor<i8>, tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %q, %s = qqq.quantize_act %x : tensor<f32> -> (tensor<i8>, tensor<f32>)
  return %q, %s : tensor<i8>, tensor<f32>
}

// -----

func.func @qa_output_shape(%x: tensor<3x8xf32>) -> (tensor<3x4xi8>, tensor<3x1xf32>) {
  // expected-error @+1 {{output last dimension must be 8, got 4}}
  %q, %s = qqq.quantize_act %x : tensor<3x8xf32> -> (tensor<3x4xi8>, tensor<3x1xf32>)
  return %q, %s : tensor<3x4xi8>, tensor<3x1xf32>
}

// -----

func.func @qa_scale_shape(%x: tensor<3x8xf32>) -> (tensor<3x8xi8>, tensor<3x8xf32>) {
  // expected-error @+1 {{scale last dimension must be 1, got 8}}
  %q, %s = qqq.quantize_act %x : tensor<3x8xf32> -> (tensor<3x8xi8>, tensor<3x8xf32>)
  return %q, %s : tensor<3x8xi8>, tensor<3x8xf32>
}

// -----

func.func @qa_scale_rows(%x: tensor<3x8xf32>) -> (tensor<3x8xi8>, tensor<2x1xf32>) {
  // expected-error @+1 {{scale dimension 0 (2) does not match input (3)}}
  %q, %s = qqq.quantize_act %x : tensor<3x8xf32> -> (tensor<3x8xi8>, tensor<2x1xf32>)
  return %q, %s : tensor<3x8xi8>, tensor<2x1xf32>
}

// -----

func.func @qa_output_type(%x: tensor<3x8xf32>) -> (tensor<3x8xi32>, tensor<3x1xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 8-bit signless integer values}}
  %q, %s = qqq.quantize_act %x : tensor<3x8xf32> -> (tensor<3x8xi32>, tensor<3x1xf32>)
  return %q, %s : tensor<3x8xi32>, tensor<3x1xf32>
}

// -----

func.func @rnq_gamma(%x: tensor<3x8xf32>, %g: tensor<4xf32>) -> (tensor<3x8xi8>, tensor<3x1xf32>) {
  // expected-error @+1 {{gamma must have 8 elements, got 4}}
  %q, %s = qqq.rms_norm_quantize %x, %g {epsilon = 1.0e-5 : f32} : (tensor<3x8xf32>, tensor<4xf32>) -> (tensor<3x8xi8>, tensor<3x1xf32>)
  return %q, %s : tensor<3x8xi8>, tensor<3x1xf32>
}

// -----

func.func @rnq_scale(%x: tensor<3x8xf32>, %g: tensor<8xf32>) -> (tensor<3x8xi8>, tensor<3xf32>) {
  // expected-error @+1 {{scale must have the rank of input (2), got 1}}
  %q, %s = qqq.rms_norm_quantize %x, %g {epsilon = 1.0e-5 : f32} : (tensor<3x8xf32>, tensor<8xf32>) -> (tensor<3x8xi8>, tensor<3xf32>)
  return %q, %s : tensor<3x8xi8>, tensor<3xf32>
}

// -----

func.func @rnq_epsilon(%x: tensor<3x8xf32>, %g: tensor<8xf32>) -> (tensor<3x8xi8>, tensor<3x1xf32>) {
  // expected-error @+1 {{epsilon must be positive, got -1}}
  %q, %s = qqq.rms_norm_quantize %x, %g {epsilon = -1.0 : f32} : (tensor<3x8xf32>, tensor<8xf32>) -> (tensor<3x8xi8>, tensor<3x1xf32>)
  return %q, %s : tensor<3x8xi8>, tensor<3x1xf32>
}

// -----

func.func @w4_input_rank(%q: tensor<i8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<64xf16> {
  // expected-error @+1 {{input must have rank >= 1}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<i8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<64xf16>
  return %y : tensor<64xf16>
}

// -----

func.func @w4_empty_name(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{layer_name must not be empty}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = ""} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_missing_layout(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{requires attribute 'layout'}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_input_scale(%q: tensor<4x256xi8>, %s: tensor<4x2xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{input_scale last dimension must be 1, got 2}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x2xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_input_scale_rank(%q: tensor<4x256xi8>, %s: tensor<4xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{input_scale must have the rank of input (2), got 1}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_weight_rank(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<8192xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{packed weight must be rank 2 ([N, K/2]), got rank 1}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<8192xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_weight_type(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi32>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{operand #2 must be ranked tensor of 8-bit signless integer values}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi32>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_odd_k(%q: tensor<4x255xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{K (255) must be even to pack int4 pairs}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x255xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_packed_k(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x64xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{packed weight has 64 bytes per row but K = 256 needs 128}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_channel_scale(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<32xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{channel_scale must have 64 elements, got 32}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<32xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_channel_scale_type(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit float values}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_bias(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %b: tensor<63xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{bias must have 64 elements, got 63}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch bias %b {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<63xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_scale_no_size(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %sg: tensor<2x64xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{group_scale requires a group_size attribute}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_size_no_scale(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{group_size requires a group_scale operand}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", group_size = 128 : i64} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_size_16(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %sg: tensor<2x64xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{group_size must be a positive multiple of 16, got 100}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {layout = #qqq.layout<row_major>, layer_name = "l", group_size = 100 : i64} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_divides(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %sg: tensor<2x64xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{group_size 96 does not divide K = 256}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {layout = #qqq.layout<row_major>, layer_name = "l", group_size = 96 : i64} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_scale_rank(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %sg: tensor<128xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{group_scale must be rank 2 ([K/G, N]), got rank 1}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {layout = #qqq.layout<row_major>, layer_name = "l", group_size = 128 : i64} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<128xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_scale_shape(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %sg: tensor<64x2xf16>) -> tensor<4x64xf16> {
  // expected-error @+1 {{group_scale must have shape [2, 64], got [64, 2]}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {layout = #qqq.layout<row_major>, layer_name = "l", group_size = 128 : i64} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64x2xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_group_scale_type(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>, %sg: tensor<2x64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{operand #4 must be ranked tensor of 16-bit float values}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {layout = #qqq.layout<row_major>, layer_name = "l", group_size = 128 : i64} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_scheme_bits(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{scheme must be 4-bit weights and 8-bit activations, got w8a8}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", scheme = #qqq.scheme<weight_bits = 8, act_bits = 8, group_size = 0, symmetric = true, method = rtn, preprocess = none>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_scheme_group(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{scheme group_size 128 differs from the op's group_size 0}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", scheme = #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = 128, symmetric = true, method = rtn, preprocess = none>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4_result_n(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x32xf16> {
  // expected-error @+1 {{result last dimension must be 64, got 32}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x32xf16>
  return %y : tensor<4x32xf16>
}

// -----

func.func @w4_result_rows(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<5x64xf16> {
  // expected-error @+1 {{result dimension 0 (5) does not match input (4)}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<5x64xf16>
  return %y : tensor<5x64xf16>
}

// -----

func.func @w4_result_type(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xbf16> {
  // expected-error @+1 {{result #0 must be ranked tensor of 16-bit float or 32-bit float values}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l"} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xbf16>
  return %y : tensor<4x64xbf16>
}

// -----

func.func @scheme_wbits() attributes {
  // expected-error @+1 {{weight_bits must be in [2, 8], got 1}}
  qqq.a = #qqq.scheme<weight_bits = 1, act_bits = 8, group_size = 0, symmetric = true, method = gptq, preprocess = none>} {
  return
}

// -----

func.func @scheme_abits() attributes {
  // expected-error @+1 {{act_bits must be in [2, 16], got 32}}
  qqq.a = #qqq.scheme<weight_bits = 4, act_bits = 32, group_size = 0, symmetric = true, method = gptq, preprocess = none>} {
  return
}

// -----

func.func @scheme_gneg() attributes {
  // expected-error @+1 {{group_size must be 0 (per channel) or positive, got -1}}
  qqq.a = #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = -1, symmetric = true, method = gptq, preprocess = none>} {
  return
}

// -----

func.func @scheme_g16() attributes {
  // expected-error @+1 {{group_size must be a multiple of 16, got 100}}
  qqq.a = #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = 100, symmetric = true, method = gptq, preprocess = none>} {
  return
}

// -----

func.func @kernel_arch() attributes {
  // expected-error @+1 {{arch must name an sm_XX target, got gfx90a}}
  qqq.a = #qqq.kernel<arch = "gfx90a", max_m = 0, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = false>} {
  return
}

// -----

func.func @kernel_maxm() attributes {
  // expected-error @+1 {{max_m must be 0 (unbounded) or positive, got -4}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = -4, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = false>} {
  return
}

// -----

func.func @kernel_tile() attributes {
  // expected-error @+1 {{tile_m must be a power of two >= 8, got 24}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 24, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = false>} {
  return
}

// -----

func.func @kernel_stages() attributes {
  // expected-error @+1 {{stages must be in [1, 8], got 0}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 16, tile_n = 128, tile_k = 128, stages = 0, warps = 4, split_k = 1, swap_ab = false>} {
  return
}

// -----

func.func @kernel_warps() attributes {
  // expected-error @+1 {{warps must be in [1, 32], got 64}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 64, split_k = 1, swap_ab = false>} {
  return
}

// -----

func.func @kernel_splitk() attributes {
  // expected-error @+1 {{split_k must be >= 1, got 0}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 0, swap_ab = false>} {
  return
}

// -----

func.func @kernel_streamk_negative() attributes {
  // expected-error @+1 {{stream_k must be 0 (off) or positive, got -1}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true, stream_k = -1>} {
  return
}

// -----

func.func @kernel_streamk_with_splitk() attributes {
  // expected-error @+1 {{stream_k = 132 requires split_k = 1, got split_k = 2}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 2, swap_ab = true, stream_k = 132>} {
  return
}

// -----

func.func @kernel_token_tiles_first_with_stream_k() attributes {
  // expected-error @+1 {{token_tiles_first requires stream_k = 0, got stream_k = 132}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 256, tile_m = 64, tile_n = 128, tile_k = 128, stages = 4, warps = 8, split_k = 1, swap_ab = true, stream_k = 132, token_tiles_first = true>} {
  return
}

// -----

func.func @kernel_flag_twice() attributes {
  // expected-error @+1 {{expected stream_k or token_tiles_first (each at most once), got 'stream_k'}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 256, tile_m = 64, tile_n = 128, tile_k = 128, stages = 4, warps = 8, split_k = 1, swap_ab = true, stream_k = 132, stream_k = 1>} {
  return
}

// -----

func.func @kernel_token_tiles_first_not_bool() attributes {
  // expected-error @+1 {{token_tiles_first must be true or false}}
  qqq.a = #qqq.kernel<arch = "sm_90a", max_m = 256, tile_m = 64, tile_n = 128, tile_k = 128, stages = 4, warps = 8, split_k = 1, swap_ab = true, token_tiles_first = yes>} {
  return
}

// -----

func.func @bad_method() attributes {
  // expected-error @+2 {{expected one of [rtn, gptq] for how the int4 weights were chosen, got: awq}}
  // expected-error @+1 {{failed to parse QQQ_QuantSchemeAttr parameter 'method'}}
  qqq.a = #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = 0, symmetric = true, method = awq, preprocess = none>} {
  return
}

// -----

func.func @onnx_empty_type(%x: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{op_type must not be empty}}
  %y = qqq.onnx_node ""(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %y : tensor<3xf32>
}

// -----

func.func @w4a8_parts_without_sizes(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{parts and part_sizes must be given together}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", parts = ["a", "b"]} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4a8_parts_one(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{parts must name at least two layers, one per part_sizes entry; got 1 names and 1 sizes}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", parts = ["a"], part_sizes = array<i64: 64>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4a8_parts_count(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{parts must name at least two layers, one per part_sizes entry; got 2 names and 1 sizes}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", parts = ["a", "b"], part_sizes = array<i64: 64>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4a8_parts_duplicate(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{parts must be distinct non-empty layer names, got 'a' twice or empty}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", parts = ["a", "a"], part_sizes = array<i64: 32, 32>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4a8_parts_empty_size(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{part 'b' has 0 output features}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", parts = ["a", "b"], part_sizes = array<i64: 64, 0>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}

// -----

func.func @w4a8_parts_sum(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>) -> tensor<4x64xf16> {
  // expected-error @+1 {{part_sizes sum to 48 but N = 64}}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l", parts = ["a", "b"], part_sizes = array<i64: 32, 16>} : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}
