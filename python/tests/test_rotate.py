"""qqq-rotate on a real decoder graph: the rotated model computes the same
function (ONNX Runtime logits of import → qqq-rotate → export equal the
original's up to float32 rounding), its activations are rotated (RMSNorm γ
is 1 and the norm outputs differ from the original's), and a head size that
crosses attention heads — which is not exact — is caught by the same check.
"""
import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import qqq

PYENV = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))


def _tools():
    try:
        return qqq.tool_path("qqq-translate"), qqq.tool_path("qqq-opt")
    except FileNotFoundError:
        pytest.skip("qqq-translate / qqq-opt are not built")


def _run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, env=PYENV)
    return r


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("rotate")
    model = str(d / "tiny.onnx")
    r = _run([sys.executable, "-m", "qqq.models", "--random", "--config", "tiny",
              "--seed", "5", "-o", model])
    assert r.returncode == 0, r.stderr
    translate, _ = _tools()
    mlir = str(d / "tiny.mlir")
    r = _run([translate, "--import-onnx", model, "-o", mlir])
    assert r.returncode == 0, r.stderr
    return d, model, mlir


def _rotate(d, mlir, name, options):
    translate, opt = _tools()
    out_mlir, out_onnx = str(d / (name + ".mlir")), str(d / (name + ".onnx"))
    r = _run([opt, mlir, "--qqq-rotate=" + options, "-o", out_mlir])
    assert r.returncode == 0, r.stderr
    r = _run([translate, "--export-onnx", out_mlir, "-o", out_onnx])
    assert r.returncode == 0, r.stderr
    return out_onnx


def _logits(path, ids, extra_outputs=()):
    m = onnx.load(path)
    for name in extra_outputs:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"input_ids": ids})


IDS = np.random.default_rng(11).integers(0, 256, size=(2, 13)).astype(np.int64)


@pytest.mark.parametrize("options", ["seed=1", "seed=2 head-dim=16", "seed=3 head-dim=8"])
def test_rotation_keeps_the_function(tiny, options):
    d, model, mlir = tiny
    rotated = _rotate(d, mlir, "rot_" + options.replace(" ", "_").replace("=", ""), options)
    ref = _logits(model, IDS)[0]
    got = _logits(rotated, IDS)[0]
    err = np.abs(got - ref).max() / np.abs(ref).max()
    assert err < 1e-5, err


def test_rotation_changes_the_activations(tiny):
    d, model, mlir = tiny
    rotated = _rotate(d, mlir, "rot_act", "seed=4")
    tap = "layers.0.input_layernorm.output"
    ref = _logits(model, IDS, [tap])[1]
    got = _logits(rotated, IDS, [tap])[1]
    # Same norms per token (γ folded away changes scale; rotation keeps the
    # row norm of the un-γ'd output), different channels.
    assert np.abs(got - ref).max() > 1e-2 * np.abs(ref).max()
    rows = np.linalg.norm(got.reshape(-1, got.shape[-1]), axis=1)
    np.testing.assert_allclose(rows, np.sqrt(got.shape[-1]), rtol=1e-3)


def test_head_dim_crossing_heads_is_not_exact(tiny):
    # The tiny model has 4 heads of 16: a 32-wide per-head rotation mixes two
    # heads, which attention does not commute with. The logits check sees it.
    d, model, mlir = tiny
    rotated = _rotate(d, mlir, "rot_wrong", "seed=1 head-dim=32")
    ref = _logits(model, IDS)[0]
    got = _logits(rotated, IDS)[0]
    assert np.abs(got - ref).max() / np.abs(ref).max() > 1e-3


def test_refuses_a_head_dim_that_does_not_divide(tiny):
    d, model, mlir = tiny
    _, opt = _tools()
    r = _run([opt, mlir, "--qqq-rotate=head-dim=64", "-o", str(d / "x.mlir")])
    assert r.returncode != 0
    assert "head-dim 64 does not divide" in r.stderr
    assert not os.path.exists(d / "x.mlir") or os.path.getsize(d / "x.mlir") == 0


def test_compile_with_rotation_quantizes_every_layer(tiny, tmp_path):
    """qqq-compile --preprocess rotate: the rotation stage runs (with the
    per-head rotation sized from the model's metadata), the calibration
    statistics follow it (GPTQ on them gives a sane model), and the W4A8
    logits stay close to the float model's."""
    d, model, _ = tiny
    try:
        tool = qqq.tool_path("qqq-compile")
    except FileNotFoundError:
        pytest.skip("qqq-compile is not built")
    text = tmp_path / "calib.txt"
    text.write_text(" ".join("a rotated sentence number %d of calibration text." % i
                             for i in range(300)))
    stats = str(tmp_path / "stats.safetensors")
    r = _run([sys.executable, "-m", "qqq.calibrate", model, "--text", str(text),
              "--samples", "8", "--seq-len", "64", "--rows", "256", "-o", stats, "--quiet"])
    assert r.returncode == 0, r.stderr
    outs = {}
    for pre in ("none", "rotate"):
        out = tmp_path / pre
        r = _run([tool, model, "--calibration", stats, "--preprocess", pre, "-o", str(out)])
        assert r.returncode == 0, r.stderr
        if pre == "rotate":
            assert "[qqq-rotate] hidden 64: 5 norms folded, 4 writers, 2 per-head pairs" in r.stderr
        outs[pre] = _logits(str(out / "model.w4a8.onnx"), IDS)[0]
    ref = _logits(model, IDS)[0]
    for pre, got in outs.items():
        assert np.isfinite(got).all()
        rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert rel < 0.5, (pre, rel)
