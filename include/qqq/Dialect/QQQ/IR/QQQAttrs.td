//===- QQQAttrs.td - qqq attributes and enums --------------*- tablegen -*-===//
#ifndef QQQ_DIALECT_QQQ_IR_QQQATTRS_TD
#define QQQ_DIALECT_QQQ_IR_QQQATTRS_TD

include "qqq/Dialect/QQQ/IR/QQQDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def QQQ_QuantMethod : I32EnumAttr<"QuantMethod",
    "how the int4 weights were chosen", [
      I32EnumAttrCase<"rtn", 0>,
      I32EnumAttrCase<"gptq", 1>,
    ]> {
  let cppNamespace = "::qqq";
  let genSpecializedAttr = 0;
}
def QQQ_QuantMethodAttr : EnumAttr<QQQ_Dialect, QQQ_QuantMethod, "method"> {
  let assemblyFormat = "`<` $value `>`";
}

def QQQ_Preprocess : I32EnumAttr<"Preprocess",
    "the outlier treatment applied before weight quantization", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"smooth", 1>,
      I32EnumAttrCase<"smoothquant", 2>,
      I32EnumAttrCase<"rotate", 3>,
    ]> {
  let cppNamespace = "::qqq";
  let genSpecializedAttr = 0;
}
def QQQ_PreprocessAttr : EnumAttr<QQQ_Dialect, QQQ_Preprocess, "preprocess"> {
  let assemblyFormat = "`<` $value `>`";
}

def QQQ_WeightLayout : I32EnumAttr<"WeightLayout",
    "how int4 weights are arranged in the packed i8 tensor", [
      // Row n holds K/2 bytes; byte j has k = 2j in its low nibble and
      // k = 2j + 1 in its high nibble, two's complement.
      I32EnumAttrCase<"row_major", 0>,
      // The fragment-interleaved layout read by the sm_90a wgmma kernels.
      I32EnumAttrCase<"sm90_interleaved", 1>,
      // The fragment-interleaved layout read by the sm_80 mma.sync kernels.
      I32EnumAttrCase<"sm80_interleaved", 2>,
    ]> {
  let cppNamespace = "::qqq";
  let genSpecializedAttr = 0;
}
def QQQ_WeightLayoutAttr : EnumAttr<QQQ_Dialect, QQQ_WeightLayout, "layout"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class QQQ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<QQQ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def QQQ_QuantSchemeAttr : QQQ_Attr<"QuantScheme", "scheme"> {
  let summary = "the quantization scheme a layer was (or is to be) quantized with";
  let description = [{
    Records what the quantization passes decided, so that later passes and the
    exporters can read it: weight and activation bit widths, the weight group
    size (0 means per output channel), whether the quantizer is symmetric, how
    the weights were chosen and which outlier treatment came first.

    ```mlir
    #qqq.scheme<weight_bits = 4, act_bits = 8, group_size = 128,
                symmetric = true, method = gptq, preprocess = rotate>
    ```
  }];
  let parameters = (ins
    "unsigned":$weightBits,
    "unsigned":$actBits,
    "int64_t":$groupSize,
    "bool":$symmetric,
    "QuantMethod":$method,
    "Preprocess":$preprocess);
  let assemblyFormat = [{
    `<` `weight_bits` `=` $weightBits `,` `act_bits` `=` $actBits `,`
        `group_size` `=` $groupSize `,` `symmetric` `=` $symmetric `,`
        `method` `=` $method `,` `preprocess` `=` $preprocess `>`
  }];
  let genVerifyDecl = 1;
}

def QQQ_KernelConfigAttr : QQQ_Attr<"KernelConfig", "kernel"> {
  let summary = "a W4A8 GEMM kernel configuration chosen for one M bucket";
  let description = [{
    The template parameters of one generated GEMM kernel: the target, the
    largest token count M it serves (0: no bound), the tile sizes, the number
    of pipeline stages, warps per CTA, the split-K factor and whether the
    operands are swapped (Yᵀ = W·Xᵀ, so that a small M maps to the MMA's N).
    An optional trailing `stream_k = N` (sm_90a, split_k = 1 only) runs the
    kernel as a persistent grid of N CTAs that share the (output tile, K tile)
    iterations (stream-K); it is omitted when 0 (off). An optional trailing
    `token_tiles_first = true` (one CTA per tile) orders the CTAs by
    weight-row block, then token tile, so that the token tiles sharing a
    block run together; omitted when false (weight-row blocks first).

    ```mlir
    #qqq.kernel<arch = "sm_90a", max_m = 16, tile_m = 16, tile_n = 128,
                tile_k = 128, stages = 4, warps = 4, split_k = 4, swap_ab = true>
    ```
  }];
  let parameters = (ins
    "::mlir::StringAttr":$arch,
    "int64_t":$maxM,
    "int64_t":$tileM,
    "int64_t":$tileN,
    "int64_t":$tileK,
    "int64_t":$stages,
    "int64_t":$warps,
    "int64_t":$splitK,
    "bool":$swapAB,
    // Trailing and defaulted so that configurations written before stream-K
    // still parse and print unchanged.
    DefaultValuedParameter<"int64_t", "0">:$streamK,
    DefaultValuedParameter<"bool", "false">:$tokenTilesFirst);
  let assemblyFormat = [{
    `<` `arch` `=` $arch `,` `max_m` `=` $maxM `,` `tile_m` `=` $tileM `,`
        `tile_n` `=` $tileN `,` `tile_k` `=` $tileK `,` `stages` `=` $stages `,`
        `warps` `=` $warps `,` `split_k` `=` $splitK `,` `swap_ab` `=` $swapAB ``
        custom<KernelFlags>($streamK, $tokenTilesFirst) `>`
  }];
  let genVerifyDecl = 1;
}

def QQQ_KernelConfigArrayAttr
    : TypedArrayAttrBase<QQQ_KernelConfigAttr, "kernel configurations">;

#endif // QQQ_DIALECT_QQQ_IR_QQQATTRS_TD
