//===- KernelLayouts.h - int4 weight layouts of the GPU kernels -*- C++ -*-===//
//
// sm80_interleaved and sm90_interleaved: pure permutations of the N x K int4
// weight nibbles (N*K/2 bytes) such that every thread of the GEMM kernels gets
// its MMA A-fragments for 64 values of K from ONE 16-byte load, and a warp's
// 32 loads cover 512 contiguous bytes (docs/kernels.md).
//
// sm80_interleaved (N % 16 == 0, K % 64 == 0): 16 x 64 tiles of 512 bytes,
// tile (nt, kt) at byte 512 * (nt * K/64 + kt). Inside a tile, lane l
// (gid = l / 4, tig = l % 4) owns bytes [16 l, 16 l + 16) = four 32-bit words
// j = 0..3. Byte b of word j holds, in its low (h = 0) and high (h = 1)
// nibble, the weight
//   r = 2 * (j % 2) + h,  s = j / 2
//   n = 16 nt + gid + 8 * (r % 2)
//   k = 64 kt + 32 s + 16 * (r / 2) + 4 tig + b
// i.e. the m16n8k32 s8 A-fragment register a[r] of k-step s, byte b. The
// kernel forms a[r] with the high-nibble trick: word & 0xF0F0F0F0 (h = 1) and
// (word << 4) & 0xF0F0F0F0 (h = 0) are 16 * q as int8.
//
// sm90_interleaved (N % 64 == 0, K % 64 == 0): 64 x 64 blocks of 2048 bytes,
// block (nb, kt) at byte 2048 * (nb * K/64 + kt); inside, warp w = 0..3 owns
// the 512 bytes [512 w, 512 w + 512) laid out as the sm80 tile of rows
// 64 nb + 16 w + [0, 16). (The wgmma m64nNk32 register A fragment of warp w
// is the m16n8k32 fragment of rows 16 w..16 w + 15.)
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_KERNELLAYOUTS_H
#define QQQ_NUMERICS_KERNELLAYOUTS_H

#include "qqq/Numerics/Matrix.h"
#include "qqq/Numerics/Packing.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::numerics {

/// Empty if (N, K) can use `layout` (sm80/sm90 interleaved), else why not.
std::string checkKernelLayoutShape(WeightLayout layout, int64_t N, int64_t K);

/// Byte offset and nibble (0 low, 1 high) of weight (n, k) in the layout.
struct NibblePosition {
  int64_t byte;
  int high;
};
NibblePosition kernelLayoutPosition(WeightLayout layout, int64_t n, int64_t k,
                                    int64_t K);

/// q: N x K int4 values in [-8, 7] (row-major); out: N*K/2 bytes.
/// Preconditions: checkKernelLayoutShape(...) is empty, values in range.
void packSm80(const int8_t *q, int64_t N, int64_t K, uint8_t *out);
void unpackSm80(const uint8_t *in, int64_t N, int64_t K, int8_t *q);
void packSm90(const int8_t *q, int64_t N, int64_t K, uint8_t *out);
void unpackSm90(const uint8_t *in, int64_t N, int64_t K, int8_t *q);

/// Checked entry points used by packWeights/unpackWeights (Packing.h).
/// Return an error string (empty on success).
std::string packKernelLayout(WeightLayout layout, const Matrix<int8_t> &q,
                             std::vector<uint8_t> &packed);
std::string unpackKernelLayout(WeightLayout layout,
                               const std::vector<uint8_t> &packed, int64_t N,
                               int64_t K, Matrix<int8_t> &q);

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_KERNELLAYOUTS_H
