//===- OrtRunner.cpp - run an exported ONNX model in ONNX Runtime ---------===//
#include "OrtRunner.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#ifndef QQQ_PYTHON
#define QQQ_PYTHON "python3"
#endif

using qqq::numerics::Matrix;

bool qqq::ort::haveOnnxRuntime() {
  std::string cmd = std::string(QQQ_PYTHON) +
                    " -c 'import onnxruntime, numpy' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

bool qqq::ort::runOrt(const std::string &dir, const std::string &model,
                          const Matrix<float> &x,
                          std::vector<Matrix<float>> &outputs) {
  std::string xin = dir + "/x.bin", yout = dir + "/y", script = dir + "/run.py";
  {
    std::ofstream f(xin, std::ios::binary);
    f.write(reinterpret_cast<const char *>(x.data.data()), x.data.size() * 4);
  }
  {
    // Output i goes to y.i.bin, its column count (all but the row dimension
    // flattened) to y.shapes, one per line.
    std::ofstream f(script);
    f << "import sys, numpy as np, onnxruntime as ort\n"
         "m, xin, yout, rows, k = sys.argv[1], sys.argv[2], sys.argv[3], "
         "int(sys.argv[4]), int(sys.argv[5])\n"
         "x = np.fromfile(xin, dtype=np.float32).reshape(rows, k)\n"
         "so = ort.SessionOptions(); so.intra_op_num_threads = 1\n"
         "s = ort.InferenceSession(m, so, providers=['CPUExecutionProvider'])\n"
         "ys = s.run(None, {s.get_inputs()[0].name: x})\n"
         "with open(yout + '.shapes', 'w') as f:\n"
         "    for i, y in enumerate(ys):\n"
         "        y.astype(np.float32).tofile(f'{yout}.{i}.bin')\n"
         "        f.write(f'{y.size // rows}\\n')\n";
  }
  std::string cmd = std::string(QQQ_PYTHON) + " " + script + " " + model +
                    " " + xin + " " + yout + " " + std::to_string(x.rows) +
                    " " + std::to_string(x.cols);
  if (std::system(cmd.c_str()) != 0)
    return false;
  outputs.clear();
  std::ifstream shapes(yout + ".shapes");
  int64_t cols;
  for (int i = 0; shapes >> cols; ++i) {
    Matrix<float> y(x.rows, cols);
    std::ifstream f(yout + "." + std::to_string(i) + ".bin", std::ios::binary);
    f.read(reinterpret_cast<char *>(y.data.data()), y.data.size() * 4);
    if (!f)
      return false;
    outputs.push_back(std::move(y));
  }
  return !outputs.empty();
}
