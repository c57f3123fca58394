// RUN: qqq-opt %s --qqq-select-kernels="arch=sm_80 buckets=16,0" --qqq-lower-to-gpu="arch=sm_80 cache-dir=off" | FileCheck %s

// The mma.sync kernels reduce split-K partials in a global int32 workspace:
// the lowering allocates it per launch, zeroes it (the last CTA of each tile
// leaves it zeroed again) and frees it after the launch.
// The mma.sync kernel does not wait for the previous grid itself: it is
// never launched programmatically.
// CHECK: gpu.binary @{{.*}}expression = "qqq::w4a8_gemm_sm80<256, 512, 0, 16, 64, 128, 4, 4, 4>"{{.*}}programmatic_launch = false{{.*}}workspace_bytes = array<i64: 16400, 16, 0>}
// CHECK-LABEL: func.func @split_k
// CHECK: case 0 {
// CHECK: %[[WS:.*]] = gpu.alloc  (%{{.*}}) : memref<?xi32>
// CHECK: gpu.memset  %[[WS]], %{{.*}} : memref<?xi32>, i32
// CHECK: gpu.launch_func {{.*}} args({{.*}}, %[[WS]] : memref<?xi32>)
// CHECK: gpu.dealloc  %[[WS]] : memref<?xi32>
func.func @split_k(%x: tensor<?x512xi8>, %s: tensor<?x1xf32>) -> tensor<?x256xf16> {
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  %y = qqq.w4a8_linear %x, %s, %w, %sch {layout = #qqq.layout<sm80_interleaved>, layer_name = "layers.0.q_proj"}
      : (tensor<?x512xi8>, tensor<?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x256xf16>
  return %y : tensor<?x256xf16>
}
