// RUN: qqq-opt %s --qqq-select-kernels | FileCheck %s
// RUN: qqq-opt %s --qqq-select-kernels="arch=sm_80 buckets=16,64,0" | FileCheck %s --check-prefix=SM80
// RUN: qqq-opt %s --qqq-select-kernels="gpu='Test GPU 80GB' tuning-dir=%S/Inputs/tuning buckets=16,64,0" 2>&1 | FileCheck %s --check-prefix=TUNED
// RUN: not qqq-opt %s --qqq-select-kernels="arch=sm_75" 2>&1 | FileCheck %s --check-prefix=BADARCH
// RUN: not qqq-opt %s --qqq-select-kernels="buckets=64,16,0" 2>&1 | FileCheck %s --check-prefix=BADBUCKETS

// Heuristic (catalog defaultConfig), sm_90a: one configuration per catalog
// bucket. Up to M = 16 one warpgroup, 256-wide K tiles, split-K while CTAs
// are few; M = 32 and 64: token tiles of the bucket, one warpgroup for N <
// 6144; from M = 128 two warpgroups, token tiles halved (down to 32) while
// the tiles would be under 0.4 waves (N = 256: two row tiles, so down to 32
// for bounded buckets, 128 for the unbounded one, taken as M = 4096),
// 256-wide K tiles for token tiles up to 64, no split with fewer than 4 K
// tiles per split (K = 512).
// CHECK-LABEL: func.func @per_channel
// CHECK: qqq.w4a8_linear
// CHECK-SAME: kernels = [#qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 16, tile_n = 64, tile_k = 256, stages = 4, warps = 4, split_k = 2, swap_ab = true>,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 32, tile_m = 32, tile_n = 64, tile_k = 256, stages = 4, warps = 4, split_k = 1,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 64, tile_m = 64, tile_n = 64,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 128, tile_m = 32, tile_n = 128, tile_k = 256, stages = 4, warps = 8,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 256, tile_m = 32,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 512, tile_m = 32,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 1024, tile_m = 32,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 128, tile_k = 128,
// CHECK-SAME: layer_name = "layers.0.q_proj"
// CHECK-LABEL: func.func @per_group
// CHECK: qqq.w4a8_linear {{.*}} group_scale
// CHECK-SAME: group_size = 128
// CHECK-SAME: kernels = [#qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 16, tile_n = 64, tile_k = 256, stages = 4, warps = 4, split_k = 1, swap_ab = true>,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 32, tile_m = 32, tile_n = 64, tile_k = 256, stages = 4, warps = 4,
// CHECK-SAME: #qqq.kernel<arch = "sm_90a", max_m = 64, tile_m = 64, tile_n = 64,

// SM80-LABEL: func.func @per_channel
// SM80: kernels = [#qqq.kernel<arch = "sm_80", max_m = 16, tile_m = 16, tile_n = 64, {{.*}}>, #qqq.kernel<arch = "sm_80", max_m = 64, tile_m = 64, {{.*}}>, #qqq.kernel<arch = "sm_80", max_m = 0, tile_m = 64, {{.*}}>]

// The table has buckets 16 and 0 of the per-channel shape: bucket 64 is
// served by the unbounded entry (smallest max_m >= 64), whose token tiles
// first flag is carried into the attribute; the per-group shape
// is not in the table and gets the heuristic, with a remark.
// TUNED: remark: layer 'layers.1.down_proj' (N = 128, K = 256, group 128): 3 of 3 M buckets not in the tuning table; heuristic used (tune it: tools/qqq-tune/qqq-tune.sh --shapes 128x256)
// TUNED-LABEL: func.func @per_channel
// TUNED: kernels = [#qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 8, tile_n = 64, tile_k = 64, stages = 3, warps = 4, split_k = 8, swap_ab = true>, #qqq.kernel<arch = "sm_90a", max_m = 64, tile_m = 64, tile_n = 128, tile_k = 128, stages = 3, warps = 8, split_k = 1, swap_ab = true, stream_k = 132>, #qqq.kernel<arch = "sm_90a", max_m = 0, tile_m = 128, tile_n = 128, tile_k = 128, stages = 3, warps = 8, split_k = 1, swap_ab = true, token_tiles_first = true>]

// BADARCH: error: qqq-select-kernels: unknown arch 'sm_75'
// BADBUCKETS: error: qqq-select-kernels: buckets must increase and end with 0

func.func @per_channel(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<sm90_interleaved>, layer_name = "layers.0.q_proj"}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}

func.func @per_group(%x: tensor<?x256xi8>, %s: tensor<?x1xf32>) -> tensor<?x128xf16> {
  %w = arith.constant dense<17> : tensor<128x128xi8>
  %sch = arith.constant dense<0.5> : tensor<128xf32>
  %sg = arith.constant dense<1.0> : tensor<2x128xf16>
  %y = qqq.w4a8_linear %x, %s, %w, %sch group_scale %sg {layout = #qqq.layout<sm90_interleaved>, group_size = 128 : i64, layer_name = "layers.1.down_proj"}
      : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<128x128xi8>, tensor<128xf32>, tensor<2x128xf16>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
