"""Builds a LLaMA-family decoder as an ONNX graph (opset 17, float32).

Naming contract (the C++ importer and calibration key on it):
  * every linear layer is one ``MatMul`` whose second input is an initializer
    holding the weight as [in, out] (K x N); the node is named after the layer
    (``layers.{i}.self_attn.q_proj`` ... ``layers.{i}.mlp.down_proj``,
    ``lm_head``) and the initializer ``<layer>.weight``;
  * no other MatMul has an initializer operand (attention MatMuls multiply two
    activations);
  * the first input of each linear is a named value (``linear_input_names``);
    q/k/v share one value, gate/up share one.
Rotary embedding uses the rotate_half form (Hugging Face weight order).
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .config import LlamaConfig
from .reference import rotary_tables
from .weights import check_weights, lm_head

OPSET = 17


def linear_input_names(cfg: LlamaConfig) -> dict[str, str]:
    """Layer (MatMul node) name -> the value name of its first input."""
    out = {}
    for i in range(cfg.num_hidden_layers):
        attn_in = f"layers.{i}.input_layernorm.output"
        mlp_in = f"layers.{i}.post_attention_layernorm.output"
        out[f"layers.{i}.self_attn.q_proj"] = attn_in
        out[f"layers.{i}.self_attn.k_proj"] = attn_in
        out[f"layers.{i}.self_attn.v_proj"] = attn_in
        out[f"layers.{i}.self_attn.o_proj"] = f"layers.{i}.self_attn.attention_output"
        out[f"layers.{i}.mlp.gate_proj"] = mlp_in
        out[f"layers.{i}.mlp.up_proj"] = mlp_in
        out[f"layers.{i}.mlp.down_proj"] = f"layers.{i}.mlp.act_output"
    out["lm_head"] = "norm.output"
    return out


class _Graph:
    def __init__(self):
        self.nodes, self.inits = [], []
        self._count = 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, name, outputs=None, **attrs):
        """One node; its outputs are ``name`` (or ``outputs``)."""
        outs = outputs or [name]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def rms_norm(self, x, gamma_name, gamma, eps, prefix, output):
        """x / sqrt(mean(x^2) + eps) * gamma, decomposed into basic ops."""
        g = self.const(gamma_name, gamma.astype(np.float32))
        sq = self.op("Pow", [x, "const.two"], f"{prefix}.pow")
        mean = self.op("ReduceMean", [sq], f"{prefix}.mean", axes=[-1], keepdims=1)
        var = self.op("Add", [mean, self.const(f"{prefix}.eps", np.array(eps, np.float32))],
                      f"{prefix}.add_eps")
        rms = self.op("Sqrt", [var], f"{prefix}.sqrt")
        normed = self.op("Div", [x, rms], f"{prefix}.div")
        return self.op("Mul", [normed, g], f"{prefix}.scale", outputs=[output])

    def linear(self, x, name, weight_out_in, output=None):
        """MatMul by the [in, out] weight; node named after the layer."""
        w = self.const(f"{name}.weight", np.ascontiguousarray(weight_out_in.T, dtype=np.float32))
        return self.op("MatMul", [x, w], name, outputs=[output or f"{name}.output"])


def build_model(cfg: LlamaConfig, weights: dict[str, np.ndarray], max_positions: int | None = None,
                metadata: dict[str, str] | None = None) -> onnx.ModelProto:
    """The decoder as an in-memory ONNX model: ``input_ids`` [batch, seq] -> ``logits``."""
    cfg.validate()
    check_weights(cfg, weights)
    max_pos = int(max_positions or cfg.max_position_embeddings)
    nh, nkv, d, hs = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim, cfg.hidden_size
    inputs = linear_input_names(cfg)
    g = _Graph()
    g.const("const.two", np.array(2.0, np.float32))
    g.const("const.attn_scale", np.array(1.0 / np.sqrt(d), np.float32))
    g.const("shape.q_heads", np.array([0, 0, nh, d], np.int64))
    g.const("shape.kv_heads", np.array([0, 0, nkv, d], np.int64))
    g.const("shape.hidden", np.array([0, 0, hs], np.int64))
    if nh != nkv:
        g.const("shape.kv_expand", np.array([1, 1, nh // nkv, 1, 1], np.int64))
        g.const("shape.kv_repeated", np.array([0, nh, -1, d], np.int64))
        g.const("axes.two", np.array([2], np.int64))
    g.const("rope.split", np.array([d // 2, d // 2], np.int64))

    # Position-dependent tables, sliced to the sequence length at run time.
    cos, sin = rotary_tables(cfg, max_pos, np.float32)
    g.const("rope.cos_table", cos)
    g.const("rope.sin_table", sin)
    ids_shape = g.op("Shape", ["input_ids"], "seq.shape")
    seq = g.op("Slice", [ids_shape, g.const("seq.one", np.array([1], np.int64)),
                         g.const("seq.two", np.array([2], np.int64))], "seq.len")
    zero = g.const("seq.zero", np.array([0], np.int64))
    cos_s = g.op("Slice", ["rope.cos_table", zero, seq, zero], "rope.cos")
    sin_s = g.op("Slice", ["rope.sin_table", zero, seq, zero], "rope.sin")
    # Causal mask [seq, seq]: lowest float strictly above the diagonal, 0 elsewhere.
    square = g.op("Concat", [seq, seq], "mask.shape", axis=0)
    filled = g.op("ConstantOfShape", [square], "mask.filled",
                  value=helper.make_tensor("v", TensorProto.FLOAT, [1], [np.finfo(np.float32).min]))
    mask = g.op("Trilu", [filled, g.const("mask.k", np.array(1, np.int64))], "mask.causal", upper=1)

    def rotary(x, prefix):
        first, second = g.op("Split", [x, "rope.split"], f"{prefix}.split", axis=-1,
                             outputs=[f"{prefix}.first_half", f"{prefix}.second_half"])
        neg = g.op("Neg", [second], f"{prefix}.neg")
        rotated = g.op("Concat", [neg, first], f"{prefix}.rotate_half", axis=-1)
        a = g.op("Mul", [x, cos_s], f"{prefix}.mul_cos")
        b = g.op("Mul", [rotated, sin_s], f"{prefix}.mul_sin")
        return g.op("Add", [a, b], f"{prefix}.rotated")

    def heads(x, shape, prefix):  # [b, s, n*d] -> [b, n, s, d]
        r = g.op("Reshape", [x, shape], f"{prefix}.reshape")
        return g.op("Transpose", [r], f"{prefix}.heads", perm=[0, 2, 1, 3])

    def repeat_kv(x, prefix):  # [b, nkv, s, d] -> [b, nh, s, d], head j reads kv head j // rep
        if nh == nkv:
            return x
        u = g.op("Unsqueeze", [x, "axes.two"], f"{prefix}.unsqueeze")
        e = g.op("Expand", [u, "shape.kv_expand"], f"{prefix}.expand")
        return g.op("Reshape", [e, "shape.kv_repeated"], f"{prefix}.repeat")

    w = weights
    x = g.op("Gather", [g.const("embed_tokens.weight", w["model.embed_tokens.weight"].astype(np.float32)),
                        "input_ids"], "embed_tokens", axis=0)
    for i in range(cfg.num_hidden_layers):
        p, L = f"model.layers.{i}.", f"layers.{i}"
        h = g.rms_norm(x, f"{L}.input_layernorm.weight", w[p + "input_layernorm.weight"],
                       cfg.rms_norm_eps, f"{L}.input_layernorm", inputs[f"{L}.self_attn.q_proj"])
        q = g.linear(h, f"{L}.self_attn.q_proj", w[p + "self_attn.q_proj.weight"])
        k = g.linear(h, f"{L}.self_attn.k_proj", w[p + "self_attn.k_proj.weight"])
        v = g.linear(h, f"{L}.self_attn.v_proj", w[p + "self_attn.v_proj.weight"])
        q = rotary(heads(q, "shape.q_heads", f"{L}.self_attn.q"), f"{L}.self_attn.q_rope")
        k = rotary(heads(k, "shape.kv_heads", f"{L}.self_attn.k"), f"{L}.self_attn.k_rope")
        v = heads(v, "shape.kv_heads", f"{L}.self_attn.v")
        k = repeat_kv(k, f"{L}.self_attn.k")
        v = repeat_kv(v, f"{L}.self_attn.v")
        kt = g.op("Transpose", [k], f"{L}.self_attn.k_transposed", perm=[0, 1, 3, 2])
        scores = g.op("MatMul", [q, kt], f"{L}.self_attn.scores")
        scaled = g.op("Mul", [scores, "const.attn_scale"], f"{L}.self_attn.scaled")
        masked = g.op("Add", [scaled, mask], f"{L}.self_attn.masked")
        probs = g.op("Softmax", [masked], f"{L}.self_attn.probs", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{L}.self_attn.context")
        ctx = g.op("Transpose", [ctx], f"{L}.self_attn.context_transposed", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, "shape.hidden"], f"{L}.self_attn.merge_heads",
                   outputs=[inputs[f"{L}.self_attn.o_proj"]])
        o = g.linear(ctx, f"{L}.self_attn.o_proj", w[p + "self_attn.o_proj.weight"])
        x = g.op("Add", [x, o], f"{L}.attn_residual")
        h = g.rms_norm(x, f"{L}.post_attention_layernorm.weight", w[p + "post_attention_layernorm.weight"],
                       cfg.rms_norm_eps, f"{L}.post_attention_layernorm", inputs[f"{L}.mlp.gate_proj"])
        gate = g.linear(h, f"{L}.mlp.gate_proj", w[p + "mlp.gate_proj.weight"])
        up = g.linear(h, f"{L}.mlp.up_proj", w[p + "mlp.up_proj.weight"])
        sig = g.op("Sigmoid", [gate], f"{L}.mlp.sigmoid")
        silu = g.op("Mul", [gate, sig], f"{L}.mlp.silu")
        act = g.op("Mul", [silu, up], f"{L}.mlp.act", outputs=[inputs[f"{L}.mlp.down_proj"]])
        down = g.linear(act, f"{L}.mlp.down_proj", w[p + "mlp.down_proj.weight"])
        x = g.op("Add", [x, down], f"{L}.mlp_residual")
    h = g.rms_norm(x, "norm.weight", w["model.norm.weight"], cfg.rms_norm_eps, "norm", inputs["lm_head"])
    g.linear(h, "lm_head", lm_head(cfg, w), output="logits")

    graph = helper.make_graph(
        g.nodes, "llama_decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", cfg.vocab_size])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="qqq.models")
    model.ir_version = 8  # opset 17 with IR 8 loads in every ONNX Runtime since 1.14
    meta = {"qqq.config": json.dumps(cfg.to_dict()), "qqq.rotary": "rotate_half",
            "qqq.max_positions": str(max_pos)}
    meta.update(metadata or {})
    helper.set_model_props(model, meta)
    return model


def save_model(model: onnx.ModelProto, path: str, external_data: bool | None = None) -> None:
    """Write atomically; weights go to ``<file>.data`` beside the model when external.

    External data is used by default when the weights exceed 100 MB.
    """
    path = os.path.abspath(path)
    directory, base = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    if external_data is None:
        external_data = model.ByteSize() > 100 * 2**20
    data_name = base + ".data"
    with tempfile.TemporaryDirectory(dir=directory, prefix=".tmp-" + base) as tmp:
        tmp_model = os.path.join(tmp, base)
        if external_data:
            onnx.save_model(model, tmp_model, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=data_name, size_threshold=1024)
            os.replace(os.path.join(tmp, data_name), os.path.join(directory, data_name))
        else:
            onnx.save_model(model, tmp_model)
        os.replace(tmp_model, path)
    mask = 0o666 & ~_umask()
    os.chmod(path, mask)
    if external_data:
        os.chmod(os.path.join(directory, data_name), mask)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
