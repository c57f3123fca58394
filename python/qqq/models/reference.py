"""A direct numpy implementation of the LLaMA forward pass.

It is the independent reference the ONNX graph is tested against, written
from the model's definition (Hugging Face ``modeling_llama``) rather than from
the graph builder: RMSNorm, rotary embedding in rotate_half form, causal
grouped-query attention, SwiGLU MLP.
"""
from __future__ import annotations

import numpy as np

from .config import LlamaConfig
from .weights import lm_head


def rms_norm(x: np.ndarray, gamma: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * gamma


def rotary_tables(cfg: LlamaConfig, seq: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin [seq, head_dim] for positions 0..seq-1 (rotate_half layout)."""
    d = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
    angles = np.outer(np.arange(seq, dtype=np.float64), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def _apply_rotary(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def forward(cfg: LlamaConfig, weights: dict[str, np.ndarray], input_ids: np.ndarray,
            dtype=np.float64, linear_inputs: dict | None = None) -> np.ndarray:
    """Logits [batch, seq, vocab] for ``input_ids`` [batch, seq].

    When ``linear_inputs`` is a dict it receives the input of every linear layer
    under ``layers.{i}.{q_proj,...}`` / ``lm_head`` (what calibration taps).
    """
    w = {k: np.asarray(v, dtype=dtype) for k, v in weights.items()}
    b, s = input_ids.shape
    nh, nkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    cos, sin = rotary_tables(cfg, s, dtype)
    causal = np.triu(np.ones((s, s), dtype=bool), k=1)

    def record(name, value):
        if linear_inputs is not None:
            linear_inputs[name] = value

    x = w["model.embed_tokens.weight"][input_ids]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], cfg.rms_norm_eps)
        for name in ("q_proj", "k_proj", "v_proj"):
            record(f"layers.{i}.self_attn.{name}", h)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(b, s, nh, d).transpose(0, 2, 1, 3)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(b, s, nkv, d).transpose(0, 2, 1, 3)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(b, s, nkv, d).transpose(0, 2, 1, 3)
        q, k = _apply_rotary(q, cos, sin), _apply_rotary(k, cos, sin)
        k = np.repeat(k, nh // nkv, axis=1)  # head j uses kv head j // (nh / nkv)
        v = np.repeat(v, nh // nkv, axis=1)
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
        scores = np.where(causal, -np.inf, scores)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        attn = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, nh * d)
        record(f"layers.{i}.self_attn.o_proj", attn)
        x = x + attn @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        record(f"layers.{i}.mlp.gate_proj", h)
        record(f"layers.{i}.mlp.up_proj", h)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        act = gate / (1.0 + np.exp(-gate)) * up
        record(f"layers.{i}.mlp.down_proj", act)
        x = x + act @ w[p + "mlp.down_proj.weight"].T
    h = rms_norm(x, w["model.norm.weight"], cfg.rms_norm_eps)
    record("lm_head", h)
    return h @ np.asarray(lm_head(cfg, weights), dtype=dtype).T
