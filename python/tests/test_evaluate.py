"""qqq.evaluate: perplexity against a direct numpy computation over the same windows."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from qqq import evaluate
from qqq.models import PRESETS, build_model, byte_tokenizer, random_weights, save_model
from qqq.models import reference

PY = os.path.join(os.path.dirname(__file__), "..")
ROWS = [" = Section = \n", " Some words about a subject , with numbers 1 @,@ 234 .\n",
        " Another paragraph follows here ; it is longer than the first one was .\n"] * 3


def numpy_ppl(cfg, w, ids, seq_len):
    """exp(mean nll of tokens 1..L-1) over non-overlapping windows, in float64."""
    n = len(ids) // seq_len
    nll = []
    for i in range(n):
        win = ids[i * seq_len:(i + 1) * seq_len]
        logits = reference.forward(cfg, w, win[None])[0]
        logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
            - logits.max(-1, keepdims=True)
        nll.append(-logp[np.arange(seq_len - 1), win[1:]].mean())
    return math.exp(np.mean(nll)), n


@pytest.fixture()
def tiny(tmp_path):
    cfg = PRESETS["tiny-mha"]
    w = random_weights(cfg, seed=21)
    save_model(build_model(cfg, w), str(tmp_path / "tiny.onnx"))
    byte_tokenizer(cfg.vocab_size).save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "test.raw").write_text("".join(r if i % 2 else r + "\n" for i, r in enumerate(ROWS)))
    return cfg, w


def test_perplexity_equals_numpy(tiny, tmp_path):
    cfg, w = tiny
    out = subprocess.run([sys.executable, "-m", "qqq.evaluate", str(tmp_path / "tiny.onnx"),
                          "--text", str(tmp_path / "test.raw"), "--seq-len", "48",
                          "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    # the GPTQ/QQQ text: non-empty rows joined by a blank line
    text = "\n\n".join(ROWS)
    ids = np.array(byte_tokenizer(cfg.vocab_size).encode(text).ids)
    want, n = numpy_ppl(cfg, w, ids, 48)
    r = report["results"][0]
    assert report["text_tokens"] == len(ids)
    assert r["windows"] == n == len(ids) // 48 and r["tokens"] == n * 47
    assert r["ppl"] == pytest.approx(want, rel=1e-5)
    assert f"{r['ppl']:.4f}" in out.stdout  # the printed table


def test_max_windows_and_two_models(tiny, tmp_path):
    cfg, w = tiny
    cfg2 = PRESETS["tiny-mha"]
    w2 = random_weights(cfg2, seed=22)
    save_model(build_model(cfg2, w2), str(tmp_path / "other.onnx"))
    out = subprocess.run([sys.executable, "-m", "qqq.evaluate", str(tmp_path / "tiny.onnx"),
                          str(tmp_path / "other.onnx"), "--text", str(tmp_path / "test.raw"),
                          "--seq-len", "32", "--max-windows", "2", "--json", str(tmp_path / "r.json"),
                          "--quiet"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    ids = np.array(byte_tokenizer(256).encode("\n\n".join(ROWS)).ids)[:64]
    assert [r["windows"] for r in results] == [2, 2]
    assert results[0]["ppl"] == pytest.approx(numpy_ppl(cfg, w, ids, 32)[0], rel=1e-5)
    assert results[1]["ppl"] == pytest.approx(numpy_ppl(cfg2, w2, ids, 32)[0], rel=1e-5)


def test_parallel_windows_give_the_same_sum(tiny, tmp_path):
    cfg, w = tiny
    ids = np.array(byte_tokenizer(cfg.vocab_size).encode("\n\n".join(ROWS)).ids)
    windows = evaluate.make_windows(ids, 24)
    assert len(windows) >= 4
    session = evaluate.open_session(str(tmp_path / "tiny.onnx"), threads=1)
    serial = evaluate.perplexity(session, windows, progress=False)
    parallel = evaluate.perplexity(session, windows, progress=False, parallel=3)
    # summed in window order: bit-identical, not merely close
    assert parallel["nll_sum"] == serial["nll_sum"] and parallel["tokens"] == serial["tokens"]
    assert serial["ppl"] == pytest.approx(numpy_ppl(cfg, w, ids, 24)[0], rel=1e-5)
    assert evaluate.intra_threads(16, 4) == 4 and evaluate.intra_threads(3, 8) == 1
    with pytest.raises(ValueError, match="--parallel"):
        evaluate.intra_threads(0, 0)


def test_checkpoint_resumes_and_slices_add_up(tiny, tmp_path):
    cfg, w = tiny
    ids = np.array(byte_tokenizer(cfg.vocab_size).encode("\n\n".join(ROWS)).ids)
    windows = evaluate.make_windows(ids, 24)
    session = evaluate.open_session(str(tmp_path / "tiny.onnx"), threads=1)
    full = evaluate.perplexity(session, windows, progress=False)
    # a run that stops after 2 windows leaves a checkpoint; the next run computes only the rest
    class StopsAfter:
        def __init__(self, inner, n):
            self.inner, self.n = inner, n

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def run(self, *a, **k):
            if self.n == 0:
                raise KeyboardInterrupt
            self.n -= 1
            return self.inner.run(*a, **k)

    ck = str(tmp_path / "ck.json")
    with pytest.raises(KeyboardInterrupt):
        evaluate.perplexity(StopsAfter(session, 2), windows, progress=False, checkpoint=ck)
    with open(ck) as f:
        assert len(json.load(f)["window_nll"]) == 2
    resumed = evaluate.perplexity(StopsAfter(session, len(windows) - 2), windows, progress=False,
                                  checkpoint=ck)
    assert resumed["window_nll"] == full["window_nll"] and resumed["nll_sum"] == full["nll_sum"]
    with pytest.raises(ValueError, match="checkpoint is for other windows"):
        evaluate.perplexity(session, windows[1:], progress=False, checkpoint=ck)
    # --first-window: a slice's per-window values are those of the whole run
    out = subprocess.run([sys.executable, "-m", "qqq.evaluate", str(tmp_path / "tiny.onnx"),
                          "--text", str(tmp_path / "test.raw"), "--seq-len", "24", "--first-window", "3",
                          "--json", str(tmp_path / "s.json"), "--quiet"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    assert out.returncode == 0, out.stderr
    part = json.loads((tmp_path / "s.json").read_text())
    assert part["first_window"] == 3
    assert part["results"][0]["window_nll"] == pytest.approx(full["window_nll"][2:], rel=1e-12)
    assert not os.path.exists(str(tmp_path / "s.json.0.partial"))


def test_window_nll_chunking():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((700, 50)).astype(np.float32) * 5
    win = rng.integers(0, 50, 700)
    l64 = logits.astype(np.float64)
    lse = np.log(np.exp(l64).sum(-1))
    want = float(np.sum(lse[:-1] - l64[np.arange(699), win[1:]]))
    assert evaluate.window_nll(logits, win, chunk=256) == pytest.approx(want, rel=1e-12)


def test_errors(tiny, tmp_path):
    with pytest.raises(ValueError, match="fewer than one window"):
        evaluate.make_windows(np.arange(10), 48)
    out = subprocess.run([sys.executable, "-m", "qqq.evaluate", str(tmp_path / "missing.onnx"),
                          "--text", str(tmp_path / "test.raw"), "--tokenizer", str(tmp_path / "tokenizer.json")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    assert out.returncode == 1 and "missing.onnx" in out.stderr and "Traceback" not in out.stderr
