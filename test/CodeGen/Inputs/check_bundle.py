"""Checks a bundle written by qqq-translate --export-bundle against the
constants bundle_model.py put in the module (independent of the C++ reader)."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bundle_model import bias, gamma, s_ch, s_grp, weight_byte  # noqa: E402

d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
assert m["format"] == "qqq-bundle-v1" and m["arch"] == "sm_90a", m
kernels = {k["name"]: k for k in m["kernels"]}
for k in m["kernels"]:
    ptx = open(os.path.join(d, k["ptx"])).read()
    assert ".target sm_90a" in ptx, k["name"]
    assert ".entry " + k["entry"] + "(" in ptx, k["name"]
layers = {l["name"]: l for l in m["layers"]}

def raw(layer, arg):
    t = layers[layer]["tensors"][arg]
    data = open(os.path.join(d, t["file"]), "rb").read()
    size = {"u8": 1, "i8": 1, "f16": 2, "f32": 4}[t["dtype"]]
    n = 1
    for s in t["shape"]:
        n *= s
    assert len(data) == n * size, (layer, arg, len(data), n * size)
    return t, data

# Per-channel layer: the packed bytes as they are in the IR ([N, K/2]).
t, w = raw("layers.0.q_proj", "w_packed")
assert t["dtype"] == "u8" and t["shape"] == [256, 256]
assert w == bytes(weight_byte(i) for i in range(256 * 256))
t, s = raw("layers.0.q_proj", "s_ch")
assert t["dtype"] == "f32" and struct.unpack("<256f", s) == tuple(s_ch(i) for i in range(256))
assert "s_grp" not in layers["layers.0.q_proj"]["tensors"]
assert "bias" not in layers["layers.0.q_proj"]["tensors"]
assert [b["max_m"] for b in layers["layers.0.q_proj"]["buckets"]] == [16, 0]
# Per-group layer with bias: f16 group scales [K/G, N] and bias [N].
t, g = raw("layers.1.down_proj", "s_grp")
assert t["dtype"] == "f16" and t["shape"] == [2, 128]
assert struct.unpack("<256e", g) == tuple(s_grp(i) for i in range(256))
t, b = raw("layers.1.down_proj", "bias")
assert t["shape"] == [128] and struct.unpack("<128e", b) == tuple(bias(i) for i in range(128))
t, w = raw("layers.1.down_proj", "w_packed")
assert w == bytes(weight_byte(i) for i in range(128 * 128))
# The grid of every GEMM: (N / tile_n, ceil(M / tile_m), split_k).
for l in (layers["layers.0.q_proj"], layers["layers.1.down_proj"]):
    for bucket in l["buckets"]:
        k = kernels[bucket["kernel"]]
        expr = k["expression"]
        params = [int(p) for p in expr[expr.index("<") + 1:-1].split(",")]
        n, kk, group, tile_m, tile_n, tile_k, stages, warps, split_k = params
        assert (n, kk, group) == (l["n"], l["k"], l["group_size"]), expr
        assert k["grid"][0] == n // tile_n and k["grid"][2] == split_k, k
        assert k["grid"][1] == {"mul": 1, "div": tile_m, "add": 0}, k
        assert k["block"] == [32 * warps, 1, 1], k
# The norm quantizer: gamma and epsilon.
rn = layers["rms_norm_quantize"]
assert rn["kind"] == "rms_norm_quantize" and abs(rn["epsilon"] - 1e-5) < 1e-12
t, g = raw("rms_norm_quantize", "gamma")
assert struct.unpack("<256e", g) == tuple(gamma(i) for i in range(256))
# An f32 model's gamma is stored as f16 (the kernel's type), same values.
t, g = raw("rms_norm_quantize#1", "gamma")
assert t["dtype"] == "f16" and struct.unpack("<256e", g) == tuple(gamma(i) for i in range(256))
assert abs(layers["rms_norm_quantize#1"]["epsilon"] - 1e-6) < 1e-12
qa = layers["quantize_act"]
assert qa["kind"] == "quantize_act" and qa["k"] == 512 and not qa.get("tensors")
assert qa["consumers"] == ["layers.0.v_proj"], qa
assert layers["layers.0.v_proj"]["buckets"] == layers["layers.0.q_proj"]["buckets"]
assert kernels[qa["buckets"][0]["kernel"]]["grid"][0] == {"mul": 1, "div": 1, "add": 0}
print("bundle ok:", len(m["kernels"]), "kernels,", len(m["layers"]), "layers")
