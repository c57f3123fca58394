//===- WeightConstants.cpp - reading and writing constant tensors ---------===//
#include "WeightConstants.h"

#include "qqq/Numerics/Half.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include <cstring>

using namespace mlir;
using namespace qqq;

static float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffff) > 0x7f800000) // NaN stays a quiet NaN
    return uint16_t((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
  return uint16_t((bits + rounding) >> 16);
}

/// Raw little-endian element bytes of a constant, for f32/f16/bf16.
static FailureOr<std::vector<float>> decode(ArrayRef<char> raw, Type elt,
                                            int64_t numel, bool splat) {
  std::vector<float> out(numel);
  size_t esz = elt.isF32() ? 4 : (elt.isF16() || elt.isBF16()) ? 2 : 0;
  if (esz == 0)
    return failure();
  if (!splat && raw.size() != size_t(numel) * esz)
    return failure();
  for (int64_t i = 0; i < numel; ++i) {
    const char *p = raw.data() + (splat ? 0 : i * esz);
    if (elt.isF32()) {
      std::memcpy(&out[i], p, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      out[i] = elt.isF16() ? numerics::halfBitsToFloat(h) : bf16ToFloat(h);
    }
  }
  return out;
}

FailureOr<std::vector<float>> qqq::readFloatConstant(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return failure();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape())
    return failure();
  int64_t numel = type.getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (auto fp = dyn_cast<DenseFPElementsAttr>(dense)) {
      std::vector<float> out;
      out.reserve(numel);
      for (APFloat x : fp.getValues<APFloat>()) {
        bool lost;
        x.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
        out.push_back(x.convertToFloat());
      }
      return out;
    }
    return failure();
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return failure();
    return decode(blob->getData(), type.getElementType(), numel, false);
  }
  return failure();
}

FailureOr<std::vector<uint8_t>> qqq::readByteConstant(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) ||
      !attr.getElementType().isInteger(8))
    return failure();
  std::vector<uint8_t> out;
  out.reserve(attr.getNumElements());
  for (int8_t x : attr.getValues<int8_t>())
    out.push_back(uint8_t(x));
  return out;
}

FailureOr<numerics::Matrix<float>> qqq::readLinearWeight(LinearOp op) {
  auto values = readFloatConstant(op.getWeight());
  if (failed(values))
    return failure();
  int64_t n = op.getOutFeatures(), k = op.getInFeatures();
  numerics::Matrix<float> w(n, k);
  if (op.getWeightKn()) {
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t nn = 0; nn < n; ++nn)
        w.at(nn, kk) = (*values)[kk * n + nn];
  } else {
    w.data = std::move(*values);
  }
  return w;
}

Value qqq::makeRawConstant(OpBuilder &b, Location loc, RankedTensorType type,
                           ArrayRef<char> bytes) {
  auto attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
  return arith::ConstantOp::create(b, loc, type, attr);
}

Value qqq::makeFloatConstant(OpBuilder &b, Location loc, RankedTensorType type,
                             ArrayRef<float> values) {
  Type elt = type.getElementType();
  if (elt.isF32())
    return makeRawConstant(
        b, loc, type,
        ArrayRef<char>(reinterpret_cast<const char *>(values.data()),
                       values.size() * 4));
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    bits[i] = elt.isF16() ? numerics::floatToHalfBits(values[i])
                          : floatToBf16(values[i]);
  return makeRawConstant(
      b, loc, type,
      ArrayRef<char>(reinterpret_cast<const char *>(bits.data()),
                     bits.size() * 2));
}

void qqq::replaceLinearWeight(LinearOp op, const numerics::Matrix<float> &w) {
  auto type = cast<RankedTensorType>(op.getWeight().getType());
  std::vector<float> values;
  if (op.getWeightKn()) {
    values.resize(w.size());
    for (int64_t nn = 0; nn < w.rows; ++nn)
      for (int64_t kk = 0; kk < w.cols; ++kk)
        values[kk * w.rows + nn] = w.at(nn, kk);
  } else {
    values = w.data;
  }
  Operation *old = op.getWeight().getDefiningOp();
  OpBuilder b(op);
  Value c = makeFloatConstant(b, op.getLoc(), type, values);
  op.getWeightMutable().assign(c);
  eraseIfDeadConstant(old);
}

void qqq::eraseIfDeadConstant(Operation *op) {
  if (op && op->use_empty() && isa<arith::ConstantOp>(op))
    op->erase();
}

void qqq::replaceFloatOperand(OpOperand &operand, ArrayRef<float> values) {
  Operation *owner = operand.getOwner();
  OpBuilder b(owner);
  Value c = makeFloatConstant(b, owner->getLoc(),
                              cast<RankedTensorType>(operand.get().getType()),
                              values);
  Operation *old = operand.get().getDefiningOp();
  operand.set(c);
  eraseIfDeadConstant(old);
}
