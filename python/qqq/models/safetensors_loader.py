"""Loads a Hugging Face LLaMA checkpoint directory (config.json + *.safetensors)."""
from __future__ import annotations

import glob
import json
import os
import struct

import numpy as np

from .config import LlamaConfig


def _read_bf16(path: str, names: list[str]) -> dict[str, np.ndarray]:
    """BF16 tensors (numpy has no bfloat16): widen the raw 16 bits to float32."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        out = {}
        for name in names:
            info = header[name]
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            raw = np.frombuffer(f.read(end - begin), dtype="<u2")
            out[name] = (raw.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])
    return out


def _load_file(path: str) -> dict[str, np.ndarray]:
    from safetensors import safe_open
    out, bf16 = {}, []
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    with safe_open(path, framework="numpy") as f:
        for name in f.keys():
            if header[name]["dtype"] == "BF16":
                bf16.append(name)
            else:
                out[name] = np.asarray(f.get_tensor(name), dtype=np.float32)
    out.update(_read_bf16(path, bf16))
    return out


def load_safetensors(directory: str) -> tuple[LlamaConfig, dict[str, np.ndarray]]:
    """(config, float32 weights in Hugging Face naming) from a checkpoint directory."""
    config_path = os.path.join(directory, "config.json")
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{directory}: config.json not found")
    cfg = LlamaConfig.from_hf_json(config_path)
    files = sorted(glob.glob(os.path.join(directory, "*.safetensors")))
    if not files:
        raise FileNotFoundError(f"{directory}: no *.safetensors file")
    weights = {}
    for path in files:
        try:
            weights.update(_load_file(path))
        except (OSError, ValueError, KeyError, struct.error) as e:
            raise ValueError(f"{path}: not a readable safetensors file: {e}") from None
    if cfg.tie_word_embeddings:
        weights.pop("lm_head.weight", None)  # some tied checkpoints still store a copy
    return cfg, weights
