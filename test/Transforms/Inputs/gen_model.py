#!/usr/bin/env python3
"""Writes a small LLaMA-like MLP block in the qqq dialect and its calibration
statistics (the safetensors layout of docs/python.md), for the pass tests.

  rms_norm(x, γ) ─┬─ q_proj (N×K)      ─┐
                  ├─ k_proj (K×N, weight_kn)
                  ├─ gate_proj ─┐
                  ├─ up_proj (bias) ─ Mul ─ down_proj
                  └─ lm_head

Usage: gen_model.py OUT.mlir OUT.safetensors [--hidden 32] [--ffn 64]
       [--rows 256] [--seed 0] [--outliers 3] [--dtype f32|f16]
Only numpy is needed (the safetensors file is written directly).
"""
import argparse
import json
import struct

import numpy as np


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    dtypes = {np.float32: "F32", np.float64: "F64", np.int64: "I64"}
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        data = arr.tobytes()
        header[name] = {"dtype": dtypes[arr.dtype.type], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def stats(prefix, x, sample_rows, window=0):
    """The statistics python -m qqq.calibrate writes; with window > 0, rows
    0, window, 2·window, ... are the windows' first tokens."""
    x = x.astype(np.float32)
    out = {
        prefix + ".min": x.min(axis=0),
        prefix + ".max": x.max(axis=0),
        prefix + ".xtx": x.astype(np.float64).T @ x.astype(np.float64),
        prefix + ".count": np.array([x.shape[0]], dtype=np.int64),
        prefix + ".sample": x[:sample_rows].copy(),
    }
    if window:
        out[prefix + ".first"] = x[::window].copy()
    return out


def dense(arr, elt):
    vals = ", ".join("%.9g" % v for v in arr.reshape(-1))
    shape = "x".join(str(d) for d in arr.shape)
    return "arith.constant dense<[%s]> : tensor<%sx%s>" % (vals, shape, elt) if arr.ndim == 1 else \
        "arith.constant dense<%s> : tensor<%sx%s>" % (nested(arr), shape, elt)


def nested(arr):
    if arr.ndim == 1:
        return "[" + ", ".join("%.9g" % v for v in arr) + "]"
    return "[" + ", ".join(nested(a) for a in arr) + "]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mlir")
    ap.add_argument("calib")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--ffn", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=48)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--sample", type=int, default=64)
    ap.add_argument("--outliers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--window", type=int, default=0,
                    help="also write first-token statistics for windows of this many rows")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16"])
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    K, F, V = a.hidden, a.ffn, a.vocab
    eps = 1e-5
    gamma = rng.uniform(0.5, 1.5, K).astype(np.float32)
    gamma[:a.outliers] *= 20.0  # outlier channels, as in real LLMs
    wq = (rng.standard_normal((16, K)) / np.sqrt(K)).astype(np.float32)
    wk_kn = (rng.standard_normal((K, 16)) / np.sqrt(K)).astype(np.float32)
    wg = (rng.standard_normal((F, K)) / np.sqrt(K)).astype(np.float32)
    wu = (rng.standard_normal((F, K)) / np.sqrt(K)).astype(np.float32)
    bu = (rng.standard_normal(F) * 0.1).astype(np.float32)
    wd = (rng.standard_normal((K, F)) / np.sqrt(F)).astype(np.float32)
    wl = (rng.standard_normal((V, K)) / np.sqrt(K)).astype(np.float32)

    x = rng.standard_normal((a.rows, K)).astype(np.float32)
    h = x / np.sqrt((x * x).mean(axis=1, keepdims=True) + eps) * gamma
    m = (h @ wg.T) * (h @ wu.T + bu)
    m[:, :2] *= 8.0  # not reachable from the model: only stats matter here
    tensors = {}
    tensors.update(stats("norm0", h, a.sample, a.window))
    tensors.update(stats("mlp_act", m, a.sample, a.window))
    write_safetensors(a.calib, tensors)

    t = a.dtype
    lines = [
        "func.func @block(%x: tensor<?x{K}x{t}>) -> (tensor<?x16x{t}>, tensor<?x16x{t}>, tensor<?x{K}x{t}>, tensor<?x{V}x{t}>) {{",
        "  %gamma = " + dense(gamma, t),
        "  %wq = " + dense(wq, t),
        "  %wk = " + dense(wk_kn, t),
        "  %wg = " + dense(wg, t),
        "  %wu = " + dense(wu, t),
        "  %bu = " + dense(bu, t),
        "  %wd = " + dense(wd, t),
        "  %wl = " + dense(wl, t),
        "  %h = qqq.rms_norm %x, %gamma {{epsilon = 1.0e-05 : f32}} : (tensor<?x{K}x{t}>, tensor<{K}x{t}>) -> tensor<?x{K}x{t}>",
        "  %q = qqq.linear %h, %wq {{layer_name = \"layers.0.q_proj\", input_name = \"norm0\"}} : (tensor<?x{K}x{t}>, tensor<16x{K}x{t}>) -> tensor<?x16x{t}>",
        "  %k = qqq.linear %h, %wk {{layer_name = \"layers.0.k_proj\", input_name = \"norm0\", weight_kn}} : (tensor<?x{K}x{t}>, tensor<{K}x16x{t}>) -> tensor<?x16x{t}>",
        "  %g = qqq.linear %h, %wg {{layer_name = \"layers.0.gate_proj\", input_name = \"norm0\"}} : (tensor<?x{K}x{t}>, tensor<{F}x{K}x{t}>) -> tensor<?x{F}x{t}>",
        "  %u = qqq.linear %h, %wu, %bu {{layer_name = \"layers.0.up_proj\", input_name = \"norm0\"}} : (tensor<?x{K}x{t}>, tensor<{F}x{K}x{t}>, tensor<{F}x{t}>) -> tensor<?x{F}x{t}>",
        "  %m = qqq.onnx_node \"Mul\"(%g, %u) {{node_name = \"layers.0.mlp_mul\"}} : (tensor<?x{F}x{t}>, tensor<?x{F}x{t}>) -> tensor<?x{F}x{t}>",
        "  %d = qqq.linear %m, %wd {{layer_name = \"layers.0.down_proj\", input_name = \"mlp_act\"}} : (tensor<?x{F}x{t}>, tensor<{K}x{F}x{t}>) -> tensor<?x{K}x{t}>",
        "  %l = qqq.linear %h, %wl {{layer_name = \"lm_head\", input_name = \"norm0\"}} : (tensor<?x{K}x{t}>, tensor<{V}x{K}x{t}>) -> tensor<?x{V}x{t}>",
        "  return %q, %k, %d, %l : tensor<?x16x{t}>, tensor<?x16x{t}>, tensor<?x{K}x{t}>, tensor<?x{V}x{t}>",
        "}}",
    ]
    with open(a.mlir, "w") as f:
        for line in lines:
            f.write(line.format(K=K, F=F, V=V, t=t) + "\n")


if __name__ == "__main__":
    main()
