// RUN: qqq-opt %s --qqq-select-kernels="gpu='Test GPU 80GB' tuning-dir=%S/../CodeGen/Inputs/tuning buckets=16,64,0" --qqq-lower-to-gpu="cache-dir=off" | FileCheck %s

// The tuning table's M <= 64 entry is stream-K (stream_k = 132): the
// template's STREAM_K flag is set, the grid is 132 persistent CTAs whatever
// M is, and the workspace holds a flag per CTA (132, padded to 160 int32)
// and one 64 x 128 tile of int32 partials per CTA: (160 + 132 * 64 * 128) * 4
// bytes. Its partials are scratch (workspace_scratch): only the flags stay
// zero between launches.
// CHECK: gpu.binary @[[SK:qqq_w4a8_gemm_sm90_[0-9]+]] {{.*}}entry = "[[SKE:[_A-Za-z0-9]+]]", expression = "qqq::w4a8_gemm_sm90<256, 512, 0, 64, 128, 128, 3, 8, 1, true>"{{.*}}grid = [132, 1, 1]{{.*}}workspace_bytes = 4326016 : i64, workspace_scratch, x_map_rows = 64 : i64}
// The unbounded entry runs token tiles first: its template flag follows
// STREAM_K = false, one CTA per tile, no workspace.
// CHECK: gpu.binary @[[TTF:qqq_w4a8_gemm_sm90_[0-9]+]] {{.*}}expression = "qqq::w4a8_gemm_sm90<256, 512, 0, 128, 128, 128, 3, 8, 1, false, true>"
// CHECK-SAME: workspace_bytes = 0 : i64, x_map_rows = 128 : i64}

// The stream-K bucket allocates that workspace zeroed (1081504 int32), hands
// it to the kernel and frees it after the launch; the other buckets pass a
// null pointer.
// CHECK-LABEL: func.func @per_channel
// CHECK: case 1 {
// CHECK: %[[WORDS:.*]] = arith.constant 1081504 : index
// CHECK: %[[WS:.*]] = gpu.alloc  (%[[WORDS]]) : memref<?xi32>
// CHECK: gpu.memset  %[[WS]], %{{.*}} : memref<?xi32>, i32
// CHECK: %[[GX:.*]] = arith.constant 132 : index
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: gpu.launch_func  @[[SK]]::@[[SKE]] blocks in (%[[GX]], %[[ONE]], %{{.*}}) threads in {{.*}} args({{.*}}, %[[WS]] : memref<?xi32>, %{{.*}} : vector<16xi64>)
// CHECK: gpu.dealloc  %[[WS]]
// CHECK: default {
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func

func.func @per_channel(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<sm90_interleaved>, layer_name = "layers.0.q_proj"}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}
