//===- QQQDialect.td - qqq dialect definition --------------*- tablegen -*-===//
#ifndef QQQ_DIALECT_QQQ_IR_QQQDIALECT_TD
#define QQQ_DIALECT_QQQ_IR_QQQDIALECT_TD

include "mlir/IR/OpBase.td"

def QQQ_Dialect : Dialect {
  let name = "qqq";
  let summary = "W4A8 quantization of large language models (the QQQ method)";
  let description = [{
    The `qqq` dialect expresses a decoder model on its way from floating point
    to W4A8: floating-point linear layers and RMS norms as imported from ONNX,
    the dynamic per-token int8 activation quantizer, and the quantized
    `w4a8_linear` layer with packed int4 weights and the scales of the QQQ
    method. Attributes record the decisions of the passes: the quantization
    scheme, the packed weight layout and the kernel configuration. ONNX nodes
    that qqq does not interpret are carried verbatim by `qqq.onnx_node`, so a
    whole model survives import, the passes and export.
  }];
  let cppNamespace = "::qqq";
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class QQQ_Op<string mnemonic, list<Trait> traits = []>
    : Op<QQQ_Dialect, mnemonic, traits>;

#endif // QQQ_DIALECT_QQQ_IR_QQQDIALECT_TD
