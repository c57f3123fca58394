"""python -m qqq.evaluate: perplexity of ONNX decoder models on a text (WikiText-2 test).

The method of GPTQ and QQQ: the test rows joined by "\\n\\n", tokenized once, cut
into non-overlapping windows of L tokens (the tail shorter than L is dropped);
in each window the model predicts tokens 1..L-1 from their prefixes;
ppl = exp(sum of the negative log-likelihoods / number of predicted tokens),
which equals GPTQ's exp(mean over windows of the window's mean loss).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from .data import find_tokenizer, load_tokenizer, read_text, tokenize


def make_windows(ids: np.ndarray, seq_len: int, max_windows: int | None = None) -> np.ndarray:
    """[n, seq_len] non-overlapping windows from the start of ``ids``."""
    if seq_len < 2:
        raise ValueError(f"--seq-len must be at least 2, got {seq_len}")
    n = len(ids) // seq_len
    if max_windows is not None:
        n = min(n, max_windows)
    if n == 0:
        raise ValueError(f"the text has {len(ids)} tokens: fewer than one window of {seq_len}")
    return ids[: n * seq_len].reshape(n, seq_len)


def window_nll(logits: np.ndarray, window: np.ndarray, chunk: int = 256) -> float:
    """Σ over positions t < L-1 of −log softmax(logits[t])[window[t+1]], in float64."""
    total = 0.0
    targets = window[1:]
    for start in range(0, len(targets), chunk):
        rows = np.asarray(logits[start:start + chunk][: len(targets) - start], dtype=np.float64)
        m = rows.max(axis=-1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(rows - m).sum(axis=-1))
        total += float(np.sum(lse - rows[np.arange(len(rows)), targets[start:start + len(rows)]]))
    return total


def open_session(path: str, threads: int = 0):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own exception types for bad models
        raise ValueError(f"{path}: ONNX Runtime cannot load the model: {e}") from None


def perplexity(session, windows: np.ndarray, label: str = "", progress=True) -> dict:
    """Run every window through ``session``; returns ppl, nll sum, token count, seconds."""
    inp = session.get_inputs()[0].name
    out = session.get_outputs()[0].name
    total_nll, total_tokens, t0 = 0.0, 0, time.time()
    for i, window in enumerate(windows):
        logits = session.run([out], {inp: window[None, :].astype(np.int64)})[0][0]
        if logits.shape[0] != len(window):
            raise ValueError(f"{label}: output '{out}' has {logits.shape[0]} positions for a window "
                             f"of {len(window)} tokens")
        total_nll += window_nll(logits, window)
        total_tokens += len(window) - 1
        if progress:
            el = time.time() - t0
            eta = el / (i + 1) * (len(windows) - i - 1)
            print(f"\r{label}: window {i + 1}/{len(windows)}  ppl {math.exp(total_nll / total_tokens):.4f}"
                  f"  {el:.0f}s elapsed, ~{eta:.0f}s left", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return {"ppl": math.exp(total_nll / total_tokens), "nll_sum": total_nll, "tokens": total_tokens,
            "windows": int(len(windows)), "seconds": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m qqq.evaluate",
        description="Perplexity of ONNX decoder models (input_ids -> logits) on a text, "
                    "the GPTQ/QQQ way: rows joined by blank lines, non-overlapping windows.")
    ap.add_argument("models", nargs="+", help="ONNX models (first input: token ids; first output: logits)")
    ap.add_argument("--text", required=True, help="evaluation text, e.g. ../shared/data/wikitext-2/wiki.test.raw")
    ap.add_argument("--seq-len", type=int, default=2048, help="window length L (default 2048)")
    ap.add_argument("--max-windows", type=int, default=None, help="evaluate only the first W windows")
    ap.add_argument("--tokenizer", default=None,
                    help="tokenizer.json (default: the one next to the first model)")
    ap.add_argument("--join", default="\\n\\n",
                    help="separator the text's non-empty rows are joined with (default '\\n\\n'; "
                         "'none' = the file as it is)")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = all cores)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    try:
        for path in args.models:
            if not os.path.exists(path):
                raise FileNotFoundError(f"model not found: {path}")
        tok_path = find_tokenizer(args.models[0], args.tokenizer)
        join = None if args.join == "none" else args.join.encode().decode("unicode_escape")
        text = read_text(args.text, join_rows=join)
        ids = tokenize(load_tokenizer(tok_path), text)
        windows = make_windows(ids, args.seq_len, args.max_windows)
        if not args.quiet:
            print(f"{args.text}: {len(ids)} tokens -> {len(windows)} windows of {args.seq_len}",
                  file=sys.stderr)
        results = []
        for path in args.models:
            r = perplexity(open_session(path, args.threads), windows,
                           label=os.path.basename(path), progress=not args.quiet)
            results.append({"model": path, **r})
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    width = max(len("model"), *(len(r["model"]) for r in results))
    print(f"{'model':<{width}}  {'ppl':>10}  {'windows':>7}  {'tokens':>8}  {'seconds':>8}")
    for r in results:
        print(f"{r['model']:<{width}}  {r['ppl']:>10.4f}  {r['windows']:>7}  {r['tokens']:>8}  {r['seconds']:>8.1f}")
    if args.json:
        report = {"text": args.text, "tokenizer": tok_path, "seq_len": args.seq_len,
                  "text_tokens": int(len(ids)), "max_windows": args.max_windows, "results": results}
        tmp = args.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
