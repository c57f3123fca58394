//===- KernelLayouts.cpp - int4 weight layouts of the GPU kernels ---------===//
//
// The permutation is written once, as kernelLayoutPosition; pack and unpack
// both walk it, so they are exact inverses by construction (and tested).
//
//===----------------------------------------------------------------------===//
#include "qqq/Numerics/KernelLayouts.h"

#include <sstream>

namespace qqq::numerics {

std::string checkKernelLayoutShape(WeightLayout layout, int64_t N, int64_t K) {
  std::ostringstream os;
  int64_t rows = layout == WeightLayout::Sm90Interleaved ? 64 : 16;
  if (layout != WeightLayout::Sm90Interleaved &&
      layout != WeightLayout::Sm80Interleaved) {
    os << "layout " << weightLayoutName(layout) << " is not a kernel layout";
    return os.str();
  }
  if (N <= 0 || K <= 0 || N % rows != 0 || K % 64 != 0) {
    os << weightLayoutName(layout) << " needs N % " << rows
       << " == 0 and K % 64 == 0, got N = " << N << ", K = " << K;
    return os.str();
  }
  return "";
}

NibblePosition kernelLayoutPosition(WeightLayout layout, int64_t n, int64_t k,
                                    int64_t K) {
  int64_t kTiles = K / 64, kt = k / 64, kk = k % 64;
  int64_t tileBase;
  int64_t rowInTile;
  if (layout == WeightLayout::Sm90Interleaved) {
    int64_t nb = n / 64, w = (n % 64) / 16;
    tileBase = 2048 * (nb * kTiles + kt) + 512 * w;
    rowInTile = n % 16;
  } else {
    tileBase = 512 * ((n / 16) * kTiles + kt);
    rowInTile = n % 16;
  }
  // Invert: rowInTile = gid + 8 (r % 2); kk = 32 s + 16 (r / 2) + 4 tig + b.
  int64_t gid = rowInTile % 8, rLow = rowInTile / 8;
  int64_t s = kk / 32, rHigh = (kk % 32) / 16, tig = (kk % 16) / 4, b = kk % 4;
  int64_t r = 2 * rHigh + rLow;
  int64_t j = 2 * s + r / 2, h = r % 2;
  int64_t lane = 4 * gid + tig;
  return {tileBase + 16 * lane + 4 * j + b, static_cast<int>(h)};
}

namespace {
void packWith(WeightLayout layout, const int8_t *q, int64_t N, int64_t K,
              uint8_t *out) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      NibblePosition p = kernelLayoutPosition(layout, n, k, K);
      uint8_t nib = static_cast<uint8_t>(q[n * K + k]) & 0xF;
      uint8_t &byte = out[p.byte];
      byte = p.high ? static_cast<uint8_t>((byte & 0x0F) | (nib << 4))
                    : static_cast<uint8_t>((byte & 0xF0) | nib);
    }
}

void unpackWith(WeightLayout layout, const uint8_t *in, int64_t N, int64_t K,
                int8_t *q) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      NibblePosition p = kernelLayoutPosition(layout, n, k, K);
      uint8_t byte = in[p.byte];
      q[n * K + k] = static_cast<int8_t>(p.high ? highNibble(byte)
                                                : lowNibble(byte));
    }
}
} // namespace

void packSm80(const int8_t *q, int64_t N, int64_t K, uint8_t *out) {
  packWith(WeightLayout::Sm80Interleaved, q, N, K, out);
}
void unpackSm80(const uint8_t *in, int64_t N, int64_t K, int8_t *q) {
  unpackWith(WeightLayout::Sm80Interleaved, in, N, K, q);
}
void packSm90(const int8_t *q, int64_t N, int64_t K, uint8_t *out) {
  packWith(WeightLayout::Sm90Interleaved, q, N, K, out);
}
void unpackSm90(const uint8_t *in, int64_t N, int64_t K, int8_t *q) {
  unpackWith(WeightLayout::Sm90Interleaved, in, N, K, q);
}

std::string packKernelLayout(WeightLayout layout, const Matrix<int8_t> &q,
                             std::vector<uint8_t> &packed) {
  std::string err = checkKernelLayoutShape(layout, q.rows, q.cols);
  if (!err.empty())
    return err;
  for (int64_t i = 0; i < q.size(); ++i)
    if (q.data[i] < -8 || q.data[i] > 7) {
      std::ostringstream os;
      os << "int4 value " << int(q.data[i]) << " at (" << i / q.cols << ", "
         << i % q.cols << ") is outside [-8, 7]";
      return os.str();
    }
  packed.assign(static_cast<size_t>(q.rows * q.cols / 2), 0);
  packWith(layout, q.data.data(), q.rows, q.cols, packed.data());
  return "";
}

std::string unpackKernelLayout(WeightLayout layout,
                               const std::vector<uint8_t> &packed, int64_t N,
                               int64_t K, Matrix<int8_t> &q) {
  std::string err = checkKernelLayoutShape(layout, N, K);
  if (!err.empty())
    return err;
  if (static_cast<int64_t>(packed.size()) != N * K / 2) {
    std::ostringstream os;
    os << weightLayoutName(layout) << ": " << packed.size()
       << " packed bytes, expected N*K/2 = " << N * K / 2;
    return os.str();
  }
  q = Matrix<int8_t>(N, K);
  unpackWith(layout, packed.data(), N, K, q.data.data());
  return "";
}

} // namespace qqq::numerics
