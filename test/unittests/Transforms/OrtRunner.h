//===- OrtRunner.h - run an exported ONNX model in ONNX Runtime -*- C++ -*-===//
//
// The export tests compare what stock ONNX Runtime computes from qqq's ONNX
// output with the numerics reference. ORT runs in a python3 subprocess
// (QQQ_PYTHON), so the tests need no ORT C++ package.
//
//===----------------------------------------------------------------------===//
#ifndef QQQ_TEST_UNITTESTS_TRANSFORMS_ORTRUNNER_H
#define QQQ_TEST_UNITTESTS_TRANSFORMS_ORTRUNNER_H

#include "qqq/Numerics/Matrix.h"

#include <string>
#include <vector>

namespace qqq::ort {

/// Whether python3 can import onnxruntime and numpy.
bool haveOnnxRuntime();

/// Runs `model` on its one input x (rows x K, f32) and returns every output
/// as f32, flattened to (rows x columns); scratch files go to `dir`.
/// False (with a message on stderr) when ORT fails.
bool runOrt(const std::string &dir, const std::string &model,
            const numerics::Matrix<float> &x,
            std::vector<numerics::Matrix<float>> &outputs);

} // namespace qqq::ort

#endif
