//===- OnnxExportSlices.cpp - tensor.extract_slice -> ONNX Slice ----------===//
//
// qqq-fuse-projections hands each fused layer's consumers their columns as
// `tensor.extract_slice %y[0, .., off] [dims of %y, .., n] [1, ..]`, whose
// dynamic sizes are `tensor.dim`s of %y. That form exports as one
// Slice(y, starts = [off], ends = [off + n], axes = [-1]); the dims need no
// node. Any other slice is an error naming the op.
//
//===----------------------------------------------------------------------===//
#include "OnnxExporter.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace qqq;
using namespace qqq::onnx_export;

/// Whether `size` is the whole extent of dimension `d` of `source`.
static bool isWholeDim(OpFoldResult size, Value source, int64_t d) {
  auto type = cast<RankedTensorType>(source.getType());
  if (std::optional<int64_t> c = getConstantIntValue(size))
    return !type.isDynamicDim(d) && *c == type.getDimSize(d);
  auto dim = cast<Value>(size).getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
  return dim && dim.getSource() == source && index && *index == d;
}

LogicalResult Exporter::exportExtractSlice(tensor::ExtractSliceOp op) {
  auto source = cast<RankedTensorType>(op.getSource().getType());
  int64_t rank = source.getRank();
  SmallVector<OpFoldResult> offsets = op.getMixedOffsets(),
                            sizes = op.getMixedSizes(),
                            strides = op.getMixedStrides();
  bool ok = rank >= 1 && static_cast<int64_t>(sizes.size()) == rank &&
            getConstantIntValue(offsets.back()) &&
            getConstantIntValue(sizes.back());
  for (int64_t d = 0; ok && d < rank; ++d)
    ok = isConstantIntValue(strides[d], 1) &&
         (d == rank - 1 || (isConstantIntValue(offsets[d], 0) &&
                            isWholeDim(sizes[d], op.getSource(), d)));
  if (!ok)
    return op.emitError("only slices of the last dimension (constant offset "
                        "and size, unit stride, every other dimension whole) "
                        "can be exported to ONNX");
  Builder b(op.getContext());
  int64_t start = *getConstantIntValue(offsets.back());
  int64_t end = start + *getConstantIntValue(sizes.back());
  auto i64s = [&](int64_t v) -> ElementsAttr {
    return DenseElementsAttr::get(
        RankedTensorType::get({1}, b.getI64Type()), ArrayRef<int64_t>{v});
  };
  std::string data = getValueName(op.getSource());
  std::string out = defineValue(op.getResult(), data + "_cols");
  return addNode("Slice",
                 {data, addInitializer(out + "_start", i64s(start)),
                  addInitializer(out + "_end", i64s(end)),
                  addInitializer(out + "_axis", i64s(-1))},
                 {out}, makeUniqueName(out + "_slice"));
}

LogicalResult Exporter::exportDim(tensor::DimOp op) {
  // Only the sizes of exportable slices: they need no ONNX value.
  for (Operation *user : op->getUsers())
    if (!isa<tensor::ExtractSliceOp>(user))
      return op.emitError("tensor.dim can be exported to ONNX only as the "
                          "size of a tensor.extract_slice");
  return success();
}
