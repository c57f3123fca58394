// RUN: qqq-opt %s --split-input-file --verify-diagnostics --qqq-lower-to-gpu="cache-dir=off"

func.func @no_kernels(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  // expected-error @+1 {{layer 'layers.0.q_proj' has no kernels: run qqq-select-kernels first}}
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<sm90_interleaved>, layer_name = "layers.0.q_proj"}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}

// -----

func.func @wrong_layout(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  // expected-error @+1 {{layer 'l': weights are in layout row_major but the sm_90a kernels read sm90_interleaved (run qqq-pack layout=sm90_interleaved first)}}
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<row_major>, layer_name = "l",
         kernels = [#qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true>]}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}

// -----

func.func @bounded_last_bucket(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  // expected-error @+1 {{kernels must have increasing max_m, the last one 0 (unbounded)}}
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<sm90_interleaved>, layer_name = "l",
         kernels = [#qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 16, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true>]}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}

// -----

func.func @invalid_config(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  // expected-error @+1 {{kernel generation failed: no sm_90a kernel for N = 256, K = 512, group 0: K = 512 must be a multiple of tile_k = 128 giving at least split_k = 8 K tiles}}
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<sm90_interleaved>, layer_name = "l",
         kernels = [#qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 16, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 8, swap_ab = true>]}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}

// -----

func.func @dynamic_k(%a: tensor<?x?xf16>) -> (tensor<?x?xi8>, tensor<?x1xf32>) {
  // expected-error @+1 {{the GPU kernel needs a [..., K] input with static K, got 'tensor<?x?xf16>'}}
  %q, %s = qqq.quantize_act %a : tensor<?x?xf16> -> (tensor<?x?xi8>, tensor<?x1xf32>)
  return %q, %s : tensor<?x?xi8>, tensor<?x1xf32>
}
