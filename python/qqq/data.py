"""Text and tokenizer loading shared by calibration and evaluation."""
from __future__ import annotations

import os

import numpy as np


def find_tokenizer(model_path: str, tokenizer_path: str | None = None) -> str:
    """The tokenizer.json given, or the one written next to the model."""
    path = tokenizer_path or os.path.join(os.path.dirname(os.path.abspath(model_path)), "tokenizer.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"tokenizer not found: {path} (pass --tokenizer; `python -m qqq.models` "
                                f"writes tokenizer.json next to the model)")
    return path


def load_tokenizer(path: str):
    from tokenizers import Tokenizer
    try:
        return Tokenizer.from_file(path)
    except Exception as e:
        raise ValueError(f"{path}: not a tokenizers JSON file: {e}") from None


def read_text(path: str, join_rows: str | None = None) -> str:
    """The file's text; with ``join_rows`` its non-empty lines (each keeping its newline)
    are joined by that separator, e.g. the GPTQ/QQQ "\\n\\n".join(rows) for WikiText."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.strip():
        raise ValueError(f"{path}: the text file is empty")
    if join_rows is None:
        return text
    rows = [line for line in text.splitlines(keepends=True) if line.strip()]
    return join_rows.join(rows)


def tokenize(tokenizer, text: str) -> np.ndarray:
    """Token ids (int64) of ``text`` encoded in one piece, without added special tokens."""
    return np.asarray(tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)
