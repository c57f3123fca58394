// RUN: qqq-opt %s --split-input-file | qqq-opt --split-input-file | FileCheck %s
// RUN: qqq-opt %s --split-input-file --mlir-print-op-generic | qqq-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<?x?x32xf32> {
  // CHECK: %[[Y:.+]] = qqq.linear %{{.+}}, %{{.+}}, %{{.+}} {input_name = "h0", layer_name = "layers.0.q_proj"} : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %y = qqq.linear %x, %w, %b {layer_name = "layers.0.q_proj", input_name = "h0"}
      : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  // CHECK: return %[[Y]]
  return %y : tensor<?x?x32xf32>
}

// -----

// CHECK-LABEL: func.func @linear_kn
func.func @linear_kn(%x: tensor<5x64xf16>, %w: tensor<64x32xf16>) -> tensor<5x32xf16> {
  // CHECK: qqq.linear %{{.+}}, %{{.+}} {input_name = "x", layer_name = "mlp.up", weight_kn}
  %y = qqq.linear %x, %w {layer_name = "mlp.up", input_name = "x", weight_kn}
      : (tensor<5x64xf16>, tensor<64x32xf16>) -> tensor<5x32xf16>
  return %y : tensor<5x32xf16>
}

// -----

// CHECK-LABEL: func.func @linear_resource_weight
func.func @linear_resource_weight(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  // CHECK: %[[W:.+]] = arith.constant dense_resource<w0> : tensor<2x4xf32>
  %w = arith.constant dense_resource<w0> : tensor<2x4xf32>
  // CHECK: qqq.linear %{{.+}}, %[[W]]
  %y = qqq.linear %x, %w {layer_name = "l", input_name = "x"}
      : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @rms_norm
func.func @rms_norm(%x: tensor<?x64xbf16>, %g: tensor<64xbf16>) -> tensor<?x64xbf16> {
  // CHECK: qqq.rms_norm %{{.+}}, %{{.+}} {epsilon = 9.99999974E-6 : f32}
  %y = qqq.rms_norm %x, %g {epsilon = 1.0e-05 : f32}
      : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// CHECK-LABEL: func.func @quantize_act
func.func @quantize_act(%x: tensor<?x?x64xf16>) -> (tensor<?x?x64xi8>, tensor<?x?x1xf32>) {
  // CHECK: %[[Q:.+]], %[[S:.+]] = qqq.quantize_act %{{.+}} : tensor<?x?x64xf16> -> (tensor<?x?x64xi8>, tensor<?x?x1xf32>)
  %q, %s = qqq.quantize_act %x : tensor<?x?x64xf16> -> (tensor<?x?x64xi8>, tensor<?x?x1xf32>)
  // CHECK: return %[[Q]], %[[S]]
  return %q, %s : tensor<?x?x64xi8>, tensor<?x?x1xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm_quantize
func.func @rms_norm_quantize(%x: tensor<3x64xf32>, %g: tensor<64xf32>) -> (tensor<3x64xi8>, tensor<3x1xf32>) {
  // CHECK: qqq.rms_norm_quantize %{{.+}}, %{{.+}} {epsilon = 9.99999997E-7 : f32} : (tensor<3x64xf32>, tensor<64xf32>) -> (tensor<3x64xi8>, tensor<3x1xf32>)
  %q, %s = qqq.rms_norm_quantize %x, %g {epsilon = 1.0e-06 : f32}
      : (tensor<3x64xf32>, tensor<64xf32>) -> (tensor<3x64xi8>, tensor<3x1xf32>)
  return %q, %s : tensor<3x64xi8>, tensor<3x1xf32>
}

// -----

// CHECK-LABEL: func.func @w4a8_per_channel
func.func @w4a8_per_channel(%q: tensor<?x256xi8>, %s: tensor<?x1xf32>, %w: tensor<64x128xi8>,
                            %sch: tensor<64xf32>, %b: tensor<64xf16>) -> tensor<?x64xf16> {
  // CHECK: qqq.w4a8_linear %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} bias %{{.+}} {kernels = [#qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 4, swap_ab = true>], layer_name = "mlp.down", layout = #qqq.layout<sm90_interleaved>, scheme = #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = 0, symmetric = true, method = gptq, preprocess = smooth>}
  %y = qqq.w4a8_linear %q, %s, %w, %sch bias %b {
      layout = #qqq.layout<sm90_interleaved>, layer_name = "mlp.down",
      scheme = #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = 0, symmetric = true, method = gptq, preprocess = smooth>,
      kernels = [#qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 16, tile_n = 128, tile_k = 128, stages = 4, warps = 4, split_k = 4, swap_ab = true>]}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xf16>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// stream_k is printed only when set (0, off, is the default).
// CHECK-LABEL: func.func @w4a8_stream_k
func.func @w4a8_stream_k(%q: tensor<?x256xi8>, %s: tensor<?x1xf32>, %w: tensor<64x128xi8>,
                         %sch: tensor<64xf32>) -> tensor<?x64xf16> {
  // CHECK: kernels = [#qqq.kernel<arch = "sm_90a", max_m = 64, tile_m = 64, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true, stream_k = 132>, #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true>]
  %y = qqq.w4a8_linear %q, %s, %w, %sch {
      layout = #qqq.layout<sm90_interleaved>, layer_name = "mlp.down",
      kernels = [#qqq.kernel<arch = "sm_90a", max_m = 64, tile_m = 64, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true, stream_k = 132>,
                 #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true, stream_k = 0>]}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// token_tiles_first likewise (false is the default); the flags parse in
// either order and print stream_k first.
// CHECK-LABEL: func.func @w4a8_token_tiles_first
func.func @w4a8_token_tiles_first(%q: tensor<?x256xi8>, %s: tensor<?x1xf32>, %w: tensor<64x128xi8>,
                                  %sch: tensor<64xf32>) -> tensor<?x64xf16> {
  // CHECK: kernels = [#qqq.kernel<arch = "sm_90a", max_m = 256, tile_m = 64, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 2, swap_ab = true, token_tiles_first = true>, #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true>]
  %y = qqq.w4a8_linear %q, %s, %w, %sch {
      layout = #qqq.layout<sm90_interleaved>, layer_name = "mlp.down",
      kernels = [#qqq.kernel<arch = "sm_90a", max_m = 256, tile_m = 64, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 2, swap_ab = true, token_tiles_first = true, stream_k = 0>,
                 #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true, token_tiles_first = false>]}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// A layer fused from two (qqq-fuse-projections): its parts in column order.
// CHECK-LABEL: func.func @w4a8_fused_parts
func.func @w4a8_fused_parts(%q: tensor<?x256xi8>, %s: tensor<?x1xf32>, %w: tensor<96x128xi8>,
                            %sch: tensor<96xf32>) -> tensor<?x96xf16> {
  // CHECK: qqq.w4a8_linear {{.*}}layer_name = "attn.q_proj+k_proj", layout = #qqq.layout<row_major>, part_sizes = array<i64: 64, 32>, parts = ["attn.q_proj", "attn.k_proj"]}
  %y = qqq.w4a8_linear %q, %s, %w, %sch {
      layout = #qqq.layout<row_major>, layer_name = "attn.q_proj+k_proj",
      parts = ["attn.q_proj", "attn.k_proj"], part_sizes = array<i64: 64, 32>}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<96x128xi8>, tensor<96xf32>) -> tensor<?x96xf16>
  return %y : tensor<?x96xf16>
}

// -----

// CHECK-LABEL: func.func @w4a8_per_group
func.func @w4a8_per_group(%q: tensor<2x7x256xi8>, %s: tensor<2x7x1xf32>, %w: tensor<64x128xi8>,
                          %sch: tensor<64xf32>, %sg: tensor<2x64xf16>) -> tensor<2x7x64xf32> {
  // CHECK: qqq.w4a8_linear %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} group_scale %{{.+}} {group_size = 128 : i64, layer_name = "q", layout = #qqq.layout<row_major>}
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {
      layout = #qqq.layout<row_major>, group_size = 128 : i64, layer_name = "q"}
      : (tensor<2x7x256xi8>, tensor<2x7x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>) -> tensor<2x7x64xf32>
  return %y : tensor<2x7x64xf32>
}

// -----

// CHECK-LABEL: func.func @w4a8_group_and_bias
func.func @w4a8_group_and_bias(%q: tensor<4x256xi8>, %s: tensor<4x1xf32>, %w: tensor<64x128xi8>,
                               %sch: tensor<64xf32>, %sg: tensor<4x64xf16>, %b: tensor<64xf16>) -> tensor<4x64xf16> {
  // CHECK: group_scale %{{.+}} bias %{{.+}} {group_size = 64 : i64
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg bias %b {
      layout = #qqq.layout<sm80_interleaved>, group_size = 64 : i64, layer_name = "q"}
      : (tensor<4x256xi8>, tensor<4x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<4x64xf16>, tensor<64xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}
