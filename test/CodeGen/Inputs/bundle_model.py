"""Writes the quantized module of test/CodeGen/export-bundle.test with
non-uniform constants; check_bundle.py recomputes them from the same rules."""
import struct


def weight_byte(i):
    return (i * 7 + 3) % 256


def s_ch(i):
    return 0.25 * (i % 4 + 1)


def s_grp(i):
    return 0.5 + 0.25 * (i % 8)


def bias(i):
    return -float(i % 3)


def gamma(i):
    return 0.5 + 0.125 * (i % 5)


def hexdata(data):
    return '"0x' + data.hex().upper() + '"'


def f32s(values):
    return hexdata(struct.pack("<%df" % len(values), *values))


def f16s(values):
    return hexdata(struct.pack("<%de" % len(values), *values))


if __name__ == "__main__":
    w1 = hexdata(bytes(weight_byte(i) for i in range(256 * 256)))
    w2 = hexdata(bytes(weight_byte(i) for i in range(128 * 128)))
    print(f"""func.func @per_channel(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {{
  %w = arith.constant dense<{w1}> : tensor<256x256xi8>
  %sch = arith.constant dense<{f32s([s_ch(i) for i in range(256)])}> : tensor<256xf32>
  %y = qqq.w4a8_linear %x, %s, %w, %sch {{layout = #qqq.layout<sm90_interleaved>, layer_name = "layers.0.q_proj"}}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}}

func.func @per_group(%x: tensor<?x256xi8>, %s: tensor<?x1xf32>) -> tensor<?x128xf16> {{
  %w = arith.constant dense<{w2}> : tensor<128x128xi8>
  %sch = arith.constant dense<{f32s([s_ch(i) for i in range(128)])}> : tensor<128xf32>
  %sg = arith.constant dense<{f16s([s_grp(i) for i in range(256)])}> : tensor<2x128xf16>
  %b = arith.constant dense<{f16s([bias(i) for i in range(128)])}> : tensor<128xf16>
  %y = qqq.w4a8_linear %x, %s, %w, %sch group_scale %sg bias %b {{layout = #qqq.layout<sm90_interleaved>, group_size = 128 : i64, layer_name = "layers.1.down_proj"}}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<128x128xi8>, tensor<128xf32>, tensor<2x128xf16>, tensor<128xf16>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}}

func.func @norm_quantizer(%a: tensor<?x256xf16>) -> (tensor<?x256xi8>, tensor<?x1xf32>) {{
  %g = arith.constant dense<{f16s([gamma(i) for i in range(256)])}> : tensor<256xf16>
  %q, %s = qqq.rms_norm_quantize %a, %g {{epsilon = 1.0e-05 : f32}}
      : (tensor<?x256xf16>, tensor<256xf16>) -> (tensor<?x256xi8>, tensor<?x1xf32>)
  return %q, %s : tensor<?x256xi8>, tensor<?x1xf32>
}}

func.func @f32_norm_quantizer(%a: tensor<?x256xf32>) -> (tensor<?x256xi8>, tensor<?x1xf32>) {{
  %g = arith.constant dense<{f32s([gamma(i) for i in range(256)])}> : tensor<256xf32>
  %q, %s = qqq.rms_norm_quantize %a, %g {{epsilon = 1.0e-06 : f32}}
      : (tensor<?x256xf32>, tensor<256xf32>) -> (tensor<?x256xi8>, tensor<?x1xf32>)
  return %q, %s : tensor<?x256xi8>, tensor<?x1xf32>
}}

func.func @token_quantizer(%a: tensor<?x?x512xf16>) -> tensor<?x?x256xf16> {{
  %q, %s = qqq.quantize_act %a : tensor<?x?x512xf16> -> (tensor<?x?x512xi8>, tensor<?x?x1xf32>)
  %w = arith.constant dense<{w1}> : tensor<256x256xi8>
  %sch = arith.constant dense<{f32s([s_ch(i) for i in range(256)])}> : tensor<256xf32>
  %y = qqq.w4a8_linear %q, %s, %w, %sch {{layout = #qqq.layout<sm90_interleaved>, layer_name = "layers.0.v_proj"}}
      : (tensor<?x?x512xi8>, tensor<?x?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x?x256xf16>
  return %y : tensor<?x?x256xf16>
}}""")
