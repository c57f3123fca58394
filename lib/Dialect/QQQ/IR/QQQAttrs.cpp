//===- QQQAttrs.cpp - qqq attributes ---------------------------------------===//
#include "qqq/Dialect/QQQ/IR/QQQAttrs.h"
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace qqq;

#include "qqq/Dialect/QQQ/IR/QQQEnums.cpp.inc"

// The kernel configuration's optional trailing flags, `, stream_k = N` and
// `, token_tiles_first = true`, each printed only when not its default (so
// configurations written before a flag existed keep their form) and parsed
// in any order. (Two ODS optional groups that both start with a comma
// cannot follow one another: the first commits on the comma.)
static ParseResult parseKernelFlags(AsmParser &parser, int64_t &streamK,
                                    bool &tokenTilesFirst) {
  bool seenStreamK = false, seenOrder = false;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc loc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return failure();
    if (key == "stream_k" && !seenStreamK) {
      seenStreamK = true;
      if (parser.parseInteger(streamK))
        return failure();
    } else if (key == "token_tiles_first" && !seenOrder) {
      seenOrder = true;
      StringRef value;
      if (parser.parseKeyword(&value) || (value != "true" && value != "false"))
        return parser.emitError(loc, "token_tiles_first must be true or false");
      tokenTilesFirst = value == "true";
    } else {
      return parser.emitError(loc, "expected stream_k or token_tiles_first "
                                   "(each at most once), got '")
             << key << "'";
    }
  }
  return success();
}

static void printKernelFlags(AsmPrinter &printer, int64_t streamK,
                             bool tokenTilesFirst) {
  if (streamK != 0)
    printer << ", stream_k = " << streamK;
  if (tokenTilesFirst)
    printer << ", token_tiles_first = true";
}

#define GET_ATTRDEF_CLASSES
#include "qqq/Dialect/QQQ/IR/QQQAttrs.cpp.inc"

void QQQDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qqq/Dialect/QQQ/IR/QQQAttrs.cpp.inc"
      >();
}

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned weightBits, unsigned actBits,
                        int64_t groupSize, bool symmetric, QuantMethod method,
                        Preprocess preprocess) {
  if (weightBits < 2 || weightBits > 8)
    return emitError() << "weight_bits must be in [2, 8], got " << weightBits;
  if (actBits < 2 || actBits > 16)
    return emitError() << "act_bits must be in [2, 16], got " << actBits;
  if (groupSize < 0)
    return emitError() << "group_size must be 0 (per channel) or positive, got "
                       << groupSize;
  if (groupSize > 0 && groupSize % 16 != 0)
    return emitError() << "group_size must be a multiple of 16, got "
                       << groupSize;
  return success();
}

static bool isPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

LogicalResult KernelConfigAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, StringAttr arch, int64_t maxM,
    int64_t tileM, int64_t tileN, int64_t tileK, int64_t stages, int64_t warps,
    int64_t splitK, bool swapAB, int64_t streamK, bool tokenTilesFirst) {
  if (!arch || !arch.getValue().starts_with("sm_"))
    return emitError() << "arch must name an sm_XX target, got "
                       << (arch ? arch.getValue() : StringRef("<null>"));
  if (maxM < 0)
    return emitError() << "max_m must be 0 (unbounded) or positive, got "
                       << maxM;
  for (auto [name, v] : {std::pair<const char *, int64_t>{"tile_m", tileM},
                         {"tile_n", tileN},
                         {"tile_k", tileK}})
    if (!isPowerOfTwo(v) || v < 8)
      return emitError() << name << " must be a power of two >= 8, got " << v;
  if (stages < 1 || stages > 8)
    return emitError() << "stages must be in [1, 8], got " << stages;
  if (warps < 1 || warps > 32)
    return emitError() << "warps must be in [1, 32], got " << warps;
  if (splitK < 1)
    return emitError() << "split_k must be >= 1, got " << splitK;
  if (streamK < 0)
    return emitError() << "stream_k must be 0 (off) or positive, got "
                       << streamK;
  // Stream-K already divides the K loop between CTAs; the kernels do not
  // combine it with a split-K grid dimension.
  if (streamK > 0 && splitK != 1)
    return emitError() << "stream_k = " << streamK
                       << " requires split_k = 1, got split_k = " << splitK;
  // Stream-K orders its tiles itself; the flag orders one CTA per tile.
  if (tokenTilesFirst && streamK > 0)
    return emitError() << "token_tiles_first requires stream_k = 0, got "
                       << "stream_k = " << streamK;
  return success();
}
