#!/usr/bin/env python3
"""Joins bench_w4a8 CSVs of runs that each measured other rows (one run per
M bucket, as bench/gpu/run_table.sh takes them: one process per part, so a
part stays within a device call's time limit) into one table:

  python3 bench/gpu/join_runs.py OUT.csv PART.csv [PART.csv ...]

Every row keeps its own run's ratios (qqq and cuBLAS timed in the same
process). The parts must share the header and the GPU, and no (shape,
group, M) may come twice. Rows are written shape by shape (in the order
the shapes first appear), then by group and M; the lines are copied as
the harness wrote them. On any error nothing is written; the table goes to
a temporary file that is renamed over OUT.
"""
import csv
import os
import sys


def read_part(path):
    try:
        with open(path, newline="") as f:
            lines = f.read().splitlines()
    except OSError as e:
        sys.exit(f"{path}: {e.strerror}")
    if not lines:
        sys.exit(f"{path}: empty file")
    header = lines[0]
    names = next(csv.reader([header]))
    rows = []
    for i, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        r = dict(zip(names, next(csv.reader([line]))))
        try:
            key = (r["shape"], int(r["group"]), int(r["M"]))
            gpu = r["gpu"]
        except (KeyError, ValueError):
            sys.exit(f"{path}:{i}: not a bench_w4a8 row "
                     "(needs gpu, shape, group, M)")
        rows.append((key, gpu, line, i))
    return header, rows


def join(out, part_paths):
    """Writes the joined table to out (see above); exits naming the file
    and line on any error, before anything is written."""
    header = gpu = None
    seen = {}
    shapes = []
    for path in part_paths:
        h, rows = read_part(path)
        if header is None:
            header, first = h, path
        elif h != header:
            sys.exit(f"{path}: header differs from {first}'s")
        for key, g, line, i in rows:
            if gpu is None:
                gpu = g
            elif g != gpu:
                sys.exit(f"{path}:{i}: measured on '{g}', {first} on '{gpu}'")
            if key in seen:
                prev, prev_i, _ = seen[key]
                sys.exit(f"{path}:{i}: {key[0]} group {key[1]} M {key[2]} "
                         f"is also {prev}:{prev_i}")
            seen[key] = (path, i, line)
            if key[0] not in shapes:
                shapes.append(key[0])
    order = sorted(seen, key=lambda k: (shapes.index(k[0]), k[1], k[2]))
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(header + "\n")
        for k in order:
            f.write(seen[k][2] + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}: {len(order)} rows of {len(shapes)} shapes "
          f"from {len(part_paths)} runs on {gpu}")


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: join_runs.py OUT.csv PART.csv [PART.csv ...]")
    join(argv[1], argv[2:])


if __name__ == "__main__":
    main(sys.argv)
