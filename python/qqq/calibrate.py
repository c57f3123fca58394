"""python -m qqq.calibrate: activation statistics of every linear layer's input.

Runs the floating-point ONNX model in ONNX Runtime over N windows of L tokens
drawn (seeded) from a tokenized text, taps the first input of every linear
(a ``MatMul`` whose second input is an initializer; q/k/v and gate/up share
their input, which is tapped once) and writes a safetensors file with, per
tapped value name ``v``:

  v.min    f32[K]    per-channel minimum over all tokens
  v.max    f32[K]    per-channel maximum
  v.xtx    f64[K,K]  Σ x xᵀ over all tokens, accumulated in float64
  v.count  i64[1]    number of tokens (rows) seen
  v.sample f32[R',K] a uniform random sample of R' = min(R, count) rows
                     (reservoir sampling, seeded; the same token positions for
                     every value)
  v.first  f32[W,K]  the first token's row of each of the W windows (qqq-gptq
                     forms Σ x₀x₀ᵀ from it; W x K floats instead of a second
                     K x K float64 matrix)

The first position of a window is the attention sink of LLaMA-family models:
most queries put much of their attention on it, so an error in its keys and
values reaches every later token. It is one token in L, so in ``v.xtx`` it
weighs almost nothing; qqq-gptq adds it back with a weight (``--sink-weight``,
docs/passes.md).

The file's metadata records the model, text, samples, seq_len, seed, rows and
the layer -> value map (``layers``, JSON). docs/python.md documents it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

from .data import find_tokenizer, load_tokenizer, read_text, tokenize


def find_linears(model: onnx.ModelProto) -> dict[str, str]:
    """MatMul node name -> its first input's value name, for every MatMul whose
    second input is an initializer (a linear layer), in graph order."""
    inits = {t.name for t in model.graph.initializer}
    out = {}
    for i, node in enumerate(model.graph.node):
        if node.op_type == "MatMul" and len(node.input) == 2 and node.input[1] in inits:
            out[node.name or f"MatMul_{i}"] = node.input[0]
    return out


def tap_model(model: onnx.ModelProto, values: list[str]) -> onnx.ModelProto:
    """A copy whose outputs are exactly ``values``; nodes they do not depend on are dropped."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    producers = {o: n for n in g.node for o in n.output}
    needed, stack = set(), list(values)
    while stack:  # walk back from the taps
        v = stack.pop()
        n = producers.get(v)
        if n is not None and id(n) not in needed:
            needed.add(id(n))
            stack.extend(i for i in n.input if i)
    kept = [n for n in g.node if id(n) in needed]
    del g.node[:]
    g.node.extend(kept)
    used = {i for n in kept for i in n.input}
    inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.output[:]
    g.output.extend(helper.make_tensor_value_info(v, TensorProto.FLOAT, None) for v in values)
    return m


class Accumulator:
    """Running statistics of one tapped activation (rows of K channels)."""

    def __init__(self, k: int, rows: int):
        self.min = np.full(k, np.inf, np.float32)
        self.max = np.full(k, -np.inf, np.float32)
        self.xtx = np.zeros((k, k), np.float64)
        self.count = 0
        self.sample = np.zeros((rows, k), np.float32)
        self.first: list[np.ndarray] = []

    def add(self, x: np.ndarray, slots: np.ndarray, rows: np.ndarray) -> None:
        """x [T, K], the rows of one window; row ``rows[i]`` of x goes to
        reservoir slot ``slots[i]``."""
        np.minimum(self.min, x.min(axis=0), out=self.min)
        np.maximum(self.max, x.max(axis=0), out=self.max)
        x64 = x.astype(np.float64)
        self.xtx += x64.T @ x64
        self.count += x.shape[0]
        self.sample[slots] = x[rows]
        self.first.append(x[0].copy())


class Reservoir:
    """Algorithm R over a stream of rows: after n rows each of them is in the
    R-row sample with probability R/n. Decides slots only, so every tapped value
    samples the same token positions."""

    def __init__(self, rows: int, rng: np.random.Generator):
        self.rows, self.rng, self.seen = rows, rng, 0

    def next_batch(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(slots, rows of the batch) to store for the next ``t`` rows; when two
        rows of one batch land in the same slot only the later one is kept."""
        idx = np.arange(self.seen, self.seen + t)
        j = idx.copy()
        late = idx >= self.rows
        j[late] = np.floor(self.rng.random(int(late.sum())) * (idx[late] + 1)).astype(np.int64)
        keep = j < self.rows
        slots, rows = j[keep], (idx - self.seen)[keep]
        self.seen += t
        # the last write to each slot wins
        _, last = np.unique(slots[::-1], return_index=True)
        pick = len(slots) - 1 - last
        return slots[pick], rows[pick]


def draw_windows(ids: np.ndarray, samples: int, seq_len: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` windows of ``seq_len`` tokens at uniformly random starts."""
    if len(ids) < seq_len:
        raise ValueError(f"the calibration text has {len(ids)} tokens: fewer than --seq-len {seq_len}")
    starts = rng.integers(0, len(ids) - seq_len + 1, size=samples)
    return np.stack([ids[s:s + seq_len] for s in starts])


def calibrate(model_path: str, windows: np.ndarray, rows: int, seed: int, threads: int = 0,
              progress: bool = True) -> tuple[dict[str, Accumulator], dict[str, str]]:
    """Statistics per tapped value, and the layer -> value map."""
    import onnxruntime as ort
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:
        raise ValueError(f"{model_path}: not a readable ONNX model: {e}") from None
    layers = find_linears(model)
    if not layers:
        raise ValueError(f"{model_path}: no linear layer (MatMul with an initializer weight) found")
    values = list(dict.fromkeys(layers.values()))
    tapped = tap_model(model, values)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    # Written next to the model so that its external-data path still resolves.
    directory = os.path.dirname(os.path.abspath(model_path))
    fd, tmp = tempfile.mkstemp(suffix=".onnx", prefix=".qqq-calibrate-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(tapped.SerializeToString())
        session = ort.InferenceSession(tmp, opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ValueError(f"{model_path}: ONNX Runtime cannot run the tapped model: {e}") from None
    finally:
        os.unlink(tmp)
    input_name = session.get_inputs()[0].name
    reservoir = Reservoir(rows, np.random.default_rng([seed, 1]))
    stats: dict[str, Accumulator] = {}
    t0 = time.time()
    for i, window in enumerate(windows):
        outs = session.run(values, {input_name: window[None, :].astype(np.int64)})
        slots, picked = reservoir.next_batch(window.size)
        for v, x in zip(values, outs):
            x = x.reshape(-1, x.shape[-1])
            if x.shape[0] != window.size:
                raise ValueError(f"{model_path}: tapped value '{v}' has {x.shape[0]} rows for "
                                 f"{window.size} tokens")
            if v not in stats:
                stats[v] = Accumulator(x.shape[-1], rows)
            stats[v].add(x, slots, picked)
        if progress:
            el = time.time() - t0
            print(f"\rcalibrate: sample {i + 1}/{len(windows)}, {len(values)} values, {el:.0f}s elapsed, "
                  f"~{el / (i + 1) * (len(windows) - i - 1):.0f}s left", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return stats, layers


def to_tensors(stats: dict[str, Accumulator]) -> dict[str, np.ndarray]:
    out = {}
    for v, a in stats.items():
        out[f"{v}.min"] = a.min
        out[f"{v}.max"] = a.max
        out[f"{v}.xtx"] = a.xtx
        out[f"{v}.count"] = np.array([a.count], np.int64)
        out[f"{v}.sample"] = np.ascontiguousarray(a.sample[: min(a.count, a.sample.shape[0])])
        out[f"{v}.first"] = np.stack(a.first).astype(np.float32)
    return out


def write_stats(path: str, stats: dict[str, Accumulator], metadata: dict[str, str]) -> None:
    """safetensors, written to a temporary file then renamed."""
    from safetensors.numpy import save_file
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tmp", prefix=".stats-", dir=directory)
    os.close(fd)
    try:
        save_file(to_tensors(stats), tmp, metadata=metadata)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m qqq.calibrate",
        description="Activation statistics (min/max per channel, Σxxᵀ in float64, token count, "
                    "a reservoir sample of rows) of every linear layer's input, for qqq-opt.")
    ap.add_argument("model", help="the floating-point ONNX model")
    ap.add_argument("--text", required=True,
                    help="calibration text, e.g. ../shared/data/wikitext-2/wiki.valid.tokens "
                         "(never the evaluation text)")
    ap.add_argument("--samples", type=int, default=128, help="number of windows N (default 128)")
    ap.add_argument("--seq-len", type=int, default=2048, help="tokens per window L (default 2048)")
    ap.add_argument("--rows", type=int, default=1024, help="rows R kept in each value's sample (default 1024)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the window starts and the row sample")
    ap.add_argument("--tokenizer", default=None, help="tokenizer.json (default: next to the model)")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = all)")
    ap.add_argument("-o", "--output", required=True, help="the .safetensors file to write")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    try:
        for name in ("samples", "seq_len", "rows"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be positive")
        if not os.path.exists(args.model):
            raise FileNotFoundError(f"model not found: {args.model}")
        tok_path = find_tokenizer(args.model, args.tokenizer)
        ids = tokenize(load_tokenizer(tok_path), read_text(args.text))
        windows = draw_windows(ids, args.samples, args.seq_len, np.random.default_rng([args.seed, 0]))
        if not args.quiet:
            print(f"{args.text}: {len(ids)} tokens; {args.samples} samples of {args.seq_len}",
                  file=sys.stderr)
        stats, layers = calibrate(args.model, windows, args.rows, args.seed, args.threads, not args.quiet)
        meta = {"format": "qqq-calibration-v1", "model": os.path.abspath(args.model),
                "text": os.path.abspath(args.text), "tokenizer": os.path.abspath(tok_path),
                "samples": str(args.samples), "seq_len": str(args.seq_len), "seed": str(args.seed),
                "rows": str(args.rows), "layers": json.dumps(layers)}
        write_stats(args.output, stats, meta)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"wrote {args.output}: {len(stats)} values for {len(layers)} linear layers", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
