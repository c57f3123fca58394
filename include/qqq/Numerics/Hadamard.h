//===- Hadamard.h - Randomized Hadamard rotations ---------------*- C++ -*-===//
//
// Orthogonal rotations Q = D * H_n / sqrt(n) (D a random +-1 diagonal from a
// seed) used to spread activation outliers: y = x W^T = (x Q)(W Q)^T.
//
// H_n is built, never copied from a table: n = 2^a * m with
// H_n = H_{2^a} (x) H_m (Kronecker; index i = p*m + r, p < 2^a, r < m),
// H_{2^a} by Sylvester and H_m by
//   - m = 1,
//   - Paley I:  m = q + 1, q a prime power, q = 3 (mod 4),
//   - Paley II: m = 2(q + 1), q a prime power, q = 1 (mod 4)
//     (quadratic characters of GF(q), built by search for an irreducible
//     polynomial when q is not prime),
//   - Goethals-Seidel: m = 4v from four +-1 sequences of length v whose
//     periodic autocorrelations sum to zero at every nonzero shift, for the
//     v in goethalsSeidelLengths() (23, 29, 39, 43: orders 92, 116, 156,
//     172). The sequences were found by our own search
//     (searchGoethalsSeidelSequences, tool qqq-hadamard-search) and are kept
//     with the multiplier order and seed that reproduce them,
// choosing the smallest such m. This covers the LLaMA/Qwen hidden and MLP
// sizes 4096, 5120 = 2^8*20, 8192, 11008 = 2^6*172, 13824 = 2^7*108,
// 14336 = 2^9*28, 3584 = 2^7*28, 18944 = 2^7*148, 576 = 2^4*36,
// 22016 = 2^7*172, ... Other orders (e.g. 188 = 4*47, 236 = 4*59,
// 428 = 4*107, hence Qwen1.5-14B's 13696 = 2^7*107) are reported by
// hadamardUnsupportedReason().
//
// Application costs O(n log n) for the 2^a part plus O(n m) for the H_m
// block.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_HADAMARD_H
#define QQQ_NUMERICS_HADAMARD_H

#include "qqq/Numerics/Matrix.h"

#include <array>
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

/// Four +-1 sequences of one length v (the first rows of four circulants).
using GoethalsSeidelSequences = std::array<std::vector<int8_t>, 4>;

/// Periodic autocorrelation PAF_x(s) = sum_t x[t] * x[(t + s) mod v].
int64_t periodicAutocorrelation(const std::vector<int8_t> &x, int64_t shift);

/// True when the four sequences have one length v >= 1, entries +-1, and
/// sum_i PAF_{x_i}(s) == 0 for s = 1..v-1.
bool hasZeroPeriodicAutocorrelationSum(const GoethalsSeidelSequences &seqs);

/// The Goethals-Seidel array of order 4v, with circulants A, B, C, D (first
/// rows a, b, c, d) and R the back-diagonal permutation:
///   [[  A,     BR,     CR,     DR  ],
///    [ -BR,    A,      D^T R, -C^T R],
///    [ -CR,   -D^T R,  A,      B^T R],
///    [ -DR,    C^T R, -B^T R,  A   ]].
/// It is Hadamard exactly when the sequences have zero PAF sum. Empty matrix
/// when the lengths differ or an entry is not +-1.
Matrix<int8_t> goethalsSeidelMatrix(const GoethalsSeidelSequences &seqs);

/// The lengths v for which sequences are kept (Goethals-Seidel order 4v).
std::vector<int64_t> goethalsSeidelLengths();

/// How each kept row was found: searchGoethalsSeidelSequences with this
/// length, multiplier order and seed (other options at their defaults)
/// prints it.
struct GoethalsSeidelKeptSearch {
  int64_t length, multiplierOrder;
  uint64_t seed;
};
std::vector<GoethalsSeidelKeptSearch> goethalsSeidelKeptSearches();

/// The kept sequences of length v; false when there are none.
bool goethalsSeidelSequences(int64_t v, GoethalsSeidelSequences &out);

/// Simulated annealing for four +-1 sequences of length v with zero PAF sum.
/// Optionally restricted to sequences constant on the orbits of t -> u*t
/// (mod v), u a unit of multiplicative order `multiplierOrder` (the smallest
/// such u); this shrinks the space and the number of distinct constraints.
/// Energy sum_{s=1..v/2} (sum_i PAF_i(s) / 4)^2, moves flip one orbit of one
/// sequence, Metropolis acceptance with the inverse temperature linear in
/// the step from 1/startTemperature to 1/endTemperature, then a restart.
/// Deterministic for a seed on every IEEE-754 platform (mt19937_64, own exp,
/// basic operations only).
struct GoethalsSeidelSearchOptions {
  int64_t length = 0;
  int64_t multiplierOrder = 1;
  uint64_t seed = 1;
  int64_t stepsPerRestart = 500000;
  int64_t maxRestarts = 1000;
  double startTemperature = 2.0;
  double endTemperature = 0.5;
};
struct GoethalsSeidelSearchResult {
  bool found = false;
  GoethalsSeidelSequences seqs;
  int64_t multiplier = 1; // u
  int64_t restarts = 0;   // restarts begun
  int64_t steps = 0;      // moves tried in all
  std::string error;      // invalid options
};
GoethalsSeidelSearchResult
searchGoethalsSeidelSequences(const GoethalsSeidelSearchOptions &opts);

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
