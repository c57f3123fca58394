// RUN: qqq-opt %s --qqq-pack=layout=row_major 2>/dev/null | FileCheck %s
// RUN: not qqq-opt %s --qqq-pack=layout=bogus 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: qqq-opt %s --qqq-pack 2>&1 >/dev/null | FileCheck %s --check-prefix=AUTO

// A row-major weight requested as row_major is left as it is.
// CHECK-LABEL: func.func @linear
// CHECK:       %[[W:.*]] = arith.constant dense<{{\[}}[18, 52], [-1, 0]]> : tensor<2x2xi8>
// CHECK:       qqq.w4a8_linear %arg0, %arg1, %[[W]], {{.*}}layout = #qqq.layout<row_major>
// BAD: error: qqq-pack: unknown layout 'bogus'
// AUTO: [qqq-pack] layout {{row_major|sm90_interleaved}}:
// RUN: not qqq-opt %s --split-input-file --qqq-pack=layout=sm90_interleaved --mlir-elide-elementsattrs-if-larger=4 2>&1 | FileCheck %s --check-prefix=SM90
func.func @linear(%x: tensor<?x4xi8>, %s: tensor<?x1xf32>) -> tensor<?x2xf16> {
  %w = arith.constant dense<[[18, 52], [-1, 0]]> : tensor<2x2xi8>
  %c = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = qqq.w4a8_linear %x, %s, %w, %c {layout = #qqq.layout<row_major>, layer_name = "l"}
      : (tensor<?x4xi8>, tensor<?x1xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf16>
  return %y : tensor<?x2xf16>
}

// -----

// A 64x64 weight re-packs into the sm90 layout (when this build has it); the
// 2x4 weight above cannot, and an explicit request is an error naming it.
// SM90: error: qqq-pack: layer 'l': row_major -> sm90_interleaved:
// SM90-LABEL: func.func @big
// SM90:       qqq.w4a8_linear {{.*}}layout = #qqq.layout<sm90_interleaved>
func.func @big(%x: tensor<?x128xi8>, %s: tensor<?x1xf32>) -> tensor<?x64xf16> {
  %w = arith.constant dense<17> : tensor<64x64xi8>
  %c = arith.constant dense<1.0> : tensor<64xf32>
  %y = qqq.w4a8_linear %x, %s, %w, %c {layout = #qqq.layout<row_major>, layer_name = "big"}
      : (tensor<?x128xi8>, tensor<?x1xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
