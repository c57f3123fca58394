"""Runs the pytest suite for ctest; exits 77 (ctest: skipped) when the Python
dependencies are not installed, so a C++-only checkout still tests cleanly."""
import importlib.util
import sys

REQUIRED = ["pytest", "numpy", "onnx", "onnxruntime"]

missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
if missing:
    print(f"pytest suite skipped: missing Python packages {', '.join(missing)}")
    sys.exit(77)

import pytest  # noqa: E402

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
