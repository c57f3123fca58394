#!/usr/bin/env python3
"""Merges partial tuning tables (a re-search of some shapes or buckets,
`bench_w4a8 --tune --bucket B --shape S --tuning-out S.json`) into a
committed one:

  python3 bench/gpu/merge_tuning.py tuning/<gpu>.json S1.json [S2.json ...]

An entry of a partial table replaces the table's entry with the same
(arch, n, k, group, max_m), or is added after the others. Prints one line
per entry whose configuration changed. Both must be qqq-tuning-v1 tables of
the same GPU; on any error nothing is written. The table is written to a
temporary file and renamed over the original, one entry per line.
"""
import json
import os
import sys

from tuning_table import CONFIG, KEY, load


def key(e):
    return tuple(e[k] for k in KEY)


def config(e):
    return (" ".join(str(e[k]) for k in CONFIG) + f" sk{e.get('stream_k', 0)}"
            + (" ttf" if e.get("token_tiles_first") else ""))


def merge_into(path, partial_paths):
    """Merges the partial tables into the table at path (see above); exits
    naming the file on any error, before anything is written."""
    table = load(path)
    index = {key(e): i for i, e in enumerate(table["entries"])}
    changed = added = 0
    for partial_path in partial_paths:
        partial = load(partial_path)
        if partial["gpu"] != table["gpu"]:
            sys.exit(f"{partial_path}: tuned on '{partial['gpu']}', the table "
                     f"is for '{table['gpu']}'")
        for e in partial["entries"]:
            k = key(e)
            name = " ".join(str(v) for v in k)
            if k in index:
                old = table["entries"][index[k]]
                if config(old) != config(e):
                    print(f"{name}: {config(old)} -> {config(e)}")
                    changed += 1
                table["entries"][index[k]] = e
            else:
                index[k] = len(table["entries"])
                table["entries"].append(e)
                print(f"{name}: added {config(e)}")
                added += 1
    write(path, table)
    print(f"{path}: {len(table['entries'])} entries, {changed} changed, "
          f"{added} added")


def write(path, table):
    """One entry per line; a temporary file renamed over path."""
    lines = ",\n".join("    " + json.dumps(e) for e in table["entries"])
    text = ('{\n  "format": %s,\n  "gpu": %s,\n  "entries": [\n%s\n  ]\n}\n'
            % (json.dumps(table["format"]), json.dumps(table["gpu"]), lines))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: merge_tuning.py TABLE.json PARTIAL.json...")
    merge_into(sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()
