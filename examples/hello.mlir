// A small quantized layer: what qqq-opt parses, verifies and prints back.
func.func @layer(%x: tensor<?x256xf16>, %w: tensor<64x128xi8>, %sch: tensor<64xf32>,
                 %sg: tensor<2x64xf16>) -> tensor<?x64xf16> {
  %q, %s = qqq.quantize_act %x : tensor<?x256xf16> -> (tensor<?x256xi8>, tensor<?x1xf32>)
  %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {
      layout = #qqq.layout<row_major>, group_size = 128 : i64, layer_name = "layers.0.q_proj"}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
