"""Tokenizers for built models: the GGUF one lives in gguf_loader; this is the
byte-level tokenizer that random-weight test models use."""
from __future__ import annotations


def byte_tokenizer(vocab_size: int):
    """Byte-level BPE with the 256 byte symbols and no merges: every UTF-8 byte is
    one token, so any text round-trips. Needs a vocabulary of at least 256."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    if vocab_size < 256:
        raise ValueError(f"a byte tokenizer needs vocab_size >= 256, got {vocab_size}")
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok
