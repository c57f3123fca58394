//===- GPTQ.cpp - Hessian-based int4 weight quantization ------------------===//
//
// GPTQ (Frantar et al., 2022) as in the reference fasterquant(), with the
// weight kept transposed (K x N) so that a column of W is a contiguous row:
// the in-block column loop streams rows, the lazy batch update is one sgemm,
// and output channels split freely across threads (rows n are independent).
//
// No inverse is formed. GPTQ's recurrence, with U the upper Cholesky factor
// of H^-1 (H^-1 = U^T U), e_j = (w_j - q_j) / U_jj and
// w_j = W_j - sum_{i<j} e_i U_ij, says W - Q = E U, i.e. E = (W - Q) R with
// R = U^-1 the upper triangular factor of H = R R^T. Substituting gives
//   w_j = W_j + sum_{i<j} (W_i - q_i) R_ij / R_jj,
// the same lazy-batch structure driven by the quantization differences
// D = W - Q and the column-scaled factor R~_ij = R_ij / R_jj. R itself is
// one Cholesky: with J the index reversal, chol(J H J) = L gives R = J L J.
// That saves the triangular inverse (a third of the factorization flops)
// and the reference's two further factorizations. The loss term
// (w - q)^2 / U_jj^2 is (w - q)^2 R_jj^2.
//
//===----------------------------------------------------------------------===//

#include "qqq/Numerics/GPTQ.h"
#include "qqq/Numerics/Quantizers.h"

#include <cblas.h>
#include <lapacke.h>
#ifdef __linux__
#include <sched.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>
#include <type_traits>

namespace qqq::numerics {

void accumulateHessian(const Matrix<float> &x, Matrix<double> &H,
                       int64_t &count) {
  const int64_t K = x.cols;
  if (H.rows != K || H.cols != K)
    H = Matrix<double>(K, K, 0.0);
  if (x.rows == 0)
    return;
  // x^T x in float32 (ssyrk, twice the double rate) over chunks of at most
  // 1024 rows, each chunk added into the float64 upper triangle, so long
  // calibration runs do not accumulate float32 rounding.
  const int64_t chunk = 1024;
  std::vector<float> part(static_cast<size_t>(K * K));
  for (int64_t r0 = 0; r0 < x.rows; r0 += chunk) {
    const int64_t rows = std::min(chunk, x.rows - r0);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(K),
                static_cast<int>(rows), 1.0f, x.row(r0), static_cast<int>(K),
                0.0f, part.data(), static_cast<int>(K));
    for (int64_t i = 0; i < K; ++i) {
      const float *src = &part[i * K];
      double *dst = H.row(i);
      for (int64_t j = i; j < K; ++j)
        dst[j] += src[j];
    }
  }
  count += x.rows;
}

void finalizeHessian(Matrix<double> &H, int64_t count) {
  const int64_t K = H.rows;
  double f = count > 0 ? 2.0 / static_cast<double>(count) : 0.0;
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = i; j < K; ++j) {
      double v = H.at(i, j) * f;
      H.at(i, j) = v;
      H.at(j, i) = v;
    }
}

void addFirstTokenWeight(Matrix<double> &H, const std::vector<double> &xtxFirst,
                         int64_t count, int64_t countFirst, double weight) {
  if (weight == 0.0 || countFirst <= 0)
    return;
  double f = weight * static_cast<double>(count) /
             static_cast<double>(countFirst);
  for (size_t i = 0; i < H.data.size(); ++i)
    H.data[i] += f * xtxFirst[i];
}

std::vector<double> sumOfOuterProducts(const Matrix<float> &rows) {
  const int64_t K = rows.cols;
  std::vector<double> out(static_cast<size_t>(K * K), 0.0);
  if (rows.rows == 0 || K == 0)
    return out;
  std::vector<double> r64(rows.data.begin(), rows.data.end());
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(K),
              static_cast<int>(rows.rows), 1.0, r64.data(),
              static_cast<int>(K), 0.0, out.data(), static_cast<int>(K));
  for (int64_t i = 0; i < K; ++i) // mirror the upper triangle
    for (int64_t j = 0; j < i; ++j)
      out[i * K + j] = out[j * K + i];
  return out;
}

Matrix<double> computeHessian(const Matrix<float> &x) {
  Matrix<double> H;
  int64_t count = 0;
  accumulateHessian(x, H, count);
  if (H.rows != x.cols)
    H = Matrix<double>(x.cols, x.cols, 0.0);
  finalizeHessian(H, count);
  return H;
}

namespace {

double seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a)
      .count();
}

/// The Hessian GPTQ factorizes: dead inputs replaced by unit rows/columns,
/// columns permuted (act-order), damping added to the diagonal.
struct PreparedHessian {
  const Matrix<double> &H;
  const std::vector<char> &dead;
  const std::vector<int64_t> &perm;
  double damp;
  double operator()(int64_t i, int64_t j) const {
    int64_t pi = perm[i], pj = perm[j];
    double v = (dead[pi] || dead[pj]) ? (i == j ? 1.0 : 0.0) : H.at(pi, pj);
    return i == j ? v + damp : v;
  }
};

/// Checks the upper triangle of the row-major factor for a usable result.
template <class T> bool upperFactorIsUsable(const std::vector<T> &u, int64_t K) {
  for (int64_t i = 0; i < K; ++i) {
    if (!std::isfinite(u[i * K + i]) || !(u[i * K + i] > 0))
      return false;
    for (int64_t j = i + 1; j < K; ++j)
      if (!std::isfinite(u[i * K + j]))
        return false;
  }
  return true;
}

/// R (row-major upper triangle of `out`) with H = R R^T. The prepared
/// Hessian is written index-reversed (J H J); column-major 'U' potrf on that
/// row-major array sees its transpose and leaves L (J H J = L L^T) in the
/// row-major lower triangle; reversing the array gives R = J L J.
template <class T>
bool reversedCholeskyUpper(const PreparedHessian &h, int64_t K,
                          std::vector<T> &out) {
  out.resize(static_cast<size_t>(K * K));
  const int64_t last = K * K - 1;
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < K; ++j)
      out[last - (i * K + j)] = static_cast<T>(h(i, j));
  lapack_int n = static_cast<lapack_int>(K), info;
  if constexpr (std::is_same_v<T, float>) {
    info = LAPACKE_spotrf(LAPACK_COL_MAJOR, 'U', n, out.data(), n);
  } else {
    info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', n, out.data(), n);
  }
  if (info != 0)
    return false;
  std::reverse(out.begin(), out.end());
  return upperFactorIsUsable(out, K);
}

/// Threads for the in-block loops: the CPUs this process may run on.
unsigned workerCount() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, std::min(CPU_COUNT(&set), 64));
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : std::min(n, 64u);
}

} // namespace

GptqResult gptqQuantize(const Matrix<float> &W, const Matrix<double> &Hin,
                        const GptqOptions &opt) {
  auto start = std::chrono::steady_clock::now();
  GptqResult res;
  const int64_t N = W.rows, K = W.cols;
  const int64_t G = opt.groupSize;
  res.groupSize = G;
  if (Hin.rows != K || Hin.cols != K) {
    res.error = "Hessian is " + std::to_string(Hin.rows) + "x" +
                std::to_string(Hin.cols) + " but the weight has K = " +
                std::to_string(K);
    return res;
  }
  res.error = checkGroupSize(G, K);
  if (!res.error.empty())
    return res;
  if (opt.actOrder && G > 0 && !opt.staticGroups) {
    res.error = "act-order with per-group scales needs static groups (the "
                "kernels read groups in the original column order)";
    return res;
  }
  if (opt.blockSize <= 0 || !(opt.dampPercent >= 0.0)) {
    res.error = "block size must be positive and damping non-negative";
    return res;
  }
  for (float v : W.data)
    if (!std::isfinite(v)) {
      res.error = "weight contains NaN or Inf";
      return res;
    }
  for (double v : Hin.data)
    if (!std::isfinite(v)) {
      res.error = "Hessian contains NaN or Inf";
      return res;
    }

  // Dead inputs: no calibration signal, the weight column is dropped.
  std::vector<char> dead(static_cast<size_t>(K), 0);
  std::vector<double> diag(static_cast<size_t>(K));
  for (int64_t i = 0; i < K; ++i) {
    dead[i] = Hin.at(i, i) <= 0.0;
    res.deadColumns += dead[i];
    diag[i] = dead[i] ? 1.0 : Hin.at(i, i);
  }

  // Scales fixed before GPTQ: per channel, or static groups (from the
  // un-reordered weight with dead columns zeroed).
  Int4Range range = int4Range(G);
  res.groupScale = G > 0 ? Matrix<float>(K / G, N) : Matrix<float>();
  std::vector<float> chScale;
  if (G == 0 || opt.staticGroups) {
    if (G == 0)
      chScale.resize(static_cast<size_t>(N));
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k)
        row[k] = dead[k] ? 0.0f : W.at(n, k);
      if (G == 0)
        chScale[n] = findInt4Scale(row.data(), K, 0, opt.mseClip);
      else
        for (int64_t g = 0; g < K / G; ++g)
          res.groupScale.at(g, n) =
              findInt4Scale(row.data() + g * G, G, G, opt.mseClip);
    }
  }

  // Act-order: columns by decreasing H[i,i] (stable, so deterministic).
  std::vector<int64_t> perm(static_cast<size_t>(K));
  std::iota(perm.begin(), perm.end(), 0);
  if (opt.actOrder)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return diag[a] > diag[b]; });

  // Transposed, permuted working copy Wt (K x N), dead columns zeroed;
  // tiled so both sides stay in cache.
  std::vector<float> Wt(static_cast<size_t>(K * N));
  const int64_t T = 64;
  for (int64_t n0 = 0; n0 < N; n0 += T)
    for (int64_t i0 = 0; i0 < K; i0 += T)
      for (int64_t i = i0; i < std::min(K, i0 + T); ++i) {
        const int64_t k = perm[i];
        float *dst = &Wt[i * N];
        for (int64_t n = n0; n < std::min(N, n0 + T); ++n)
          dst[n] = dead[k] ? 0.0f : W.at(n, k);
      }

  // Damping and the Cholesky factor R; stronger damping, then double
  // precision, then the identity (plain RTN) if the factorization fails.
  double meanDiag = 0.0;
  for (int64_t i = 0; i < K; ++i)
    meanDiag += diag[i];
  meanDiag /= std::max<int64_t>(K, 1);
  std::vector<float> U;
  bool ok = false;
  auto factorStart = std::chrono::steady_clock::now();
  double damp = opt.dampPercent * meanDiag;
  for (int attempt = 0; attempt < 6 && !ok; ++attempt) {
    PreparedHessian h{Hin, dead, perm, damp};
    ok = reversedCholeskyUpper<float>(h, K, U);
    if (!ok) {
      std::vector<double> Ud;
      ok = reversedCholeskyUpper<double>(h, K, Ud);
      if (ok) {
        U.assign(Ud.begin(), Ud.end());
        ok = upperFactorIsUsable(U, K);
      }
    }
    damp = damp > 0.0 ? damp * 10.0 : 1e-6 * std::max(meanDiag, 1e-30);
  }
  if (!ok) {
    U.assign(static_cast<size_t>(K * K), 0.0f);
    for (int64_t i = 0; i < K; ++i)
      U[i * K + i] = 1.0f;
  }
  // U now holds R; keep R_jj and scale each column above the diagonal by
  // 1 / R_jj (R~ of the header comment).
  std::vector<float> rDiag(static_cast<size_t>(K));
  for (int64_t j = 0; j < K; ++j)
    rDiag[j] = U[j * K + j];
  for (int64_t i = 0; i < K; ++i) {
    float *row = &U[i * K];
    for (int64_t j = i + 1; j < K; ++j)
      row[j] /= rDiag[j];
  }
  res.factorSeconds = seconds(factorStart);

  // Block size: groups found during GPTQ must not straddle blocks.
  int64_t B = opt.blockSize;
  if (G > 0 && !opt.staticGroups)
    B = std::max<int64_t>(G, (B / G) * G);

  std::vector<int8_t> Qt(static_cast<size_t>(K * N), 0);
  // D = W - Q needs the original (permuted) weight next to the updated one.
  const std::vector<float> W0 = Wt;
  std::vector<float> Err(static_cast<size_t>(B * N));
  const unsigned threads = workerCount();
  std::vector<double> loss(threads, 0.0);

  for (int64_t i1 = 0; i1 < K; i1 += B) {
    const int64_t i2 = std::min(K, i1 + B), count = i2 - i1;
    // Channel-parallel in-block quantization; each worker owns a contiguous
    // range of output channels and handles it in cache-sized tiles.
    int64_t parts = std::min<int64_t>(threads, std::max<int64_t>(1, N / 64));
    std::vector<double> partLoss(static_cast<size_t>(parts), 0.0);
    int64_t chunk = (N + parts - 1) / parts;
    auto work = [&](int64_t p) {
      int64_t nb = p * chunk, ne = std::min(N, nb + chunk);
      const int64_t tile = 256;
      double l = 0.0;
      std::vector<float> scale(static_cast<size_t>(tile));
      for (int64_t t0 = nb; t0 < ne; t0 += tile) {
        int64_t t1 = std::min(ne, t0 + tile), tw = t1 - t0;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t col = i1 + i;
          float *w = &Wt[col * N];
          // The scale of this column for each channel of the tile.
          if (G == 0) {
            std::copy(chScale.begin() + t0, chScale.begin() + t1, scale.begin());
          } else if (opt.staticGroups) {
            const float *gs = res.groupScale.row(perm[col] / G);
            std::copy(gs + t0, gs + t1, scale.begin());
          } else {
            if (col % G == 0) {
              // New group: range of the current (updated) columns col..col+G.
              std::vector<float> buf(static_cast<size_t>(G));
              for (int64_t n = t0; n < t1; ++n) {
                for (int64_t c = 0; c < G; ++c)
                  buf[c] = Wt[(col + c) * N + n];
                res.groupScale.at(col / G, n) =
                    findInt4Scale(buf.data(), G, G, opt.mseClip);
              }
            }
            const float *gs = res.groupScale.row(col / G);
            std::copy(gs + t0, gs + t1, scale.begin());
          }
          const double r2 = static_cast<double>(rDiag[col]) * rDiag[col];
          float *e = &Err[i * N];
          int8_t *qrow = &Qt[col * N];
          for (int64_t j = 0; j < tw; ++j) {
            int64_t n = t0 + j;
            float s = scale[j];
            int q = quantizeInt4Value(w[n], s, range);
            qrow[n] = static_cast<int8_t>(q);
            float deq = static_cast<float>(q) * s;
            double diff = static_cast<double>(w[n]) - deq;
            l += diff * diff * r2;
            e[n] = W0[col * N + n] - deq;
          }
          // Eager update of the remaining columns of the block.
          const float *urow = &U[col * K];
          for (int64_t c = i + 1; c < count; ++c) {
            const float h = urow[i1 + c];
            float *wc = &Wt[(i1 + c) * N];
            for (int64_t n = t0; n < t1; ++n)
              wc[n] += h * e[n];
          }
        }
      }
      partLoss[p] = l;
    };
    auto blockStart = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int64_t p = 1; p < parts; ++p)
      pool.emplace_back(work, p);
    work(0);
    for (auto &t : pool)
      t.join();
    for (double l : partLoss)
      loss[0] += l;
    res.blockSeconds += seconds(blockStart);

    // Lazy batch update of all later columns: Wt[i2:] += R~[i1:i2, i2:]^T D.
    if (i2 < K) {
      auto t = std::chrono::steady_clock::now();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                  static_cast<int>(K - i2), static_cast<int>(N),
                  static_cast<int>(count), 1.0f, &U[i1 * K + i2],
                  static_cast<int>(K), Err.data(), static_cast<int>(N), 1.0f,
                  &Wt[i2 * N], static_cast<int>(N));
      res.updateSeconds += seconds(t);
      res.updateFlops += 2.0 * static_cast<double>(K - i2) * N * count;
    }
  }
  res.quantLoss = loss[0] / 2.0;

  // Back to the original column order, N x K.
  res.q = Matrix<int8_t>(N, K);
  for (int64_t n0 = 0; n0 < N; n0 += T)
    for (int64_t i0 = 0; i0 < K; i0 += T)
      for (int64_t i = i0; i < std::min(K, i0 + T); ++i) {
        const int8_t *qrow = &Qt[i * N];
        const int64_t k = perm[i];
        for (int64_t n = n0; n < std::min(N, n0 + T); ++n)
          res.q.at(n, k) = qrow[n];
      }
  if (G == 0)
    res.channelScale = chScale;
  else
    res.channelScale = computeTwoLevelScales(res.q, res.groupScale, G).sCh;
  res.seconds = seconds(start);
  return res;
}

std::vector<GptqResult> gptqQuantizeShared(
    const std::vector<const Matrix<float> *> &weights, const Matrix<double> &H,
    const GptqOptions &options) {
  std::vector<GptqResult> out(weights.size());
  int64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!weights[i] || weights[i]->cols != H.rows) {
      for (GptqResult &r : out)
        r.error = "weight " + std::to_string(i) + " does not have K = " +
                  std::to_string(H.rows) + " columns";
      return out;
    }
    total += weights[i]->rows;
  }
  if (weights.empty())
    return out;
  Matrix<float> stacked(total, H.rows);
  int64_t row = 0;
  for (const Matrix<float> *w : weights) {
    std::copy(w->data.begin(), w->data.end(), stacked.row(row));
    row += w->rows;
  }
  GptqResult all = gptqQuantize(stacked, H, options);
  const int64_t K = H.rows, G = options.groupSize;
  row = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    GptqResult &r = out[i];
    const int64_t n = weights[i]->rows;
    r.groupSize = all.groupSize;
    r.error = all.error;
    r.quantLoss = all.quantLoss; // of the whole stack
    r.deadColumns = all.deadColumns;
    r.seconds = all.seconds;
    r.updateSeconds = all.updateSeconds;
    r.updateFlops = all.updateFlops;
    r.factorSeconds = all.factorSeconds;
    r.blockSeconds = all.blockSeconds;
    if (all.error.empty()) {
      r.q = Matrix<int8_t>(n, K);
      std::copy_n(all.q.row(row), n * K, r.q.data.begin());
      r.channelScale.assign(all.channelScale.begin() + row,
                            all.channelScale.begin() + row + n);
      if (G > 0) {
        r.groupScale = Matrix<float>(K / G, n);
        for (int64_t g = 0; g < K / G; ++g)
          std::copy_n(all.groupScale.row(g) + row, n, r.groupScale.row(g));
      }
    }
    row += n;
  }
  return out;
}

Matrix<float> dequantizeGptq(const GptqResult &r) {
  Matrix<float> out(r.q.rows, r.q.cols);
  for (int64_t n = 0; n < r.q.rows; ++n)
    for (int64_t k = 0; k < r.q.cols; ++k) {
      float s = r.groupSize > 0 ? r.groupScale.at(k / r.groupSize, n)
                                : r.channelScale[n];
      out.at(n, k) = static_cast<float>(r.q.at(n, k)) * s;
    }
  return out;
}

} // namespace qqq::numerics
