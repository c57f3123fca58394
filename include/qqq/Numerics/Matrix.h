//===- Matrix.h - Small dense row-major matrix ------------------*- C++ -*-===//
//
// The one container of the numerics library: a row-major matrix owning its
// storage. Plain C++17, no MLIR types, so passes, tools and tests share it.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_NUMERICS_MATRIX_H
#define QQQ_NUMERICS_MATRIX_H

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qqq::numerics {

template <class T> struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<T> data; // rows * cols, row-major

  Matrix() = default;
  Matrix(int64_t r, int64_t c, T init = T())
      : rows(r), cols(c), data(static_cast<std::size_t>(r * c), init) {}

  T &at(int64_t r, int64_t c) {
    assert(r >= 0 && r < rows && c >= 0 && c < cols);
    return data[static_cast<std::size_t>(r * cols + c)];
  }
  const T &at(int64_t r, int64_t c) const {
    assert(r >= 0 && r < rows && c >= 0 && c < cols);
    return data[static_cast<std::size_t>(r * cols + c)];
  }
  T *row(int64_t r) { return data.data() + r * cols; }
  const T *row(int64_t r) const { return data.data() + r * cols; }
  int64_t size() const { return rows * cols; }
  bool empty() const { return rows == 0 || cols == 0; }
};

} // namespace qqq::numerics

#endif // QQQ_NUMERICS_MATRIX_H
