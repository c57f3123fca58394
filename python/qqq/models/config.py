"""The hyper-parameters of a LLaMA-family decoder and a few named presets."""
from __future__ import annotations

import dataclasses
import json
import os


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    """What the graph builder and the numpy reference need to know.

    Field names follow Hugging Face's ``config.json`` for LLaMA so that one can
    be read directly (``from_hf_json``).
    """
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = False
    bos_token_id: int | None = None
    eos_token_id: int | None = None

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def validate(self) -> "LlamaConfig":
        """Raise ValueError on a configuration no LLaMA graph can have."""
        positive = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                    "num_attention_heads", "num_key_value_heads", "max_position_embeddings"]
        for name in positive:
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"config: {name} must be positive, got {getattr(self, name)}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"config: hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"config: num_attention_heads {self.num_attention_heads} is not a "
                             f"multiple of num_key_value_heads {self.num_key_value_heads}")
        if self.head_dim % 2:
            raise ValueError(f"config: head_dim {self.head_dim} must be even for rotary embeddings")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_hf_json(cls, path: str) -> "LlamaConfig":
        """Read a Hugging Face LLaMA ``config.json`` (unknown keys are ignored)."""
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in raw.items() if k in fields}
        kwargs.setdefault("num_key_value_heads", raw.get("num_attention_heads"))
        for key in ("bos_token_id", "eos_token_id"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = kwargs[key][0]
        scaling = raw.get("rope_scaling")
        if scaling and scaling.get("rope_type", scaling.get("type")) not in (None, "default"):
            raise ValueError(f"{path}: rope_scaling {scaling} is not supported (only plain RoPE)")
        try:
            return cls(**kwargs).validate()
        except TypeError as e:
            raise ValueError(f"{path}: missing LLaMA config field: {e}") from None


PRESETS = {
    # Small enough that a forward pass takes milliseconds; GQA (4 heads, 2 kv heads).
    "tiny": LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                        rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=256),
    # Plain multi-head attention (kv heads == heads) and tied embeddings.
    "tiny-mha": LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=96,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                            rms_norm_eps=1e-6, rope_theta=500000.0, max_position_embeddings=256,
                            tie_word_embeddings=True),
    # The smallest model whose every linear the GPU kernels take (N and K
    # multiples of 64): head size 64, GQA 2:1; for kernel-bundle tests.
    "small-gpu": LlamaConfig(vocab_size=256, hidden_size=128, intermediate_size=256,
                             num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                             rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=256),
    # SmolLM2-135M's shape, for building a random model of the real size.
    "smollm2-135m": LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536,
                                num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                                rms_norm_eps=1e-5, rope_theta=100000.0,
                                max_position_embeddings=8192, tie_word_embeddings=True),
}


def load_config(name_or_path: str) -> LlamaConfig:
    """A preset name, or a path to a Hugging Face ``config.json``."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    if os.path.exists(name_or_path):
        return LlamaConfig.from_hf_json(name_or_path)
    raise ValueError(f"unknown config '{name_or_path}': expected one of {sorted(PRESETS)} "
                     f"or a path to a config.json")
