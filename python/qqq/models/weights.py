"""Decoder weights in Hugging Face LLaMA naming and layout.

A weight set is a ``dict[str, np.ndarray]`` (float32) keyed like a Hugging Face
LLaMA checkpoint: ``model.embed_tokens.weight`` [vocab, hidden],
``model.layers.{i}.self_attn.q_proj.weight`` [out, in], ...,
``model.norm.weight``, ``lm_head.weight`` (absent when embeddings are tied).
Query/key rows are in Hugging Face order, i.e. the rotary embedding is the
"rotate_half" form (pairs (j, j + head_dim/2) rotate together).
"""
from __future__ import annotations

import numpy as np

from .config import LlamaConfig

LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


def expected_shapes(cfg: LlamaConfig) -> dict[str, tuple[int, ...]]:
    h, kv = cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, h), "model.norm.weight": (h,)}
    per_layer = {
        "input_layernorm.weight": (h,), "post_attention_layernorm.weight": (h,),
        "self_attn.q_proj.weight": (h, h), "self_attn.k_proj.weight": (kv, h),
        "self_attn.v_proj.weight": (kv, h), "self_attn.o_proj.weight": (h, h),
        "mlp.gate_proj.weight": (cfg.intermediate_size, h),
        "mlp.up_proj.weight": (cfg.intermediate_size, h),
        "mlp.down_proj.weight": (h, cfg.intermediate_size),
    }
    for i in range(cfg.num_hidden_layers):
        for k, s in per_layer.items():
            shapes[f"model.layers.{i}.{k}"] = s
    if not cfg.tie_word_embeddings:
        shapes["lm_head.weight"] = (cfg.vocab_size, h)
    return shapes


def check_weights(cfg: LlamaConfig, weights: dict[str, np.ndarray], source: str = "weights") -> None:
    """Raise ValueError naming the first missing or mis-shaped tensor."""
    for name, shape in expected_shapes(cfg).items():
        if name not in weights:
            raise ValueError(f"{source}: missing tensor '{name}' (expected shape {shape})")
        got = tuple(weights[name].shape)
        if got != shape:
            raise ValueError(f"{source}: tensor '{name}' has shape {got}, expected {shape}")


def lm_head(cfg: LlamaConfig, weights: dict[str, np.ndarray]) -> np.ndarray:
    """The output projection [vocab, hidden] (the embedding when tied)."""
    if cfg.tie_word_embeddings or "lm_head.weight" not in weights:
        return weights["model.embed_tokens.weight"]
    return weights["lm_head.weight"]


def random_weights(cfg: LlamaConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random weights scaled so activations stay O(1) through the layers."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in expected_shapes(cfg).items():
        if len(shape) == 1:  # norm gains around 1
            w = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name == "model.embed_tokens.weight":
            w = rng.standard_normal(shape)
        else:
            w = rng.standard_normal(shape) / np.sqrt(shape[1])
        out[name] = w.astype(np.float32)
    return out
