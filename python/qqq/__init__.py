"""qqq: W4A8 quantization of LLaMA-family models with the QQQ method.

The Python side holds what runs models: building decoder ONNX models from
weights (``qqq.models``), calibration (``qqq.calibrate``) and evaluation
(``qqq.evaluate``). The compiler itself is C++ (``qqq-opt``,
``qqq-translate``, ``qqq-compile``).
"""
import os
import shutil

__all__ = ["tool_path"]


def tool_path(name: str) -> str:
    """Path of a qqq command-line tool: $QQQ_BUILD_DIR/bin first, then PATH."""
    build = os.environ.get("QQQ_BUILD_DIR")
    if build:
        candidate = os.path.join(build, "bin", name)
        if os.path.exists(candidate):
            return candidate
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"qqq tool '{name}' not found: set QQQ_BUILD_DIR to the build directory or put it on PATH")
    return found
