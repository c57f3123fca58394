"""qqq-compile --bundle: the one-command flow also writes the GPU kernel
bundle (weights re-packed for the target, one kernel per M bucket, PTX from
NVRTC, manifest). Checks the manifest against the model: every quantized
linear is there with its shapes, every kernel's PTX exists and targets the
arch, and the bundle's packed weights unpack (numerics layout) to the same
int4 values as the ONNX model's int8 weights; a bad arch is a clear error.
q/k/v and gate/up are fused (qqq-fuse-projections, on by default): the
manifest lists each fused layer's parts, and the fused ONNX model computes
logits bit-identical to the unfused one (--fuse-projections=false).
"""
import json
import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("safetensors")
from onnx import numpy_helper  # noqa: E402

import qqq  # noqa: E402

PYENV = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))


def _run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, env=PYENV)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    try:
        tool = qqq.tool_path("qqq-compile")
    except FileNotFoundError:
        pytest.skip("qqq-compile is not built")
    d = tmp_path_factory.mktemp("bundle")
    model = str(d / "small.onnx")
    r = _run([sys.executable, "-m", "qqq.models", "--random", "--config", "small-gpu",
              "--seed", "2", "-o", model])
    assert r.returncode == 0, r.stderr
    text = d / "calib.txt"
    text.write_text(" ".join("kernel bundle calibration line %d." % i for i in range(300)))
    stats = str(d / "stats.safetensors")
    r = _run([sys.executable, "-m", "qqq.calibrate", model, "--text", str(text),
              "--samples", "4", "--seq-len", "64", "--rows", "128", "-o", stats, "--quiet"])
    assert r.returncode == 0, r.stderr
    return tool, d, model, stats


@pytest.mark.parametrize("arch", ["sm_90a", "sm_80"])
def test_bundle_matches_the_model(compiled, arch):
    tool, d, model, stats = compiled
    out = d / arch
    r = _run([tool, model, "--calibration", stats, "--group-size", "64",
              "--bundle", arch, "-o", str(out)])
    assert r.returncode == 0, r.stderr
    bundle = out / "bundle"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["arch"] == arch
    linears = [l for l in manifest["layers"] if l["kind"] == "w4a8_linear"]
    # 1 layer × (q+k+v, o, gate+up, down); lm_head stays float.
    assert sorted(l["name"].split(".")[-1] for l in linears) == sorted(
        ["q_proj+k_proj+v_proj", "o_proj", "gate_proj+up_proj", "down_proj"])
    by_name = {l["name"]: l for l in linears}
    for fused, parts in [("self_attn.q_proj+k_proj+v_proj", ["q_proj", "k_proj", "v_proj"]),
                         ("mlp.gate_proj+up_proj", ["gate_proj", "up_proj"])]:
        layer = next(l for name, l in by_name.items() if name.endswith(fused))
        prefix = layer["name"][: -len(fused)] + fused.split(".")[0] + "."
        assert [p["name"] for p in layer["parts"]] == [prefix + p for p in parts]
        offsets = [p["offset"] for p in layer["parts"]]
        ends = [p["offset"] + p["n"] for p in layer["parts"]]
        assert offsets[0] == 0 and offsets[1:] == ends[:-1] and ends[-1] == layer["n"]
    # Each quantizer feeds one GEMM per activation: the fused ones.
    consumers = sorted(c for l in manifest["layers"] for c in l.get("consumers", []))
    assert consumers == sorted(by_name)
    for k in manifest["kernels"]:
        ptx = (bundle / k["ptx"]).read_text()
        assert (".target " + arch) in ptx and k["entry"] in ptx
    report = json.loads((out / "report.json").read_text())
    assert report["seconds"]["bundle"] > 0
    # The ONNX model's int8 weights (W8 = rne(q·s_grp), [K, N]) and the
    # bundle's packed int4 q agree through the group scales.
    m = onnx.load(str(out / "model.w4a8.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for layer in linears:
        n, k = layer["n"], layer["k"]
        t = layer["tensors"]
        packed = np.fromfile(bundle / t["w_packed"]["file"], dtype=np.uint8)
        assert packed.size == n * k // 2
        gs = np.fromfile(bundle / t["s_grp"]["file"], dtype=np.float16).reshape(k // 64, n)
        w8 = [v for name, v in inits.items()
              if layer["name"] in name and v.dtype == np.int8 and v.shape == (k, n)]
        assert len(w8) == 1, layer["name"]
        # Every W8 value is rne(q·s) for an int4 q in [-8, 7] of its group.
        s = np.repeat(gs.astype(np.float32), 64, axis=0)  # [K, N]
        q = np.rint(w8[0].astype(np.float32) / s)
        assert np.all((q >= -8) & (q <= 7))
        assert np.array_equal(np.rint(q * s).astype(np.int8), w8[0])
        # The packed bytes hold exactly the multiset of those nibbles.
        nibbles = np.concatenate([packed & 0xF, packed >> 4]).astype(np.int8)
        nibbles = np.where(nibbles > 7, nibbles - 16, nibbles)
        assert np.array_equal(np.sort(nibbles), np.sort(q.astype(np.int8).ravel()))


def _logits(path, ids):
    ort = pytest.importorskip("onnxruntime")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {i.name: ids for i in s.get_inputs() if "int" in i.type}
    return s.run(None, feeds)[0]


def test_fused_projections_compute_the_same_logits(compiled):
    tool, d, model, stats = compiled
    outs = {}
    for fuse in ("true", "false"):
        out = d / ("fuse-" + fuse)
        r = _run([tool, model, "--calibration", stats, "--group-size", "64",
                  "--fuse-projections=" + fuse, "-o", str(out)])
        assert r.returncode == 0, r.stderr
        m = onnx.load(str(out / "model.w4a8.onnx"), load_external_data=False)
        outs[fuse] = (str(out / "model.w4a8.onnx"),
                      sum(n.op_type == "MatMulInteger" for n in m.graph.node))
    # One MatMulInteger per GEMM: 7 linears, 4 after fusing q/k/v and gate/up.
    assert outs["false"][1] == 7 and outs["true"][1] == 4
    ids = np.random.default_rng(3).integers(0, 256, size=(2, 24)).astype(np.int64)
    fused, separate = _logits(outs["true"][0], ids), _logits(outs["false"][0], ids)
    assert fused.shape == separate.shape
    assert np.array_equal(fused.view(np.uint8), separate.view(np.uint8))


def test_bad_bundle_arch_is_an_error(compiled):
    tool, d, model, stats = compiled
    r = _run([tool, model, "--calibration", stats, "--bundle", "sm_75",
              "-o", str(d / "bad")])
    assert r.returncode != 0
    assert "sm_75" in r.stderr
