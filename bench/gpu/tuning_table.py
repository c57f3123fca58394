"""Loading a qqq-tuning-v1 table (include/qqq/CodeGen/KernelCatalog.h) for
the benchmark's scripts: exits naming the file when it cannot be read, is
not JSON, not qqq-tuning-v1, or has an entry without its key or
configuration."""
import json
import sys

KEY = ("arch", "n", "k", "group", "max_m")
CONFIG = ("tile_m", "tile_n", "tile_k", "stages", "warps", "split_k")


def load(path):
    try:
        with open(path) as f:
            table = json.load(f)
    except OSError as e:
        sys.exit(f"{path}: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"{path}: not JSON ({e.msg}, line {e.lineno})")
    if not isinstance(table, dict) or table.get("format") != "qqq-tuning-v1":
        sys.exit(f"{path}: format is not qqq-tuning-v1")
    if not isinstance(table.get("entries"), list):
        sys.exit(f"{path}: no entries list")
    for i, e in enumerate(table["entries"]):
        missing = [k for k in KEY + CONFIG if k not in e]
        if missing:
            sys.exit(f"{path}: entry {i} lacks {', '.join(missing)}")
    return table
