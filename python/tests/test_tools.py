"""The Python side finds the C++ tools of the build it is tested with."""
import subprocess

import pytest

import qqq


def test_qqq_opt_parses_a_qqq_module(tmp_path):
    src = tmp_path / "m.mlir"
    src.write_text(
        'func.func @f(%x: tensor<2x8xf32>) -> (tensor<2x8xi8>, tensor<2x1xf32>) {\n'
        '  %q, %s = qqq.quantize_act %x : tensor<2x8xf32> -> (tensor<2x8xi8>, tensor<2x1xf32>)\n'
        '  return %q, %s : tensor<2x8xi8>, tensor<2x1xf32>\n}\n')
    out = subprocess.run([qqq.tool_path("qqq-opt"), str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "qqq.quantize_act" in out.stdout


def test_missing_tool_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("QQQ_BUILD_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="qqq-nonexistent"):
        qqq.tool_path("qqq-nonexistent")
