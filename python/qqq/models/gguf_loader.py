"""Loads a LLaMA-architecture GGUF file (llama.cpp's format) through the ``gguf`` package.

Quantized tensors (Q4_1, Q8_0, ...) are dequantized with ``gguf.quants.dequantize``;
those dequantized values are the floating-point model qqq starts from.

llama.cpp's converter permutes the rows of the query and key projections so that
its interleaved rotary form (pairs (2j, 2j+1)) computes what Hugging Face's
rotate_half form (pairs (j, j + d/2)) computes on the original rows. qqq's graph
uses rotate_half, so ``unpermute_rotary`` undoes that permutation on load.
"""
from __future__ import annotations

import numpy as np

from .config import LlamaConfig

# Per-layer GGUF tensor names -> Hugging Face names.
_LAYER_TENSORS = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def permute_rotary(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Hugging Face row order -> llama.cpp row order (what its converter does)."""
    d2 = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, 2, d2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_rotary(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp row order -> Hugging Face row order (inverse of ``permute_rotary``)."""
    d2 = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, d2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _field(reader, key, default=None, required=True):
    f = reader.fields.get(key)
    if f is None:
        if required and default is None:
            raise ValueError(f"GGUF metadata key '{key}' is missing")
        return default
    return f.contents()


def _open(path):
    import gguf
    try:
        return gguf.GGUFReader(path)
    except FileNotFoundError:
        raise
    except Exception as e:  # the reader raises assorted errors on a malformed file
        raise ValueError(f"{path}: not a readable GGUF file ({type(e).__name__}: {e})") from None


def config_from_gguf(reader, path: str = "GGUF") -> LlamaConfig:
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"{path}: architecture '{arch}' is not supported (only 'llama')")
    heads = int(_field(reader, "llama.attention.head_count"))
    hidden = int(_field(reader, "llama.embedding_length"))
    rope_dim = _field(reader, "llama.rope.dimension_count", required=False)
    if rope_dim is not None and int(rope_dim) != hidden // heads:
        raise ValueError(f"{path}: partial rotary (rope dimension {rope_dim} != head dim "
                         f"{hidden // heads}) is not supported")
    names = {t.name for t in reader.tensors}
    embd = next((t for t in reader.tensors if t.name == "token_embd.weight"), None)
    if embd is None:
        raise ValueError(f"{path}: tensor 'token_embd.weight' is missing")
    vocab = _field(reader, "llama.vocab_size", required=False)
    vocab = int(vocab) if vocab is not None else int(embd.shape[1])
    return LlamaConfig(
        vocab_size=vocab, hidden_size=hidden,
        intermediate_size=int(_field(reader, "llama.feed_forward_length")),
        num_hidden_layers=int(_field(reader, "llama.block_count")),
        num_attention_heads=heads,
        num_key_value_heads=int(_field(reader, "llama.attention.head_count_kv", heads)),
        rms_norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
        rope_theta=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        max_position_embeddings=int(_field(reader, "llama.context_length", 2048)),
        tie_word_embeddings="output.weight" not in names,
        bos_token_id=_field(reader, "tokenizer.ggml.bos_token_id", required=False),
        eos_token_id=_field(reader, "tokenizer.ggml.eos_token_id", required=False),
    ).validate()


def _dequantize(t) -> np.ndarray:
    from gguf import GGMLQuantizationType, quants
    if t.tensor_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
        arr = np.asarray(t.data, dtype=np.float32)
    else:
        arr = quants.dequantize(np.asarray(t.data), t.tensor_type)
    shape = tuple(int(s) for s in reversed(t.shape))  # GGUF lists the fastest dimension first
    return np.ascontiguousarray(arr, dtype=np.float32).reshape(shape)


def load_gguf(path: str) -> tuple[LlamaConfig, dict[str, np.ndarray], object]:
    """(config, weights in Hugging Face naming, the reader for tokenizer metadata)."""
    reader = _open(path)
    cfg = config_from_gguf(reader, path)
    weights = {}
    for t in reader.tensors:
        name = t.name
        if name == "token_embd.weight":
            hf = "model.embed_tokens.weight"
        elif name == "output_norm.weight":
            hf = "model.norm.weight"
        elif name == "output.weight":
            hf = "lm_head.weight"
        elif name.startswith("blk."):
            _, idx, kind, _ = name.split(".", 3)
            if kind not in _LAYER_TENSORS:
                continue  # e.g. rope_freqs: not part of a plain LLaMA
            hf = f"model.layers.{idx}.{_LAYER_TENSORS[kind]}.weight"
        else:
            continue
        try:
            w = _dequantize(t)
        except Exception as e:
            raise ValueError(f"{path}: cannot dequantize tensor '{name}' of type "
                             f"{t.tensor_type.name}: {e}") from None
        if name.endswith("attn_q.weight"):
            w = unpermute_rotary(w, cfg.num_attention_heads)
        elif name.endswith("attn_k.weight"):
            w = unpermute_rotary(w, cfg.num_key_value_heads)
        weights[hf] = w
    return cfg, weights, reader


# Pre-tokenizer regexes of the BPE vocabularies llama.cpp knows (tokenizer.ggml.pre).
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def _pre_tokenizer(pre: str):
    from tokenizers import Regex, pre_tokenizers as pt
    if pre in ("smollm", "starcoder", "refact", "codeshell"):
        return pt.Sequence([pt.Digits(individual_digits=True),
                            pt.ByteLevel(add_prefix_space=False, use_regex=True)])
    if pre in ("default", "gpt2", "gpt-2"):
        return pt.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in ("llama-bpe", "llama3", "qwen2"):
        regex = _QWEN2_SPLIT if pre == "qwen2" else _LLAMA3_SPLIT
        return pt.Sequence([pt.Split(Regex(regex), behavior="isolated"),
                            pt.ByteLevel(add_prefix_space=False, use_regex=False)])
    raise ValueError(f"GGUF tokenizer pre-tokenizer '{pre}' is not supported "
                     f"(supported: smollm, starcoder, gpt2, llama-bpe, qwen2)")


def tokenizer_from_gguf(reader, path: str = "GGUF"):
    """A ``tokenizers.Tokenizer`` (byte-level BPE) from tokenizer.ggml.* metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    kind = _field(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise ValueError(f"{path}: tokenizer model '{kind}' is not supported (only byte-level "
                         f"BPE, 'gpt2')")
    tokens = list(_field(reader, "tokenizer.ggml.tokens"))
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]
    types = list(_field(reader, "tokenizer.ggml.token_type", [1] * len(tokens), required=False))
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges,
                               fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = _pre_tokenizer(_field(reader, "tokenizer.ggml.pre", "default", required=False))
    tok.decoder = decoders.ByteLevel()
    # CONTROL (3) and USER_DEFINED (4) tokens are matched whole, never split by BPE.
    special = [AddedToken(t, special=(ty == 3), normalized=False)
               for t, ty in zip(tokens, types) if ty in (3, 4)]
    if special:
        tok.add_special_tokens(special)
    bos = _field(reader, "tokenizer.ggml.bos_token_id", required=False)
    if _field(reader, "tokenizer.ggml.add_bos_token", False, required=False) and bos is not None:
        b = tokens[int(bos)]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{b} $A", pair=f"{b} $A {b} $B", special_tokens=[(b, int(bos))])
    return tok
