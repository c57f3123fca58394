#!/usr/bin/env python3
"""Writes a tuning table's sm_90a entries as bench_w4a8 --configs lines.

  python3 bench/gpu/tuning_to_configs.py tuning/<gpu>.json > configs.txt
  bash bench/gpu/run.sh --configs configs.txt --csv bench.csv

so the benchmark times the committed configurations (each checked
bit-exactly first) without searching again.
"""
import sys

from tuning_table import load


def config_lines(table):
    """The table's sm_90a entries as --configs lines (with a header)."""
    lines = [f"# {table['gpu']}: n k group max_m tile_m tile_n tile_k "
             "stages warps split_k stream_k token_tiles_first"]
    for e in table["entries"]:
        if e["arch"] != "sm_90a":
            continue
        lines.append(" ".join(str(e[k]) for k in (
            "n", "k", "group", "max_m", "tile_m", "tile_n", "tile_k",
            "stages", "warps", "split_k")) +
            f" {e.get('stream_k', 0)} {int(e.get('token_tiles_first', False))}")
    return lines


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tuning_to_configs.py TUNING.json")
    print("\n".join(config_lines(load(sys.argv[1]))))


if __name__ == "__main__":
    main()
