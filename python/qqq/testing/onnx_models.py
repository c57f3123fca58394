"""Small LLaMA-style decoder ONNX models for the import/export tests.

Built with the ``onnx.helper`` API only (no torch): token embedding, N decoder
layers (RMSNorm, GQA attention with rotary embeddings and a causal mask,
SwiGLU MLP, residuals), a final RMSNorm and the LM head. The RMSNorms and
linear layers cycle through the forms real exporters emit, so that one model
exercises every importer pattern:

RMSNorm forms (``norm_forms``):
  ``"decomposed"``       Pow(x, 2) ReduceMean Add(eps) Sqrt Div Mul(gamma)
  ``"decomposed_recip"`` Cast(f32) Mul(x, x) ReduceMean Add(eps, .) Sqrt
                         Reciprocal Mul Cast Mul(gamma, .)
  ``"simplified"``       SimplifiedLayerNormalization (ONNX Runtime)
  ``"rmsnorm"``          RMSNormalization (opset 23)

Linear forms: MatMul with a K x N initializer, MatMul through Transpose of an
N x K initializer, biases (Qwen-style q/k/v) as a following Add.
"""
from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NORM_FORMS = ("decomposed", "decomposed_recip", "simplified", "rmsnorm")


class _Builder:
    def __init__(self, rng: np.random.Generator, opset: int):
        self.rng = rng
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.value_info: list[onnx.ValueInfoProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def const(self, hint: str, array) -> str:
        return self.init(self.name(hint), np.asarray(array))

    def node(self, op: str, inputs, name: str, outputs: int = 1, domain: str = "", **attrs):
        outs = [f"{name}_out{i}" if outputs > 1 else f"{name}_out" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, domain=domain, **attrs))
        return outs[0] if outputs == 1 else outs

    # --- layers --------------------------------------------------------
    def linear(self, x: str, k: int, n: int, name: str, form: str, bias: bool = False) -> str:
        w = (self.rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        if form == "transpose":
            wt = self.node("Transpose", [self.init(f"{name}.weight", w)], f"{name}/Transpose", perm=[1, 0])
            y = self.node("MatMul", [x, wt], f"{name}/MatMul")
        else:
            y = self.node("MatMul", [x, self.init(f"{name}.weight_kn", np.ascontiguousarray(w.T))],
                          f"{name}/MatMul")
        if bias:
            b = (self.rng.standard_normal(n) * 0.1).astype(np.float32)
            y = self.node("Add", [y, self.init(f"{name}.bias", b)], f"{name}/Add")
        return y

    def rms_norm(self, x: str, dim: int, name: str, form: str, eps: float = 1e-5) -> str:
        g = (1.0 + 0.1 * self.rng.standard_normal(dim)).astype(np.float32)
        gamma = self.init(f"{name}.weight", g)
        if form == "simplified":
            y = self.node("SimplifiedLayerNormalization", [x, gamma], f"{name}/SLN",
                          axis=-1, epsilon=eps, stash_type=1)
            # ONNX shape inference does not know this ONNX Runtime op; give
            # its output a type the way ORT-side exporters do.
            self.value_info.append(helper.make_tensor_value_info(
                y, TensorProto.FLOAT, ["batch", "seq", dim]))
            return y
        if form == "rmsnorm":
            return self.node("RMSNormalization", [x, gamma], f"{name}/RMSNorm", axis=-1, epsilon=eps)
        recip = form == "decomposed_recip"
        x0 = self.node("Cast", [x], f"{name}/Cast", to=TensorProto.FLOAT) if recip else x
        if recip:
            sq = self.node("Mul", [x0, x0], f"{name}/Square")
        else:
            sq = self.node("Pow", [x0, self.const(f"{name}.two", np.float32(2.0))], f"{name}/Pow")
        if self.opset >= 18:
            mean = self.node("ReduceMean", [sq, self.const(f"{name}.axes", np.array([-1], np.int64))],
                             f"{name}/ReduceMean", keepdims=1)
        else:
            mean = self.node("ReduceMean", [sq], f"{name}/ReduceMean", axes=[-1], keepdims=1)
        e = self.const(f"{name}.eps", np.float32(eps))
        s = self.node("Add", [e, mean] if recip else [mean, e], f"{name}/Add")
        r = self.node("Sqrt", [s], f"{name}/Sqrt")
        if recip:
            inv = self.node("Reciprocal", [r], f"{name}/Reciprocal")
            normed = self.node("Mul", [x0, inv], f"{name}/Normalize")
            normed = self.node("Cast", [normed], f"{name}/CastBack", to=TensorProto.FLOAT)
            return self.node("Mul", [gamma, normed], f"{name}/Scale")
        normed = self.node("Div", [x0, r], f"{name}/Div")
        return self.node("Mul", [normed, gamma], f"{name}/Scale")

    def rotary(self, x: str, cos: str, sin: str, half: int, name: str) -> str:
        first = self.node("Slice", [x, self.const("zero", np.array([0], np.int64)),
                                    self.const("half", np.array([half], np.int64)),
                                    self.const("last_axis", np.array([-1], np.int64))], f"{name}/Slice1")
        second = self.node("Slice", [x, self.const("half", np.array([half], np.int64)),
                                     self.const("big", np.array([1 << 30], np.int64)),
                                     self.const("last_axis", np.array([-1], np.int64))], f"{name}/Slice2")
        neg = self.node("Neg", [second], f"{name}/Neg")
        rot = self.node("Concat", [neg, first], f"{name}/Concat", axis=-1)
        a = self.node("Mul", [x, cos], f"{name}/MulCos")
        b = self.node("Mul", [rot, sin], f"{name}/MulSin")
        return self.node("Add", [a, b], f"{name}/Add")


def make_llama_decoder(path: str | None = None, *, layers: int = 2, hidden: int = 64,
                       heads: int = 4, kv_heads: int = 2, ffn: int = 96, vocab: int = 128,
                       max_pos: int = 64, norm_forms=NORM_FORMS, opset: int = 23,
                       external_data: bool = True, qkv_bias: bool = True,
                       infer_shapes: bool = True, seed: int = 0) -> onnx.ModelProto:
    """Builds the decoder; saves it to ``path`` (with ``<path>.data`` for
    weights >= 1 KiB when ``external_data``) and returns the model.

    Inputs: ``input_ids`` int64 [batch, seq]. Output: ``logits`` f32
    [batch, seq, vocab]. ``norm_forms`` is cycled over all RMSNorms."""
    rng = np.random.default_rng(seed)
    b = _Builder(rng, opset)
    head_dim = hidden // heads
    rep = heads // kv_heads
    forms = list(norm_forms)
    norm_i = 0

    def next_form():
        nonlocal norm_i
        f = forms[norm_i % len(forms)]
        norm_i += 1
        return f

    emb = b.init("embed_tokens.weight", (rng.standard_normal((vocab, hidden)) * 0.5).astype(np.float32))
    h = b.node("Gather", [emb, "input_ids"], "embed/Gather", axis=0)

    # Positions, rotary tables and the causal mask for the current length.
    seq1 = b.node("Shape", ["input_ids"], "pos/Shape", start=1, end=2)
    seq = b.node("Squeeze", [seq1, b.const("axis0", np.array([0], np.int64))], "pos/Squeeze")
    pos = b.node("Range", [b.const("i0", np.int64(0)), seq, b.const("i1", np.int64(1))], "pos/Range")
    inv_freq = 1.0 / (10000 ** (np.arange(0, head_dim, 2) / head_dim))
    angles = np.outer(np.arange(max_pos), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)
    cos = b.node("Gather", [b.init("rope.cos", np.cos(angles).astype(np.float32)), pos], "rope/GatherCos", axis=0)
    sin = b.node("Gather", [b.init("rope.sin", np.sin(angles).astype(np.float32)), pos], "rope/GatherSin", axis=0)
    mask_table = np.triu(np.full((max_pos, max_pos), -1e9, np.float32), k=1)
    ends = b.node("Concat", [seq1, seq1], "mask/Concat", axis=0)
    mask = b.node("Slice", [b.init("causal_mask", mask_table), b.const("zeros2", np.array([0, 0], np.int64)), ends],
                  "mask/Slice")
    scale = b.const("attn_scale", np.float32(1.0 / np.sqrt(head_dim)))

    for i in range(layers):
        p = f"layers.{i}"
        x = b.rms_norm(h, hidden, f"{p}.input_layernorm", next_form())
        # Alternate the two MatMul weight layouts between layers.
        lf = "transpose" if i % 2 else "kn"
        q = b.linear(x, hidden, heads * head_dim, f"{p}.self_attn.q_proj", lf, bias=qkv_bias)
        k = b.linear(x, hidden, kv_heads * head_dim, f"{p}.self_attn.k_proj", lf, bias=qkv_bias)
        v = b.linear(x, hidden, kv_heads * head_dim, f"{p}.self_attn.v_proj", lf, bias=qkv_bias)
        # GQA by broadcasting: q [b, KVH, rep, s, D], k/v [b, KVH, 1, s, D].
        q = b.node("Reshape", [q, b.const("q_shape", np.array([0, 0, kv_heads, rep, head_dim], np.int64))],
                   f"{p}/q/Reshape")
        q = b.node("Transpose", [q], f"{p}/q/Transpose", perm=[0, 2, 3, 1, 4])
        k = b.node("Reshape", [k, b.const("kv_shape", np.array([0, 0, kv_heads, 1, head_dim], np.int64))],
                   f"{p}/k/Reshape")
        k = b.node("Transpose", [k], f"{p}/k/Transpose", perm=[0, 2, 3, 1, 4])
        v = b.node("Reshape", [v, b.const("kv_shape", np.array([0, 0, kv_heads, 1, head_dim], np.int64))],
                   f"{p}/v/Reshape")
        v = b.node("Transpose", [v], f"{p}/v/Transpose", perm=[0, 2, 3, 1, 4])
        q = b.rotary(q, cos, sin, head_dim // 2, f"{p}/q/rope")
        k = b.rotary(k, cos, sin, head_dim // 2, f"{p}/k/rope")
        kt = b.node("Transpose", [k], f"{p}/k/TransposeT", perm=[0, 1, 2, 4, 3])
        scores = b.node("MatMul", [q, kt], f"{p}/attn/QK")
        scores = b.node("Mul", [scores, scale], f"{p}/attn/Scale")
        scores = b.node("Add", [scores, mask], f"{p}/attn/Mask")
        probs = b.node("Softmax", [scores], f"{p}/attn/Softmax", axis=-1)
        ctx = b.node("MatMul", [probs, v], f"{p}/attn/PV")
        ctx = b.node("Transpose", [ctx], f"{p}/attn/Transpose", perm=[0, 3, 1, 2, 4])
        ctx = b.node("Reshape", [ctx, b.const("ctx_shape", np.array([0, 0, hidden], np.int64))], f"{p}/attn/Reshape")
        o = b.linear(ctx, heads * head_dim, hidden, f"{p}.self_attn.o_proj", lf)
        h = b.node("Add", [h, o], f"{p}/attn/Residual")

        x = b.rms_norm(h, hidden, f"{p}.post_attention_layernorm", next_form())
        gate = b.linear(x, hidden, ffn, f"{p}.mlp.gate_proj", lf)
        up = b.linear(x, hidden, ffn, f"{p}.mlp.up_proj", lf)
        silu = b.node("Mul", [gate, b.node("Sigmoid", [gate], f"{p}/mlp/Sigmoid")], f"{p}/mlp/SiLU")
        act = b.node("Mul", [silu, up], f"{p}/mlp/GateUp")
        down = b.linear(act, ffn, hidden, f"{p}.mlp.down_proj", lf)
        h = b.node("Add", [h, down], f"{p}/mlp/Residual")

    h = b.rms_norm(h, hidden, "norm", next_form())
    logits = b.linear(h, hidden, vocab, "lm_head", "kn")
    b.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="output/Identity"))

    graph = helper.make_graph(
        b.nodes, "llama_decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", vocab])],
        initializer=_dedup(b.inits), value_info=b.value_info)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="qqq.testing")
    model.ir_version = 10 if opset >= 21 else 8
    if infer_shapes:
        model = onnx.shape_inference.infer_shapes(model)
    if path is not None:
        if external_data:
            onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(path) + ".data", size_threshold=1024)
        else:
            onnx.save_model(model, path)
    return model


def _dedup(inits):
    seen, out = set(), []
    for t in inits:
        if t.name not in seen:
            seen.add(t.name)
            out.append(t)
    return out
