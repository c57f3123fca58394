// RUN: qqq-opt %s --qqq-fuse-projections --split-input-file --verify-diagnostics 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=LOG < %t.err

// q, k, v read one quantizer's output: one GEMM, in module order, and each old
// result is its columns of it. `o` reads other activations and stays alone.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[Q:.+]]: tensor<?x256xi8>, %[[S:.+]]: tensor<?x1xf32>, %[[A:.+]]: tensor<?x256xi8>
// CHECK: %[[F:.+]] = qqq.w4a8_linear %[[Q]], %[[S]], %{{.+}}, %{{.+}} {layer_name = "layers.0.attn.q_proj+k_proj+v_proj", layout = #qqq.layout<row_major>, part_sizes = array<i64: 64, 32, 32>, parts = ["layers.0.attn.q_proj", "layers.0.attn.k_proj", "layers.0.attn.v_proj"]} : ({{.*}}tensor<128x128xi8>, tensor<128xf32>) -> tensor<?x128xf16>
// CHECK: %[[D0:.+]] = tensor.dim %[[F]], %c0
// CHECK: %[[YQ:.+]] = tensor.extract_slice %[[F]][0, 0] [%[[D0]], 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
// CHECK: %[[YK:.+]] = tensor.extract_slice %[[F]][0, 64] [%{{.+}}, 32] [1, 1]
// CHECK: %[[YV:.+]] = tensor.extract_slice %[[F]][0, 96] [%{{.+}}, 32] [1, 1]
// CHECK: %[[O:.+]] = qqq.w4a8_linear %[[A]], {{.*}}layer_name = "layers.0.attn.o_proj"
// CHECK-NOT: parts
// CHECK: return %[[YQ]], %[[YK]], %[[YV]], %[[O]]
// LOG: [qqq-fuse-projections] 3 layer(s) fused into 1 GEMM(s)
func.func @qkv(%q: tensor<?x256xi8>, %s: tensor<?x1xf32>, %a: tensor<?x256xi8>, %as: tensor<?x1xf32>)
    -> (tensor<?x64xf16>, tensor<?x32xf16>, tensor<?x32xf16>, tensor<?x64xf16>) {
  %wq = arith.constant dense<17> : tensor<64x128xi8>
  %cq = arith.constant dense<1.0> : tensor<64xf32>
  %yq = qqq.w4a8_linear %q, %s, %wq, %cq {layout = #qqq.layout<row_major>, layer_name = "layers.0.attn.q_proj"}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x64xf16>
  %wk = arith.constant dense<34> : tensor<32x128xi8>
  %ck = arith.constant dense<2.0> : tensor<32xf32>
  %yk = qqq.w4a8_linear %q, %s, %wk, %ck {layout = #qqq.layout<row_major>, layer_name = "layers.0.attn.k_proj"}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<32x128xi8>, tensor<32xf32>) -> tensor<?x32xf16>
  %wv = arith.constant dense<51> : tensor<32x128xi8>
  %cv = arith.constant dense<3.0> : tensor<32xf32>
  %yv = qqq.w4a8_linear %q, %s, %wv, %cv {layout = #qqq.layout<row_major>, layer_name = "layers.0.attn.v_proj"}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<32x128xi8>, tensor<32xf32>) -> tensor<?x32xf16>
  %wo = arith.constant dense<68> : tensor<64x128xi8>
  %co = arith.constant dense<4.0> : tensor<64xf32>
  %yo = qqq.w4a8_linear %a, %as, %wo, %co {layout = #qqq.layout<row_major>, layer_name = "layers.0.attn.o_proj"}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x64xf16>
  return %yq, %yk, %yv, %yo : tensor<?x64xf16>, tensor<?x32xf16>, tensor<?x32xf16>, tensor<?x64xf16>
}

// -----

// Group scales are stacked along N ([K/G, N]), biases too; batched (rank 3)
// activations keep both leading dimensions. Layers differing in group size
// or bias presence are not fused with these.
// CHECK-LABEL: func.func @gate_up
// CHECK: %[[F:.+]] = qqq.w4a8_linear %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} group_scale %{{.+}} bias %{{.+}} {group_size = 128 : i64, layer_name = "mlp.gate_proj+up_proj", {{.*}}part_sizes = array<i64: 64, 64>, parts = ["mlp.gate_proj", "mlp.up_proj"]} : ({{.*}}tensor<128x128xi8>, tensor<128xf32>, tensor<2x128xf16>, tensor<128xf16>) -> tensor<2x?x128xf16>
// CHECK: tensor.extract_slice %[[F]][0, 0, 0] [2, %{{.+}}, 64] [1, 1, 1] : tensor<2x?x128xf16> to tensor<2x?x64xf16>
// CHECK: layer_name = "mlp.nobias"
// CHECK: layer_name = "mlp.g64"
// CHECK: tensor.extract_slice %[[F]][0, 0, 64] [2, %{{.+}}, 64] [1, 1, 1]
// LOG: [qqq-fuse-projections] 2 layer(s) fused into 1 GEMM(s)
func.func @gate_up(%q: tensor<2x?x256xi8>, %s: tensor<2x?x1xf32>)
    -> (tensor<2x?x64xf16>, tensor<2x?x64xf16>, tensor<2x?x64xf16>, tensor<2x?x64xf16>) {
  %w = arith.constant dense<17> : tensor<64x128xi8>
  %c = arith.constant dense<1.0> : tensor<64xf32>
  %g = arith.constant dense<0.5> : tensor<2x64xf16>
  %g64 = arith.constant dense<0.5> : tensor<4x64xf16>
  %b = arith.constant dense<0.25> : tensor<64xf16>
  %y0 = qqq.w4a8_linear %q, %s, %w, %c group_scale %g bias %b {layout = #qqq.layout<row_major>, group_size = 128 : i64, layer_name = "mlp.gate_proj"}
      : (tensor<2x?x256xi8>, tensor<2x?x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>, tensor<64xf16>) -> tensor<2x?x64xf16>
  %y1 = qqq.w4a8_linear %q, %s, %w, %c group_scale %g {layout = #qqq.layout<row_major>, group_size = 128 : i64, layer_name = "mlp.nobias"}
      : (tensor<2x?x256xi8>, tensor<2x?x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>) -> tensor<2x?x64xf16>
  %y2 = qqq.w4a8_linear %q, %s, %w, %c group_scale %g64 bias %b {layout = #qqq.layout<row_major>, group_size = 64 : i64, layer_name = "mlp.g64"}
      : (tensor<2x?x256xi8>, tensor<2x?x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<4x64xf16>, tensor<64xf16>) -> tensor<2x?x64xf16>
  %y3 = qqq.w4a8_linear %q, %s, %w, %c group_scale %g bias %b {layout = #qqq.layout<row_major>, group_size = 128 : i64, layer_name = "mlp.up_proj"}
      : (tensor<2x?x256xi8>, tensor<2x?x1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<2x64xf16>, tensor<64xf16>) -> tensor<2x?x64xf16>
  return %y0, %y1, %y2, %y3 : tensor<2x?x64xf16>, tensor<2x?x64xf16>, tensor<2x?x64xf16>, tensor<2x?x64xf16>
}

// -----

// After kernel selection the fused shape would have no kernels.
func.func @has_kernels(%q: tensor<?x256xi8>, %s: tensor<?x1xf32>) -> (tensor<?x64xf16>) {
  %w = arith.constant dense<17> : tensor<64x128xi8>
  %c = arith.constant dense<1.0> : tensor<64xf32>
  // expected-error @+1 {{qqq-fuse-projections: layer 'l' already has kernels (run this pass before qqq-select-kernels)}}
  %y = qqq.w4a8_linear %q, %s, %w, %c {layout = #qqq.layout<row_major>, layer_name = "l",
      kernels = [#qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 64, tile_n = 64, tile_k = 128, stages = 4, warps = 4, split_k = 1, swap_ab = true>]}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
