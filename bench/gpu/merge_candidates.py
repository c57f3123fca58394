#!/usr/bin/env python3
"""Merges the candidate lists of a re-search (`qqq-tune.sh`'s
`<CSV>_candidates.csv`) into the committed one:

  python3 bench/gpu/merge_candidates.py docs/bench/w4a8_h100_candidates.csv \\
      NEW1_candidates.csv [NEW2_candidates.csv ...]

Every (GPU, N, K, group, max_m) key that a new list holds has all its rows
replaced by the new list's (the search timed them together); the other
keys' rows stay. The lists must share the header. Written to a temporary
file and renamed over the committed list; on any error nothing is written.
"""
import os
import sys


def read(path):
    try:
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line]
    except OSError as e:
        sys.exit(f"{path}: {e.strerror}")
    if not lines:
        sys.exit(f"{path}: empty")
    return lines[0], lines[1:]


def key(row, path, width):
    # "gpu",N,K,group,max_m,... (the GPU name has no comma), as many fields
    # as the header has.
    f = row.split(",")
    if len(f) != width:
        sys.exit(f"{path}: not a candidate row: {row}")
    return tuple(f[:5])


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: merge_candidates.py COMMITTED.csv NEW.csv...")
    header, rows = read(argv[1])
    width = len(header.split(","))
    new_rows = []
    for path in argv[2:]:
        h, r = read(path)
        if h != header:
            sys.exit(f"{path}: header differs from {argv[1]}'s")
        new_rows += [(key(x, path, width), x) for x in r]
    replaced = {k for k, _ in new_rows}
    kept = [x for x in rows if key(x, argv[1], width) not in replaced]
    out = [header] + kept + [x for _, x in new_rows]
    tmp = argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, argv[1])
    old_keys = {key(x, argv[1], width) for x in rows}
    print(f"{argv[1]}: {len(replaced)} keys re-searched "
          f"({len(replaced - old_keys)} new), {len(out) - 1} candidates")


if __name__ == "__main__":
    main(sys.argv)
