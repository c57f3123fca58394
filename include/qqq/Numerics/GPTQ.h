//===- GPTQ.h - Hessian-based int4 weight quantization ----------*- C++ -*-===//
//
// GPTQ (Frantar et al.) for the W4A8 scheme: dead columns, damping, the
// Cholesky factor of H (LAPACK, no explicit inverse), block-wise quantization with lazy
// batch updates (BLAS sgemm), act-order with static groups. Deterministic for
// a given input (OpenBLAS level-3 results do not depend on the thread count
// for the shapes used here; the library pins nothing else).
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_GPTQ_H
#define QQQ_NUMERICS_GPTQ_H

#include "qqq/Numerics/Matrix.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qqq::numerics {

struct GptqOptions {
  int64_t groupSize = 0;     // 0 = per channel; else divides K, multiple of 16
  bool actOrder = false;     // quantize columns by decreasing H[i,i]
  bool staticGroups = false; // group scales from the original W, before GPTQ
  bool mseClip = false;      // MSE clip search for every scale
  double dampPercent = 0.01; // damping = dampPercent * mean(diag H)
  int64_t blockSize = 128;   // lazy-batch block width
};

struct GptqResult {
  int64_t groupSize = 0;
  Matrix<int8_t> q;                // N x K int4 values (original column order)
  std::vector<float> channelScale; // N: per channel s[n]; per group two-level s_ch
  Matrix<float> groupScale;        // K/G x N: f32 s_g (before two-level)
  // Error statistics.
  double quantLoss = 0;    // GPTQ's sum of err^2 / d^2 (proxy of output error)
  int64_t deadColumns = 0; // columns with H[i,i] == 0
  double seconds = 0;      // wall time of gptqQuantize
  double updateSeconds = 0; // time spent in the lazy-batch sgemm updates
  double updateFlops = 0;   // flops of those updates (2*N*rest*block summed)
  double factorSeconds = 0; // time of the Cholesky factorization
  double blockSeconds = 0;  // time of the in-block column loops
  std::string error;        // non-empty: invalid input, nothing computed
};

/// H = sum over calibration rows of x x^T (K x K; float32 products over
/// chunks of 1024 rows, accumulated in float64), scaled by 2/n. `x` is
/// n x K. `H` may be accumulated over several calls with `count` tracking n:
/// call accumulateHessian (which fills the upper triangle), then
/// finalizeHessian (which scales and mirrors it).
void accumulateHessian(const Matrix<float> &x, Matrix<double> &H,
                       int64_t &count);
void finalizeHessian(Matrix<double> &H, int64_t count);
/// Gives the first token of each calibration window (the attention sink of
/// LLaMA-family models) the share `weight` of the Hessian's total mass:
/// H += weight · (count / countFirst) · xtxFirst, where xtxFirst = Σ x₀x₀ᵀ over
/// the countFirst windows and H = Σ x xᵀ over all `count` tokens (call before
/// finalizeHessian). weight = 0 leaves H unchanged.
void addFirstTokenWeight(Matrix<double> &H, const std::vector<double> &xtxFirst,
                         int64_t count, int64_t countFirst, double weight);
/// Σ rᵢ rᵢᵀ over the rows of `rows` (n x K) in float64 products and sums:
/// K x K, row-major, both triangles (the calibration file keeps the windows'
/// first-token rows; this is their xtx_first).
std::vector<double> sumOfOuterProducts(const Matrix<float> &rows);
Matrix<double> computeHessian(const Matrix<float> &x);

/// Quantizes W (N x K) with the Hessian H (K x K). Shape or group-size
/// errors set `error` (no exceptions in this code base). Never produces
/// NaN/Inf for a singular or zero Hessian (falls back to stronger damping,
/// ultimately to RTN on columns with no information).
GptqResult gptqQuantize(const Matrix<float> &W, const Matrix<double> &H,
                        const GptqOptions &options);

/// GPTQ of several weights that read the same input (q/k/v, gate/up) with
/// one factorization of H: output channels are independent in GPTQ, so this
/// is GPTQ of the weights stacked along N, split back. All weights must have
/// K = H.rows columns; on error every result carries the message.
std::vector<GptqResult> gptqQuantizeShared(
    const std::vector<const Matrix<float> *> &weights, const Matrix<double> &H,
    const GptqOptions &options);

/// Dequantized weight of a result: q*s (per channel) or q*s_g (per group).
Matrix<float> dequantizeGptq(const GptqResult &r);

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_GPTQ_H
