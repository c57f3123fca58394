//===- QQQOps.cpp - qqq operations and their verifiers ---------------------===//
#include "qqq/Dialect/QQQ/IR/QQQOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace qqq;

/// True when two extents can be equal at run time.
static bool extentsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::string extentStr(int64_t v) {
  return ShapedType::isDynamic(v) ? std::string("?") : std::to_string(v);
}

/// Checks that `other` has the shape of `reference` with its last extent
/// replaced by `lastExtent`.
static LogicalResult verifyRowShape(Operation *op, RankedTensorType reference,
                                    RankedTensorType other, int64_t lastExtent,
                                    StringRef refName, StringRef otherName) {
  if (reference.getRank() != other.getRank())
    return op->emitOpError() << otherName << " must have the rank of "
                             << refName << " (" << reference.getRank()
                             << "), got " << other.getRank();
  for (int64_t i = 0, e = reference.getRank() - 1; i < e; ++i)
    if (!extentsAgree(reference.getDimSize(i), other.getDimSize(i)))
      return op->emitOpError()
             << otherName << " dimension " << i << " ("
             << extentStr(other.getDimSize(i)) << ") does not match "
             << refName << " (" << extentStr(reference.getDimSize(i)) << ")";
  int64_t last = other.getDimSize(other.getRank() - 1);
  if (!extentsAgree(last, lastExtent))
    return op->emitOpError() << otherName << " last dimension must be "
                             << extentStr(lastExtent) << ", got "
                             << extentStr(last);
  return success();
}

static LogicalResult verifyVector(Operation *op, Value v, int64_t extent,
                                  StringRef name) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() != 1)
    return op->emitOpError() << name << " must be rank 1, got rank "
                             << type.getRank();
  if (!extentsAgree(type.getDimSize(0), extent))
    return op->emitOpError() << name << " must have " << extentStr(extent)
                             << " elements, got "
                             << extentStr(type.getDimSize(0));
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

int64_t LinearOp::getOutFeatures() {
  auto w = cast<RankedTensorType>(getWeight().getType());
  return w.getRank() == 2 ? w.getDimSize(getWeightKn() ? 1 : 0)
                          : ShapedType::kDynamic;
}

int64_t LinearOp::getInFeatures() {
  auto w = cast<RankedTensorType>(getWeight().getType());
  return w.getRank() == 2 ? w.getDimSize(getWeightKn() ? 0 : 1)
                          : ShapedType::kDynamic;
}

LogicalResult LinearOp::verify() {
  auto x = cast<RankedTensorType>(getInput().getType());
  auto w = cast<RankedTensorType>(getWeight().getType());
  auto y = cast<RankedTensorType>(getResult().getType());
  if (w.getRank() != 2)
    return emitOpError() << "weight must be rank 2 (" << (getWeightKn() ? "KxN" : "NxK")
                         << "), got rank " << w.getRank();
  if (x.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (getLayerName().empty())
    return emitOpError("layer_name must not be empty");
  if (getInputName().empty())
    return emitOpError("input_name must not be empty");
  int64_t k = getInFeatures(), n = getOutFeatures();
  if (!extentsAgree(x.getDimSize(x.getRank() - 1), k))
    return emitOpError() << "input features ("
                         << extentStr(x.getDimSize(x.getRank() - 1))
                         << ") do not match the weight's K (" << extentStr(k)
                         << ")";
  if (y.getElementType() != x.getElementType())
    return emitOpError() << "result element type " << y.getElementType()
                         << " differs from input element type "
                         << x.getElementType();
  if (failed(verifyRowShape(*this, x, y, n, "input", "result")))
    return failure();
  if (getBias() && failed(verifyVector(*this, getBias(), n, "bias")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// RMSNormOp, QuantizeActOp, RMSNormQuantizeOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyNormOperands(Operation *op, Value input, Value gamma,
                                        FloatAttr epsilon) {
  auto x = cast<RankedTensorType>(input.getType());
  if (x.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  if (failed(verifyVector(op, gamma, x.getDimSize(x.getRank() - 1), "gamma")))
    return failure();
  if (!(epsilon.getValueAsDouble() > 0.0))
    return op->emitOpError() << "epsilon must be positive, got "
                             << epsilon.getValueAsDouble();
  return success();
}

/// Verifies the (int8 values, f32 per-token scales) results of a quantizer.
static LogicalResult verifyQuantizedActs(Operation *op, Value input,
                                         Value output, Value scale) {
  auto x = cast<RankedTensorType>(input.getType());
  auto q = cast<RankedTensorType>(output.getType());
  auto s = cast<RankedTensorType>(scale.getType());
  if (failed(verifyRowShape(op, x, q, x.getDimSize(x.getRank() - 1), "input",
                            "output")))
    return failure();
  return verifyRowShape(op, x, s, 1, "input", "scale");
}

LogicalResult RMSNormOp::verify() {
  if (getResult().getType() != getInput().getType())
    return emitOpError("result type must equal the input type");
  return verifyNormOperands(*this, getInput(), getGamma(), getEpsilonAttr());
}

LogicalResult QuantizeActOp::verify() {
  if (cast<RankedTensorType>(getInput().getType()).getRank() < 1)
    return emitOpError("input must have rank >= 1");
  return verifyQuantizedActs(*this, getInput(), getOutput(), getScale());
}

LogicalResult RMSNormQuantizeOp::verify() {
  if (failed(verifyNormOperands(*this, getInput(), getGamma(),
                                getEpsilonAttr())))
    return failure();
  return verifyQuantizedActs(*this, getInput(), getOutput(), getScale());
}

//===----------------------------------------------------------------------===//
// W4A8LinearOp
//===----------------------------------------------------------------------===//

int64_t W4A8LinearOp::getOutFeatures() {
  return cast<RankedTensorType>(getWeight().getType()).getDimSize(0);
}

int64_t W4A8LinearOp::getInFeatures() {
  auto x = cast<RankedTensorType>(getInput().getType());
  return x.getDimSize(x.getRank() - 1);
}

LogicalResult W4A8LinearOp::verify() {
  auto x = cast<RankedTensorType>(getInput().getType());
  auto xs = cast<RankedTensorType>(getInputScale().getType());
  auto w = cast<RankedTensorType>(getWeight().getType());
  auto y = cast<RankedTensorType>(getResult().getType());
  if (x.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (getLayerName().empty())
    return emitOpError("layer_name must not be empty");
  if (failed(verifyRowShape(*this, x, xs, 1, "input", "input_scale")))
    return failure();
  if (w.getRank() != 2)
    return emitOpError() << "packed weight must be rank 2 ([N, K/2]), got rank "
                         << w.getRank();
  int64_t n = w.getDimSize(0), k = getInFeatures();
  int64_t packedK = w.getDimSize(1);
  if (!ShapedType::isDynamic(k) && k % 2 != 0)
    return emitOpError() << "K (" << k << ") must be even to pack int4 pairs";
  if (!ShapedType::isDynamic(k) && !ShapedType::isDynamic(packedK) &&
      packedK * 2 != k)
    return emitOpError() << "packed weight has " << packedK
                         << " bytes per row but K = " << k << " needs "
                         << k / 2;
  if (failed(verifyVector(*this, getChannelScale(), n, "channel_scale")))
    return failure();
  if (getBias() && failed(verifyVector(*this, getBias(), n, "bias")))
    return failure();

  std::optional<int64_t> groupSize = getGroupSize();
  if (getGroupScale() && !groupSize)
    return emitOpError("group_scale requires a group_size attribute");
  if (groupSize && !getGroupScale())
    return emitOpError("group_size requires a group_scale operand");
  if (groupSize) {
    int64_t g = *groupSize;
    if (g <= 0 || g % 16 != 0)
      return emitOpError() << "group_size must be a positive multiple of 16, got "
                           << g;
    if (!ShapedType::isDynamic(k) && k % g != 0)
      return emitOpError() << "group_size " << g << " does not divide K = " << k;
    auto gs = cast<RankedTensorType>(getGroupScale().getType());
    if (gs.getRank() != 2)
      return emitOpError() << "group_scale must be rank 2 ([K/G, N]), got rank "
                           << gs.getRank();
    int64_t groups = ShapedType::isDynamic(k) ? ShapedType::kDynamic : k / g;
    if (!extentsAgree(gs.getDimSize(0), groups) ||
        !extentsAgree(gs.getDimSize(1), n))
      return emitOpError() << "group_scale must have shape [" << extentStr(groups)
                           << ", " << extentStr(n) << "], got ["
                           << extentStr(gs.getDimSize(0)) << ", "
                           << extentStr(gs.getDimSize(1)) << "]";
  }
  if (QuantSchemeAttr scheme = getSchemeAttr()) {
    if (scheme.getWeightBits() != 4 || scheme.getActBits() != 8)
      return emitOpError() << "scheme must be 4-bit weights and 8-bit "
                              "activations, got w"
                           << scheme.getWeightBits() << "a"
                           << scheme.getActBits();
    if (scheme.getGroupSize() != groupSize.value_or(0))
      return emitOpError() << "scheme group_size " << scheme.getGroupSize()
                           << " differs from the op's group_size "
                           << groupSize.value_or(0);
  }
  if (failed(verifyRowShape(*this, x, y, n, "input", "result")))
    return failure();
  return verifyParts(n);
}

LogicalResult W4A8LinearOp::verifyParts(int64_t n) {
  std::optional<ArrayAttr> names = getParts();
  std::optional<ArrayRef<int64_t>> sizes = getPartSizes();
  if (!names && !sizes)
    return success();
  if (!names || !sizes)
    return emitOpError("parts and part_sizes must be given together");
  if (names->size() < 2 || names->size() != sizes->size())
    return emitOpError() << "parts must name at least two layers, one per "
                            "part_sizes entry; got "
                         << names->size() << " names and " << sizes->size()
                         << " sizes";
  llvm::StringSet<> seen;
  int64_t total = 0;
  for (auto [attr, size] : llvm::zip(*names, *sizes)) {
    StringRef name = cast<StringAttr>(attr).getValue();
    if (name.empty() || !seen.insert(name).second)
      return emitOpError() << "parts must be distinct non-empty layer names, "
                              "got '"
                           << name << "' twice or empty";
    if (size <= 0)
      return emitOpError() << "part '" << name << "' has " << size
                           << " output features";
    total += size;
  }
  if (!ShapedType::isDynamic(n) && total != n)
    return emitOpError() << "part_sizes sum to " << total << " but N = " << n;
  return success();
}

//===----------------------------------------------------------------------===//
// OnnxNodeOp
//===----------------------------------------------------------------------===//

LogicalResult OnnxNodeOp::verify() {
  if (getOpType().empty())
    return emitOpError("op_type must not be empty");
  return success();
}

#define GET_OP_CLASSES
#include "qqq/Dialect/QQQ/IR/QQQOps.cpp.inc"
