"""python -m qqq.evaluate: perplexity of ONNX decoder models on a text (WikiText-2 test).

The method of GPTQ and QQQ: the test rows joined by "\\n\\n", tokenized once, cut
into non-overlapping windows of L tokens (the tail shorter than L is dropped);
in each window the model predicts tokens 1..L-1 from their prefixes;
ppl = exp(sum of the negative log-likelihoods / number of predicted tokens),
which equals GPTQ's exp(mean over windows of the window's mean loss).
"""
from __future__ import annotations

import argparse
import hashlib
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


def write_json(path: str, obj, indent: int | None = None) -> None:
    """Writes ``path`` through a temporary file and a rename: never half-written."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent)
    os.replace(tmp, path)


def intra_threads(threads: int, parallel: int) -> int:
    """Intra-op threads per window so that ``parallel`` windows share ``threads`` cores."""
    if parallel < 1:
        raise ValueError(f"--parallel must be at least 1, got {parallel}")
    if parallel == 1:
        return threads
    return max(1, (threads or os.cpu_count() or 1) // parallel)


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


def perplexity(session, windows: np.ndarray, label: str = "", progress=True, parallel: int = 1,
               checkpoint: str | None = None) -> dict:
    """Run every window through ``session``; returns ppl, nll sum, token count, seconds and
    the negative log-likelihood of each window.

    ``parallel`` windows are in flight at once (ONNX Runtime's run() is thread-safe and
    releases the GIL); their negative log-likelihoods are summed in window order, so the
    result does not depend on ``parallel``. With ``checkpoint``, the per-window values
    finished so far are kept in that JSON file (written atomically after every window) and
    a later call with the same file and windows resumes after them.
    """
    from concurrent.futures import ThreadPoolExecutor

    inp = session.get_inputs()[0].name
    out = session.get_outputs()[0].name
    key = {"label": label, "windows": int(len(windows)), "seq_len": int(windows.shape[1]),
           "tokens_sha256": hashlib.sha256(np.ascontiguousarray(windows, dtype=np.int64)).hexdigest()}
    nlls: list[float] = []
    if checkpoint and os.path.exists(checkpoint):
        with open(checkpoint, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("key") != key:
            raise ValueError(f"{checkpoint}: the checkpoint is for other windows or another model; "
                             "delete it to start over")
        nlls = [float(x) for x in saved["window_nll"]]
        if progress:
            print(f"{label}: resuming after window {len(nlls)} from {checkpoint}", file=sys.stderr)

    def one(window: np.ndarray) -> float:
        logits = session.run([out], {inp: window[None, :].astype(np.int64)})[0][0]
        if logits.shape[0] != len(window):
            raise ValueError(f"{label}: output '{out}' has {logits.shape[0]} positions for a window "
                             f"of {len(window)} tokens")
        return window_nll(logits, window)

    t0 = time.time()
    done_before = len(nlls)
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for nll in pool.map(one, windows[done_before:]):
            nlls.append(nll)
            if checkpoint:
                write_json(checkpoint, {"key": key, "window_nll": nlls})
            if progress:
                i = len(nlls)
                el = time.time() - t0
                eta = el / (i - done_before) * (len(windows) - i)
                ppl = math.exp(sum(nlls) / ((windows.shape[1] - 1) * i))
                print(f"\r{label}: window {i}/{len(windows)}  ppl {ppl:.4f}"
                      f"  {el:.0f}s elapsed, ~{eta:.0f}s left", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    total_nll = float(sum(nlls))
    total_tokens = sum(len(w) - 1 for w in windows)
    return {"ppl": math.exp(total_nll / total_tokens), "nll_sum": total_nll, "tokens": total_tokens,
            "windows": int(len(windows)), "seconds": round(time.time() - t0, 1), "window_nll": nlls}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m qqq.evaluate",
        description="Perplexity of ONNX decoder models (input_ids -> logits) on a text, "
                    "the GPTQ/QQQ way: rows joined by blank lines, non-overlapping windows.")
    ap.add_argument("models", nargs="+", help="ONNX models (first input: token ids; first output: logits)")
    ap.add_argument("--text", required=True, help="evaluation text, e.g. ../shared/data/wikitext-2/wiki.test.raw")
    ap.add_argument("--seq-len", type=int, default=2048, help="window length L (default 2048)")
    ap.add_argument("--max-windows", type=int, default=None, help="evaluate only the first W windows")
    ap.add_argument("--first-window", type=int, default=1,
                    help="start at this window (1-based) of the first --max-windows; the JSON's per-window "
                         "values let slices evaluated apart be summed exactly")
    ap.add_argument("--tokenizer", default=None,
                    help="tokenizer.json (default: the one next to the first model)")
    ap.add_argument("--join", default="\\n\\n",
                    help="separator the text's non-empty rows are joined with (default '\\n\\n'; "
                         "'none' = the file as it is)")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = all cores)")
    ap.add_argument("--parallel", type=int, default=1,
                    help="windows evaluated at once, each with --threads/--parallel intra-op threads on "
                         "many-core machines (default 1; the result does not depend on it)")
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
        if not 1 <= args.first_window <= len(windows):
            raise ValueError(f"--first-window {args.first_window}: there are {len(windows)} windows")
        windows = windows[args.first_window - 1:]
        if not args.quiet:
            print(f"{args.text}: {len(ids)} tokens -> {len(windows)} windows of {args.seq_len}",
                  file=sys.stderr)
        results = []
        for i, path in enumerate(args.models):
            # an interrupted run resumes from the per-window values in <json>.<i>.partial
            checkpoint = f"{args.json}.{i}.partial" if args.json else None
            r = perplexity(open_session(path, intra_threads(args.threads, args.parallel)), windows,
                           label=os.path.basename(path), progress=not args.quiet,
                           parallel=args.parallel, checkpoint=checkpoint)
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
                  "text_tokens": int(len(ids)), "max_windows": args.max_windows,
                  "first_window": args.first_window, "results": results}
        write_json(args.json, report, indent=1)
        for i in range(len(args.models)):
            if os.path.exists(f"{args.json}.{i}.partial"):
                os.remove(f"{args.json}.{i}.partial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
