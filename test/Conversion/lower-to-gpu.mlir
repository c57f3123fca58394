// RUN: qqq-opt %s --qqq-select-kernels="buckets=16,0" --qqq-lower-to-gpu="cache-dir=%t.cache" | FileCheck %s
// Second run: the PTX comes from the cache and the output is identical.
// RUN: qqq-opt %s --qqq-select-kernels="buckets=16,0" --qqq-lower-to-gpu="cache-dir=%t.cache" > %t.second.mlir
// RUN: qqq-opt %s --qqq-select-kernels="buckets=16,0" --qqq-lower-to-gpu="cache-dir=off" > %t.nocache.mlir
// RUN: diff %t.second.mlir %t.nocache.mlir
// The output parses again (printable and parseable representation).
// RUN: qqq-opt %t.second.mlir | FileCheck %s --check-prefix=ROUNDTRIP

// One gpu.binary per generated kernel, holding its PTX for sm_90a; the
// properties record the template instance and its launch rules.
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.binary @[[PC16:qqq_w4a8_gemm_sm90_[0-9]+]] [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a">, properties = {args = ["x", "s_tok", "w_packed", "s_ch", "s_grp", "bias", "y", "M", "workspace", "x_map"], block = array<i64: 128, 1, 1>, entry = "[[PC16E:[_A-Za-z0-9]+]]", expression = "qqq::w4a8_gemm_sm90_cluster<256, 512, 0, 16, 64, 256, 4, 4, 2>", family = "w4a8_gemm_sm90", grid = [4, array<i64: 1, 16, 0>, 2], programmatic_launch = true, shared_bytes = 58624 : i64, workspace_bytes = 0 : i64}, assembly = "{{.*}}.target sm_90a{{.*}}.entry [[PC16E]]({{.*}}wgmma.mma_async{{.*}}">]
// CHECK: gpu.binary @[[PC0:qqq_w4a8_gemm_sm90_[0-9]+]] {{.*}}entry = "[[PC0E:[_A-Za-z0-9]+]]", expression = "qqq::w4a8_gemm_sm90<256, 512, 0, 128, 128, 128, 4, 8, 1>"{{.*}}.entry [[PC0E]](
// CHECK: gpu.binary @[[PG16:qqq_w4a8_gemm_sm90_[0-9]+]] {{.*}}entry = "[[PG16E:[_A-Za-z0-9]+]]", expression = "qqq::w4a8_gemm_sm90<128, 256, 128, 16, 64, 256, 4, 4, 1>"
// CHECK: gpu.binary @[[PG0:qqq_w4a8_gemm_sm90_[0-9]+]] {{.*}}entry = "[[PG0E:[_A-Za-z0-9]+]]", expression = "qqq::w4a8_gemm_sm90<128, 256, 128, 64, 128, 256, 4, 8, 1>"
// CHECK: gpu.binary @[[QA:qqq_quantize_act_[0-9]+]] {{.*}}args = ["x", "q", "s_tok", "M"], block = array<i64: 256, 1, 1>, entry = "[[QAE:[_A-Za-z0-9]+]]", expression = "qqq::quantize_act<512, 256>"{{.*}}grid = [array<i64: 1, 1, 0>, 1, 1], programmatic_launch = true
// CHECK: gpu.binary @[[RN:qqq_rms_norm_quantize_[0-9]+]] {{.*}}args = ["x", "gamma", "epsilon", "q", "s_tok", "M"]{{.*}}entry = "[[RNE:[_A-Za-z0-9]+]]", expression = "qqq::rms_norm_quantize<256, 256>"

// Per-channel: M from the input, bucket = (M > 16), one launch per bucket;
// grid (N/64, ceil(M/16), split_k 2), split-K reduced inside a thread-block
// cluster (no workspace: a null pointer), no group
// scales and no bias (null pointers).
// CHECK-LABEL: func.func @per_channel
// CHECK-SAME: (%[[X:.*]]: tensor<?x512xi8>, %[[S:.*]]: tensor<?x1xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x512xi8> to memref<?x512xi8>
// CHECK: %[[SC:.*]] = tensor.collapse_shape %[[S]] {{\[\[}}0, 1]] : tensor<?x1xf32> into tensor<?xf32>
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[SC]] read_only
// CHECK: %[[WB:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<256x256xi8> to memref<256x256xi8>
// CHECK: %[[CB:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<256xf32> to memref<256xf32>
// CHECK: %[[M:.*]] = memref.dim %[[XB]], %{{.*}} : memref<?x512xi8>
// CHECK: %[[Y:.*]] = gpu.alloc  (%[[M]]) : memref<?x256xf16>
// CHECK: %[[MI:.*]] = arith.index_cast %[[M]] : index to i32
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[GT:.*]] = arith.cmpi ugt, %[[M]], %[[C16]] : index
// CHECK: %[[B:.*]] = arith.index_castui %[[GT]] : i1 to index
// CHECK: scf.index_switch %[[B]]
// CHECK-NEXT: case 0 {
// CHECK-NOT: gpu.alloc
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// 16-token tiles read no activation tensor map: its operand is zeros.
// CHECK: %[[MAP:.*]] = arith.constant dense<0> : vector<16xi64>
// CHECK: %[[GX:.*]] = arith.constant 4 : index
// CHECK: %[[GY:.*]] = arith.ceildivui %[[M]], %{{.*}} : index
// CHECK: %[[GZ:.*]] = arith.constant 2 : index
// CHECK: %[[BX:.*]] = arith.constant 128 : index
// CHECK: %[[SMEM:.*]] = arith.constant 58624 : i32
// CHECK: gpu.launch_func  @[[PC16]]::@[[PC16E]] blocks in (%[[GX]], %[[GY]], %[[GZ]]) threads in (%[[BX]], %{{.*}}, %{{.*}})  dynamic_shared_memory_size %[[SMEM]] args(%[[XB]] : memref<?x512xi8>, %[[SB]] : memref<?xf32>, %[[WB]] : memref<256x256xi8>, %[[CB]] : memref<256xf32>, %[[NULL]] : !llvm.ptr, %[[NULL]] : !llvm.ptr, %[[Y]] : memref<?x256xf16>, %[[MI]] : i32, %[[NULL]] : !llvm.ptr, %[[MAP]] : vector<16xi64>)
// CHECK-NOT: gpu.dealloc
// CHECK: default {
// 128-token tiles read x through a TMA tensor map (boxes of 128 bytes x 128
// rows) that the runtime's C interface encodes; passed by value.
// CHECK: %[[MAPBUF:.*]] = memref.alloca() {alignment = 64 : i64} : memref<16xi64>
// CHECK: %[[XANY:.*]] = memref.cast %[[XB]] : memref<?x512xi8> to memref<?x?xi8>
// CHECK: %[[ROWS:.*]] = arith.constant 128 : i64
// CHECK: func.call @qqq_encode_activation_map(%[[XANY]], %[[ROWS]], %[[MAPBUF]])
// CHECK: %[[MAP0:.*]] = vector.load %[[MAPBUF]][%{{.*}}] : memref<16xi64>, vector<16xi64>
// CHECK: arith.constant 256 : index
// CHECK: arith.constant 132352 : i32
// CHECK: gpu.launch_func  @[[PC0]]::@[[PC0E]] blocks in {{.*}}, %[[MAP0]] : vector<16xi64>)
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[Y]] restrict writable : memref<?x256xf16> to tensor<?x256xf16>
// CHECK: return %[[R]]

// Per-group: the f16 group scales are the fifth argument.
// CHECK-LABEL: func.func @per_group
// CHECK: %[[GS:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<2x128xf16> to memref<2x128xf16>
// Per group with K = 256 (one 256-wide K tile, no split); no bias and no
// workspace are null pointers.
// CHECK: gpu.launch_func  @[[PG16]]::@[[PG16E]] blocks in ({{.*}}) threads in ({{.*}}) dynamic_shared_memory_size %{{.*}} args({{.*}}, %[[GS]] : memref<2x128xf16>, %[[NULL2:.*]] : !llvm.ptr, %{{.*}} : memref<?x128xf16>, %{{.*}} : i32, %[[NULL2]] : !llvm.ptr, %{{.*}} : vector<16xi64>)
// CHECK: gpu.launch_func  @[[PG0]]::@[[PG0E]]

// A [B, T, K] activation: leading dimensions collapsed to M and restored;
// quantize_act launches M blocks; the f32 result widens the f16 output.
// CHECK-LABEL: func.func @batched_with_quantizer
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<?x?x512xf16> into tensor<?x512xf16>
// CHECK: %[[QM:.*]] = memref.dim
// CHECK: gpu.launch_func  @[[QA]]::@[[QAE]] blocks in (%[[QM]], %{{.*}}, %{{.*}}) threads in
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 512] : tensor<?x512xi8> into tensor<?x?x512xi8>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [%{{.*}}, %{{.*}}, 1] : tensor<?xf32> into tensor<?x?x1xf32>
// CHECK: gpu.launch_func  @[[PC16]]::@[[PC16E]]
// CHECK: tensor.expand_shape %{{.*}} : tensor<?x256xf16> into tensor<?x?x256xf16>
// CHECK: arith.extf %{{.*}} : tensor<?x?x256xf16> to tensor<?x?x256xf32>

// CHECK-LABEL: func.func @norm_quantizer
// CHECK: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: gpu.launch_func  @[[RN]]::@[[RNE]] {{.*}} args(%{{.*}} : memref<?x256xf16>, %{{.*}} : memref<256xf16>, %[[EPS]] : f32, %{{.*}} : memref<?x256xi8>, %{{.*}} : memref<?xf32>, %{{.*}} : i32)

// Models in f32: the activations (and gamma) are rounded to f16 in the IR
// before the f16 kernels; the same kernel instance serves both functions.
// CHECK-LABEL: func.func @f32_norm_quantizer
// CHECK: %[[XH:.*]] = arith.truncf %{{.*}} : tensor<?x256xf32> to tensor<?x256xf16>
// CHECK: bufferization.to_buffer %[[XH]]
// CHECK: %[[GH:.*]] = arith.truncf %{{.*}} : tensor<256xf32> to tensor<256xf16>
// CHECK: bufferization.to_buffer %[[GH]]
// CHECK: gpu.launch_func  @[[RN]]::@[[RNE]]
// The map encoder, declared once (MLIR C interface).
// CHECK: func.func private @qqq_encode_activation_map(memref<?x?xi8>, i64, memref<16xi64>) attributes {llvm.emit_c_interface}

// ROUNDTRIP: gpu.launch_func  @qqq_w4a8_gemm_sm90_0::@_ZN3qqq22w4a8_gemm_sm90_cluster

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

func.func @batched_with_quantizer(%a: tensor<?x?x512xf16>) -> tensor<?x?x256xf32> {
  %q, %s = qqq.quantize_act %a : tensor<?x?x512xf16> -> (tensor<?x?x512xi8>, tensor<?x?x1xf32>)
  %w = arith.constant dense<17> : tensor<256x256xi8>
  %sch = arith.constant dense<0.5> : tensor<256xf32>
  %y = qqq.w4a8_linear %q, %s, %w, %sch {layout = #qqq.layout<sm90_interleaved>, layer_name = "layers.0.k_proj"}
      : (tensor<?x?x512xi8>, tensor<?x?x1xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<?x?x256xf32>
  return %y : tensor<?x?x256xf32>
}

func.func @norm_quantizer(%a: tensor<?x256xf16>) -> (tensor<?x256xi8>, tensor<?x1xf32>) {
  %g = arith.constant dense<1.0> : tensor<256xf16>
  %q, %s = qqq.rms_norm_quantize %a, %g {epsilon = 1.0e-05 : f32}
      : (tensor<?x256xf16>, tensor<256xf16>) -> (tensor<?x256xi8>, tensor<?x1xf32>)
  return %q, %s : tensor<?x256xi8>, tensor<?x1xf32>
}

func.func @f32_norm_quantizer(%a: tensor<?x256xf32>) -> (tensor<?x256xi8>, tensor<?x1xf32>) {
  %g = arith.constant dense<1.0> : tensor<256xf32>
  %q, %s = qqq.rms_norm_quantize %a, %g {epsilon = 1.0e-05 : f32}
      : (tensor<?x256xf32>, tensor<256xf32>) -> (tensor<?x256xi8>, tensor<?x1xf32>)
  return %q, %s : tensor<?x256xi8>, tensor<?x1xf32>
}
