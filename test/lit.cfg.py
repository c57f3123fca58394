# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QQQ"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qqq_obj_root, "test")
# Directories with their own runners (gtest, pytest, GPU scripts).
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unittests", "gpu", "Inputs"]

config.substitutions.append(("%PYTHON", config.python_executable))
config.substitutions.append(("%qqq_src_root", config.qqq_src_root))
config.environment["PYTHONPATH"] = os.path.join(config.qqq_src_root, "python")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.qqq_tools_dir, config.llvm_tools_dir]
tools = ["qqq-opt", "qqq-translate", "qqq-compile", "qqq-tune", "qqq-bench"]
llvm_config.add_tool_substitutions(
    [ToolSubst(t, unresolved="ignore") for t in tools], tool_dirs)

# Tests that need optional Python packages say `REQUIRES: onnxruntime`.
try:
    import onnx, onnxruntime  # noqa: F401
    config.available_features.add("onnxruntime")
except ImportError:
    pass

config.substitutions.append(("%mlir_include", config.mlir_include_dir))
