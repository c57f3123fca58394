"""qqq.calibrate: the statistics equal a direct numpy computation on the
activations of a tiny random model, and the row sample is a uniform reservoir."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from safetensors import safe_open

from qqq import calibrate
from qqq.models import PRESETS, build_model, byte_tokenizer, linear_input_names, random_weights, save_model
from qqq.models import reference

PY = os.path.join(os.path.dirname(__file__), "..")
_WORDS = ("the tower is 324 metres tall about same height as an 81 storey building its base "
          "square measuring 125 on each side , . = @-@ <unk> Paris iron lattice").split()
# Non-repeating text, so that no two windows (and no two activation rows) coincide.
TEXT = " ".join(np.random.default_rng(0).choice(_WORDS, 400)) + "\n"


@pytest.fixture()
def tiny(tmp_path):
    cfg = PRESETS["tiny"]
    w = random_weights(cfg, seed=11)
    path = tmp_path / "tiny.onnx"
    save_model(build_model(cfg, w), str(path))
    byte_tokenizer(cfg.vocab_size).save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "cal.txt").write_text(TEXT)
    return cfg, w, path


def activations(model_path, values, windows):
    """Every tapped value for every window, by adding them as outputs of the full model."""
    m = onnx.load(str(model_path))
    m.graph.output.extend(helper.make_tensor_value_info(v, TensorProto.FLOAT, None) for v in values)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    got = {v: [] for v in values}
    for win in windows:
        outs = sess.run(values, {"input_ids": win[None]})
        for v, x in zip(values, outs):
            got[v].append(x.reshape(-1, x.shape[-1]))
    return {v: np.concatenate(xs) for v, xs in got.items()}


def run_cli(tmp_path, *extra):
    out = tmp_path / "stats.safetensors"
    res = subprocess.run([sys.executable, "-m", "qqq.calibrate", str(tmp_path / "tiny.onnx"),
                          "--text", str(tmp_path / "cal.txt"), "--seed", "5", "-o", str(out), *extra],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    return res, out


def load(path):
    with safe_open(str(path), "numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def test_statistics_equal_numpy(tiny, tmp_path):
    cfg, w, path = tiny
    res, out = run_cli(tmp_path, "--samples", "3", "--seq-len", "40", "--rows", "1000")
    assert res.returncode == 0, res.stderr
    stats, meta = load(out)
    layers = linear_input_names(cfg)
    values = list(dict.fromkeys(layers.values()))
    assert json.loads(meta["layers"]) == layers
    assert meta["samples"] == "3" and meta["seq_len"] == "40" and meta["seed"] == "5"
    assert set(stats) == {f"{v}.{s}" for v in values
                          for s in ("min", "max", "xtx", "count", "sample", "first")}

    # the same windows the tool drew, run independently
    from qqq.data import tokenize
    ids = tokenize(byte_tokenizer(cfg.vocab_size), TEXT)
    windows = calibrate.draw_windows(ids, 3, 40, np.random.default_rng([5, 0]))
    acts = activations(path, values, windows)
    for v in values:
        x = acts[v]
        assert stats[f"{v}.min"].dtype == np.float32 and stats[f"{v}.xtx"].dtype == np.float64
        np.testing.assert_array_equal(stats[f"{v}.min"], x.min(0))
        np.testing.assert_array_equal(stats[f"{v}.max"], x.max(0))
        assert stats[f"{v}.count"].tolist() == [120]
        x64 = x.astype(np.float64)
        np.testing.assert_allclose(stats[f"{v}.xtx"], x64.T @ x64, rtol=1e-9, atol=1e-12)
        # rows <= sample size: the sample is every row, in order
        np.testing.assert_array_equal(stats[f"{v}.sample"], x)
        # the first token of each of the 3 windows of 40 rows, exactly
        assert stats[f"{v}.first"].dtype == np.float32
        np.testing.assert_array_equal(stats[f"{v}.first"], x[[0, 40, 80]])

    # and the taps are what each linear really reads (float64 numpy forward)
    taps = {}
    reference.forward(cfg, w, windows, linear_inputs=taps)
    for layer, v in layers.items():
        want = taps[layer].reshape(-1, taps[layer].shape[-1])
        np.testing.assert_allclose(acts[v], want, atol=1e-4 * max(1, np.abs(want).max()))


def test_row_sample_is_a_subset_and_seeded(tiny, tmp_path):
    cfg, _, path = tiny
    res, out = run_cli(tmp_path, "--samples", "4", "--seq-len", "32", "--rows", "50")
    assert res.returncode == 0, res.stderr
    stats, _ = load(out)
    ids = __import__("qqq.data", fromlist=["tokenize"]).tokenize(byte_tokenizer(cfg.vocab_size), TEXT)
    windows = calibrate.draw_windows(ids, 4, 32, np.random.default_rng([5, 0]))
    v = linear_input_names(cfg)["layers.1.mlp.down_proj"]
    x = activations(path, [v], windows)[v]
    sample = stats[f"{v}.sample"]
    assert sample.shape == (50, x.shape[1])
    idx = [int(np.flatnonzero((x == row).all(1))[0]) for row in sample]
    assert len(set(idx)) == 50  # distinct rows of the stream
    # every value samples the same token positions
    q = linear_input_names(cfg)["layers.0.self_attn.q_proj"]
    xq = activations(path, [q], windows)[q]
    np.testing.assert_array_equal(stats[f"{q}.sample"], xq[idx])
    res2, out2 = run_cli(tmp_path, "--samples", "4", "--seq-len", "32", "--rows", "50")
    np.testing.assert_array_equal(load(out2)[0][f"{v}.sample"], sample)


def test_reservoir_is_uniform():
    rng = np.random.default_rng(0)
    hits = np.zeros(400)
    trials = 3000
    for _ in range(trials):
        r = calibrate.Reservoir(40, rng)
        slot_of = np.full(40, -1)
        for batch in (64, 64, 64, 64, 64, 80):
            slots, rows = r.next_batch(batch)
            slot_of[slots] = rows + r.seen - batch
        assert (slot_of >= 0).all() and len(set(slot_of)) == 40
        hits[slot_of] += 1
    p = hits / trials  # each of the 400 rows should be kept with probability 40/400
    assert abs(p.mean() - 0.1) < 1e-12
    assert np.abs(p - 0.1).max() < 0.035  # ~6 standard deviations
    assert abs(p[:200].mean() - p[200:].mean()) < 0.01  # no bias to early or late rows


def test_errors_are_clear(tiny, tmp_path):
    res, out = run_cli(tmp_path, "--samples", "2", "--seq-len", "100000")
    assert res.returncode == 1 and "fewer than --seq-len" in res.stderr and not out.exists()
    res = subprocess.run([sys.executable, "-m", "qqq.calibrate", str(tmp_path / "nope.onnx"), "--text",
                          str(tmp_path / "cal.txt"), "-o", str(tmp_path / "s.safetensors")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    assert res.returncode == 1 and "nope.onnx" in res.stderr and "Traceback" not in res.stderr


def test_no_linear_layer_is_an_error(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    p = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(g), str(p))
    with pytest.raises(ValueError, match="no linear layer"):
        calibrate.calibrate(str(p), np.zeros((1, 4), np.int64), 8, 0, progress=False)
