//===- QQQOps.td - qqq operations --------------------------*- tablegen -*-===//
#ifndef QQQ_DIALECT_QQQ_IR_QQQOPS_TD
#define QQQ_DIALECT_QQQ_IR_QQQOPS_TD

include "qqq/Dialect/QQQ/IR/QQQDialect.td"
include "qqq/Dialect/QQQ/IR/QQQAttrs.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def QQQ_FloatTensor : RankedTensorOf<[F16, BF16, F32]>;
def QQQ_I8Tensor : RankedTensorOf<[I8]>;
def QQQ_F32Tensor : RankedTensorOf<[F32]>;
def QQQ_F16Tensor : RankedTensorOf<[F16]>;
def QQQ_HalfOrF32Tensor : RankedTensorOf<[F16, F32]>;

//===----------------------------------------------------------------------===//
// Floating-point layers
//===----------------------------------------------------------------------===//

def QQQ_LinearOp : QQQ_Op<"linear", [Pure]> {
  let summary = "floating-point linear layer Y = X·Wᵀ (+ b)";
  let description = [{
    A linear layer whose weight is a constant of N×K (output features ×
    input features), or K×N when `weight_kn` is set (the layout of an ONNX
    `MatMul` initializer, kept so that imported weights stay memory-mapped).
    `layer_name` is the source name of the layer (the ONNX node name) and
    `input_name` the source name of its input activation: calibration
    statistics are keyed by it.

    ```mlir
    %y = qqq.linear %x, %w {layer_name = "layers.0.q_proj",
                            input_name = "layers.0.norm_out"}
        : (tensor<?x?x576xf32>, tensor<576x576xf32>) -> tensor<?x?x576xf32>
    ```
  }];
  let arguments = (ins
    QQQ_FloatTensor:$input,
    QQQ_FloatTensor:$weight,
    Optional<QQQ_FloatTensor>:$bias,
    StrAttr:$layer_name,
    StrAttr:$input_name,
    UnitAttr:$weight_kn);
  let results = (outs QQQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Output features N and input features K of the weight (dynamic if unknown).
    int64_t getOutFeatures();
    int64_t getInFeatures();
  }];
}

def QQQ_RMSNormOp : QQQ_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalization y = x / sqrt(mean(x²) + ε) · γ";
  let description = [{
    Normalizes over the last dimension. γ has the size of that dimension;
    smoothing and rotation fold their scales into it.

    ```mlir
    %y = qqq.rms_norm %x, %gamma {epsilon = 1.0e-05 : f32}
        : (tensor<?x?x576xf32>, tensor<576xf32>) -> tensor<?x?x576xf32>
    ```
  }];
  let arguments = (ins QQQ_FloatTensor:$input, QQQ_FloatTensor:$gamma, F32Attr:$epsilon);
  let results = (outs QQQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Quantized layers
//===----------------------------------------------------------------------===//

def QQQ_QuantizeActOp : QQQ_Op<"quantize_act", [Pure]> {
  let summary = "dynamic per-token symmetric int8 quantization";
  let description = [{
    For every row (token) of the input over its last dimension:
    `s = max|x| / 127`, `q = clamp(round(x / s), -127, 127)` (round half to
    even; a zero row gets s = 0 and q = 0). The scale has the input's shape
    with the last dimension 1.

    ```mlir
    %q, %s = qqq.quantize_act %x
        : tensor<?x576xf16> -> (tensor<?x576xi8>, tensor<?x1xf32>)
    ```
  }];
  let arguments = (ins QQQ_FloatTensor:$input);
  let results = (outs QQQ_I8Tensor:$output, QQQ_F32Tensor:$scale);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` `(` type($output) `,` type($scale) `)`
  }];
  let hasVerifier = 1;
}

def QQQ_RMSNormQuantizeOp : QQQ_Op<"rms_norm_quantize", [Pure]> {
  let summary = "RMS normalization fused with per-token int8 quantization";
  let description = [{
    `qqq.rms_norm` followed by `qqq.quantize_act` in one pass over each row:
    the normalized row is quantized without being written out.

    ```mlir
    %q, %s = qqq.rms_norm_quantize %x, %gamma {epsilon = 1.0e-05 : f32}
        : (tensor<?x576xf16>, tensor<576xf16>) -> (tensor<?x576xi8>, tensor<?x1xf32>)
    ```
  }];
  let arguments = (ins QQQ_FloatTensor:$input, QQQ_FloatTensor:$gamma, F32Attr:$epsilon);
  let results = (outs QQQ_I8Tensor:$output, QQQ_F32Tensor:$scale);
  let assemblyFormat = [{
    $input `,` $gamma attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QQQ_W4A8LinearOp : QQQ_Op<"w4a8_linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "W4A8 linear layer: int8 activations × packed int4 weights";
  let description = [{
    `Y[m, n] = s_tok[m] · s_ch[n] · Σ_k x8[m, k] · w[n, k] (+ b[n])` with int32
    accumulation, where `w` is the int4 weight q (per-channel, q ∈ [-7, 7]) or,
    with group scales, `w = round(q · s_grp[k / G, n])` (q ∈ [-8, 7], |w| ≤ 127,
    the two-level scheme of QQQ). Operands:

    - `input`: int8 activations, `[..., K]`; `input_scale`: f32 `[..., 1]`;
    - `weight`: packed int4, i8 `[N, K/2]`, arranged as `layout` says;
    - `channel_scale`: f32 `[N]`;
    - `group_scale` (with `group_size` G): f16 `[K/G, N]`;
    - `bias`: f16 `[N]`.

    The result is the kernel's f16 output, `[..., N]` (f32 means the same f16
    values widened, for models that run in f32). `scheme` records how the
    weights were made; `kernels` the GEMM configurations chosen per M bucket.
    A layer made by `qqq-fuse-projections` from several layers that read the
    same activations lists them in `parts` (their layer names) and
    `part_sizes` (their output features, in column order, summing to N).

    ```mlir
    %y = qqq.w4a8_linear %q, %s, %w, %sch group_scale %sg {
           layout = #qqq.layout<row_major>, group_size = 128 : i64,
           layer_name = "layers.0.q_proj"}
        : (tensor<?x256xi8>, tensor<?x1xf32>, tensor<64x128xi8>, tensor<64xf32>,
           tensor<2x64xf16>) -> tensor<?x64xf16>
    ```
  }];
  let arguments = (ins
    QQQ_I8Tensor:$input,
    QQQ_F32Tensor:$input_scale,
    QQQ_I8Tensor:$weight,
    QQQ_F32Tensor:$channel_scale,
    Optional<QQQ_F16Tensor>:$group_scale,
    Optional<QQQ_F16Tensor>:$bias,
    QQQ_WeightLayoutAttr:$layout,
    OptionalAttr<I64Attr>:$group_size,
    StrAttr:$layer_name,
    OptionalAttr<QQQ_QuantSchemeAttr>:$scheme,
    OptionalAttr<QQQ_KernelConfigArrayAttr>:$kernels,
    OptionalAttr<StrArrayAttr>:$parts,
    OptionalAttr<DenseI64ArrayAttr>:$part_sizes);
  let results = (outs QQQ_HalfOrF32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $input_scale `,` $weight `,` $channel_scale
    (`group_scale` $group_scale^)? (`bias` $bias^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Output features N, input features K (dynamic if unknown).
    int64_t getOutFeatures();
    int64_t getInFeatures();
    bool isPerGroup() { return getGroupScale() != nullptr; }
    /// Checks `parts` / `part_sizes` against N (the verifier's last step).
    ::mlir::LogicalResult verifyParts(int64_t n);
  }];
}

//===----------------------------------------------------------------------===//
// Carrying ONNX through
//===----------------------------------------------------------------------===//

def QQQ_OnnxNodeOp : QQQ_Op<"onnx_node"> {
  let summary = "an ONNX node that qqq carries without interpreting it";
  let description = [{
    Holds one ONNX node verbatim: its operator type and domain, its node name
    and its attributes (`onnx_attrs`, a dictionary of ints, floats, strings,
    tensors and lists of those). Absent optional inputs are `qqq.none` values.
    Nothing is assumed about its semantics, so it is treated as having side
    effects only through its results (it is not speculatable or foldable).

    ```mlir
    %y = qqq.onnx_node "Softmax"(%x) {domain = "", node_name = "attn/softmax",
                                      onnx_attrs = {axis = -1 : i64}}
        : (tensor<?x?xf32>) -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins
    Variadic<AnyType>:$inputs,
    StrAttr:$op_type,
    DefaultValuedStrAttr<StrAttr, "">:$domain,
    DefaultValuedStrAttr<StrAttr, "">:$node_name,
    DefaultValuedAttr<DictionaryAttr, "{}">:$onnx_attrs);
  let results = (outs Variadic<AnyType>:$outputs);
  let assemblyFormat = [{
    $op_type `(` $inputs `)` attr-dict `:` functional-type($inputs, $outputs)
  }];
  let hasVerifier = 1;
}

def QQQ_NoneOp : QQQ_Op<"none", [Pure]> {
  let summary = "the absent value of an optional ONNX input or output";
  let arguments = (ins);
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
}

#endif // QQQ_DIALECT_QQQ_IR_QQQOPS_TD
