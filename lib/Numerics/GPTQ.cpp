//===- GPTQ.cpp - Hessian-based int4 weight quantization ------------------===//
//
// GPTQ (Frantar et al., 2022) as in the reference fasterquant(), with the
// weight kept transposed (K x N) so that a column of W is a contiguous row:
// the in-block column loop streams rows, the lazy batch update is one sgemm,
// and output channels split freely across threads (rows n are independent).
//
// The upper Cholesky factor U of H^-1 (H^-1 = U^T U) comes from one Cholesky
// and one triangular inverse instead of the reference's three
// factorizations: with J the index reversal, chol(J H J) = L gives
// H = (J L J)(J L J)^T and U = J L^-1 J.
//
//===----------------------------------------------------------------------===//

#include "qqq/Numerics/GPTQ.h"
#include "qqq/Numerics/Quantizers.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

namespace qqq::numerics {

void accumulateHessian(const Matrix<float> &x, Matrix<double> &H,
                       int64_t &count) {
  const int64_t K = x.cols;
  if (H.rows != K || H.cols != K)
    H = Matrix<double>(K, K, 0.0);
  if (x.rows == 0)
    return;
  std::vector<double> xd(x.data.begin(), x.data.end());
  // Upper triangle only; finalizeHessian mirrors it.
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(K),
              static_cast<int>(x.rows), 1.0, xd.data(), static_cast<int>(K),
              1.0, H.data.data(), static_cast<int>(K));
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

/// U (row-major upper triangle of `out`) with H^-1 = U^T U, H + damp*I
/// factorized. Returns false when the factorization fails.
bool inverseCholeskyUpperFloat(const Matrix<double> &H, double damp,
                               std::vector<float> &out) {
  const int64_t K = H.rows;
  out.resize(static_cast<size_t>(K * K));
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < K; ++j)
      out[i * K + j] = static_cast<float>(H.at(i, j) + (i == j ? damp : 0.0));
  std::reverse(out.begin(), out.end()); // J H J
  // Column-major 'U' on the row-major array: its row-major lower triangle
  // holds L with J H J = L L^T, and after strtri L^-1.
  lapack_int info = LAPACKE_spotrf(LAPACK_COL_MAJOR, 'U', static_cast<lapack_int>(K),
                                   out.data(), static_cast<lapack_int>(K));
  if (info != 0)
    return false;
  info = LAPACKE_strtri(LAPACK_COL_MAJOR, 'U', 'N', static_cast<lapack_int>(K),
                        out.data(), static_cast<lapack_int>(K));
  if (info != 0)
    return false;
  std::reverse(out.begin(), out.end()); // U = J L^-1 J, upper triangle
  for (int64_t i = 0; i < K; ++i)
    if (!std::isfinite(out[i * K + i]) || !(out[i * K + i] > 0.0f))
      return false;
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = i + 1; j < K; ++j)
      if (!std::isfinite(out[i * K + j]))
        return false;
  return true;
}

bool inverseCholeskyUpperDouble(const Matrix<double> &H, double damp,
                                std::vector<float> &out) {
  const int64_t K = H.rows;
  std::vector<double> a(static_cast<size_t>(K * K));
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < K; ++j)
      a[i * K + j] = H.at(i, j) + (i == j ? damp : 0.0);
  std::reverse(a.begin(), a.end());
  if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', static_cast<lapack_int>(K), a.data(),
                     static_cast<lapack_int>(K)) != 0)
    return false;
  if (LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'U', 'N', static_cast<lapack_int>(K),
                     a.data(), static_cast<lapack_int>(K)) != 0)
    return false;
  std::reverse(a.begin(), a.end());
  out.resize(static_cast<size_t>(K * K));
  for (int64_t i = 0; i < K * K; ++i)
    out[i] = static_cast<float>(a[i]);
  for (int64_t i = 0; i < K; ++i)
    if (!std::isfinite(out[i * K + i]) || !(out[i * K + i] > 0.0f))
      return false;
  return true;
}

unsigned workerCount() {
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
  Matrix<double> H = Hin;
  std::vector<bool> dead(static_cast<size_t>(K), false);
  for (int64_t i = 0; i < K; ++i)
    if (H.at(i, i) <= 0.0) {
      dead[i] = true;
      ++res.deadColumns;
      for (int64_t j = 0; j < K; ++j)
        H.at(i, j) = H.at(j, i) = 0.0;
      H.at(i, i) = 1.0;
    }

  // Transposed working copy Wt (K x N), dead columns zeroed.
  std::vector<float> Wt(static_cast<size_t>(K * N));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      Wt[k * N + n] = dead[k] ? 0.0f : W.at(n, k);

  // Scales fixed before GPTQ: per channel, or static groups (from the
  // un-reordered weight).
  Int4Range range = int4Range(G);
  res.groupScale = G > 0 ? Matrix<float>(K / G, N) : Matrix<float>();
  std::vector<float> chScale;
  {
    Matrix<float> Wz(N, K);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        Wz.at(n, k) = Wt[k * N + n];
    if (G == 0) {
      chScale.resize(static_cast<size_t>(N));
      for (int64_t n = 0; n < N; ++n)
        chScale[n] = findInt4Scale(Wz.row(n), K, 0, opt.mseClip);
    } else if (opt.staticGroups) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t g = 0; g < K / G; ++g)
          res.groupScale.at(g, n) =
              findInt4Scale(Wz.row(n) + g * G, G, G, opt.mseClip);
    }
  }

  // Act-order: columns by decreasing H[i,i] (stable, so deterministic).
  std::vector<int64_t> perm(static_cast<size_t>(K));
  std::iota(perm.begin(), perm.end(), 0);
  if (opt.actOrder) {
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return H.at(a, a) > H.at(b, b);
    });
    Matrix<double> Hp(K, K);
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j)
        Hp.at(i, j) = H.at(perm[i], perm[j]);
    H = std::move(Hp);
    std::vector<float> Wp(Wt.size());
    for (int64_t i = 0; i < K; ++i)
      std::copy_n(&Wt[perm[i] * N], N, &Wp[i * N]);
    Wt = std::move(Wp);
  }

  // Damping and the inverse Cholesky factor; stronger damping, then double
  // precision, then the identity (plain RTN) if the factorization fails.
  double meanDiag = 0.0;
  for (int64_t i = 0; i < K; ++i)
    meanDiag += H.at(i, i);
  meanDiag /= std::max<int64_t>(K, 1);
  std::vector<float> U;
  bool ok = false;
  double damp = opt.dampPercent * meanDiag;
  for (int attempt = 0; attempt < 6 && !ok; ++attempt) {
    ok = inverseCholeskyUpperFloat(H, damp, U) ||
         inverseCholeskyUpperDouble(H, damp, U);
    damp = damp > 0.0 ? damp * 10.0 : 1e-6 * std::max(meanDiag, 1e-30);
  }
  if (!ok) {
    U.assign(static_cast<size_t>(K * K), 0.0f);
    for (int64_t i = 0; i < K; ++i)
      U[i * K + i] = 1.0f;
  }

  // Block size: groups found during GPTQ must not straddle blocks.
  int64_t B = opt.blockSize;
  if (G > 0 && !opt.staticGroups)
    B = std::max<int64_t>(G, (B / G) * G);

  std::vector<int8_t> Qt(static_cast<size_t>(K * N), 0);
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
          const float d = U[col * K + col];
          float *e = &Err[i * N];
          int8_t *qrow = &Qt[col * N];
          for (int64_t j = 0; j < tw; ++j) {
            int64_t n = t0 + j;
            float s = scale[j];
            int q = quantizeInt4Value(w[n], s, range);
            qrow[n] = static_cast<int8_t>(q);
            float diff = w[n] - static_cast<float>(q) * s;
            l += static_cast<double>(diff) * diff / (static_cast<double>(d) * d);
            e[n] = diff / d;
          }
          // Eager update of the remaining columns of the block.
          const float *urow = &U[col * K];
          for (int64_t c = i + 1; c < count; ++c) {
            const float h = urow[i1 + c];
            float *wc = &Wt[(i1 + c) * N];
            for (int64_t n = t0; n < t1; ++n)
              wc[n] -= h * e[n];
          }
        }
      }
      partLoss[p] = l;
    };
    std::vector<std::thread> pool;
    for (int64_t p = 1; p < parts; ++p)
      pool.emplace_back(work, p);
    work(0);
    for (auto &t : pool)
      t.join();
    for (double l : partLoss)
      loss[0] += l;

    // Lazy batch update of all later columns: Wt[i2:] -= U[i1:i2, i2:]^T Err.
    if (i2 < K) {
      auto t = std::chrono::steady_clock::now();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                  static_cast<int>(K - i2), static_cast<int>(N),
                  static_cast<int>(count), -1.0f, &U[i1 * K + i2],
                  static_cast<int>(K), Err.data(), static_cast<int>(N), 1.0f,
                  &Wt[i2 * N], static_cast<int>(N));
      res.updateSeconds += seconds(t);
      res.updateFlops += 2.0 * static_cast<double>(K - i2) * N * count;
    }
  }
  res.quantLoss = loss[0] / 2.0;

  // Back to the original column order, N x K.
  res.q = Matrix<int8_t>(N, K);
  for (int64_t i = 0; i < K; ++i) {
    const int8_t *qrow = &Qt[i * N];
    int64_t k = perm[i];
    for (int64_t n = 0; n < N; ++n)
      res.q.at(n, k) = qrow[n];
  }
  if (G == 0)
    res.channelScale = chScale;
  else
    res.channelScale = computeTwoLevelScales(res.q, res.groupScale, G).sCh;
  res.seconds = seconds(start);
  return res;
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
