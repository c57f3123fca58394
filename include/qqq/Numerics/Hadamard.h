//===- Hadamard.h - Randomized Hadamard rotations ---------------*- C++ -*-===//
//
// Orthogonal rotations Q = D * H_n / sqrt(n) (D a random +-1 diagonal from a
// seed) used to spread activation outliers: y = x W^T = (x Q)(W Q)^T.
//
// H_n is built, never tabulated: n = 2^a * m with H_n = H_{2^a} (x) H_m
// (Kronecker; index i = p*m + r, p < 2^a, r < m), H_{2^a} by Sylvester and
// H_m by
//   - m = 1,
//   - Paley I:  m = q + 1, q a prime power, q = 3 (mod 4),
//   - Paley II: m = 2(q + 1), q a prime power, q = 1 (mod 4),
// (quadratic characters of GF(q), built by search for an irreducible
// polynomial when q is not prime) choosing the smallest such m. This covers
// every hidden size of the LLaMA/Qwen families we checked (4096,
// 5120 = 2^8*20, 8192, 13824 = 2^7*108, 14336 = 2^9*28, 3584 = 2^7*28,
// 18944 = 2^7*148, 576 = 2^4*36, 11008 = 2*5504 with 5503 prime, ...).
// Orders needing another construction (e.g. 92, 172 = 4*43) are reported by
// hadamardUnsupportedReason().
//
// Application costs O(n log n) for the 2^a part plus O(n m) for the H_m
// block.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_HADAMARD_H
#define QQQ_NUMERICS_HADAMARD_H

#include "qqq/Numerics/Matrix.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::numerics {

/// Empty when a Hadamard matrix of order n can be built, else the reason.
std::string hadamardUnsupportedReason(int64_t n);
inline bool isHadamardSizeSupported(int64_t n) {
  return hadamardUnsupportedReason(n).empty();
}

/// The +-1 Hadamard matrix H_n (unnormalized), n x n. Empty matrix when n
/// is unsupported.
Matrix<int8_t> hadamardMatrix(int64_t n);

/// A randomized, normalized Hadamard rotation Q = D * H_n / sqrt(n).
class RandomizedHadamard {
public:
  /// Builds the rotation; on an unsupported n, error() is non-empty and the
  /// object must not be applied.
  RandomizedHadamard(int64_t n, uint64_t seed);

  int64_t size() const { return n; }
  const std::string &error() const { return err; }
  const std::vector<int8_t> &signs() const { return sign; }

  /// v <- v * Q for a row vector of size n (float64 or float32 storage,
  /// float64 arithmetic).
  void applyRight(double *v) const;
  void applyRight(float *v) const;
  /// v <- v * Q^T.
  void applyRightTranspose(double *v) const;
  void applyRightTranspose(float *v) const;
  /// Every row of m (cols == n): m <- m * Q (or m * Q^T).
  void rotateRows(Matrix<float> &m, bool transpose = false) const;

  /// The dense Q (n x n, float64), for tests and small n.
  Matrix<double> dense() const;

private:
  void applyUnnormalized(double *v, bool transpose) const;
  int64_t n = 0, pow2 = 1, m = 1;
  std::vector<int8_t> sign;   // D
  Matrix<int8_t> block;       // H_m
  std::string err;
};

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_HADAMARD_H
