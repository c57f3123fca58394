//===- W4A8ToOnnx.h - standard-ONNX export of the W4A8 ops ------*- C++ -*-===//
//
// Hooks for the ONNX exporter (OnnxExport.h) that write the quantized ops as
// standard ONNX operators which stock ONNX Runtime (CPU) runs with exactly
// the arithmetic of the numerics library's reference GEMM
// (ReferenceGemm.h, docs/numerics.md):
//
//   qqq.quantize_act x  →  xf = Cast<f32>(x); amax = ReduceMax(Abs(xf), -1)
//                          s = amax / 127; d = Where(amax == 0, 1, s)
//                          q = Cast<i8>(Clip(Round(xf / d), -127, 127))
//                          (a zero row: s = 0 and q = 0, as the contract says)
//   qqq.rms_norm_quantize  →  the RMSNorm (f32) followed by the above
//   qqq.w4a8_linear        →  acc = MatMulInteger(x8, W8[K,N]) (int32)
//                             t = s_tok · s_ch;  y = Neg(Neg(Cast<f32>(acc))) · t
//                             (the Negs stop ORT fusing a MatMulIntegerToFloat
//                             that computes a different epilogue)
//                             (+ f32(bias));  Cast<f16>(y)  (→ Cast<f32>)
//   where W8 = q (per channel) or rne(q · s_grp) (two-level per group),
//   computed offline from the packed operands in any #qqq.layout.
//
// The nodes use the opset-13..17 forms (ReduceMax/ReduceMean `axes` as an
// attribute), matching the opset-17 models qqq builds.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_EXPORT_W4A8TOONNX_H
#define QQQ_EXPORT_W4A8TOONNX_H

namespace qqq {
/// Registers the hooks for qqq.quantize_act, qqq.rms_norm_quantize and
/// qqq.w4a8_linear with registerOpExporter. Idempotent.
void registerW4A8ToOnnxExporters();
} // namespace qqq

#endif
