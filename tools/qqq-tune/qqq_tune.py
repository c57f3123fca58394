#!/usr/bin/env python3
"""qqq-tune's driver (tools/qqq-tune/qqq-tune.sh builds the harness and
runs it): searches the W4A8 kernel configurations one shape at a time, one
harness process per shape, and merges each shape's entries into the tuning
table as soon as they are found.

  qqq_tune.py --harness BIN --repo DIR [--shapes S,S] [--buckets B,B]
              [--group G] [--gpu NAME] [--candidates CANDS.csv] OUT.json CSV

Shapes are names of `BIN --list-shapes` or any NxK (output x input
features: the layers that qqq-select-kernels reports as untuned); the
default is every named shape and every M bucket. OUT.json is created, or
the new entries replace those of the same key in it (other entries stay;
a table of another GPU is refused); an existing table's entries are
passed to the harness (--configs under --tune), which times them beside
the candidates, keeps an entry unless a candidate beats it in the same
final rounds and records its time as incumbent_us. A shape's part (tuning entries, CSV
rows, the harness's log) is kept under OUT.json.parts/ until the run is
complete: an interrupted or failed run leaves the table holding every
finished shape, and running the same command again skips those shapes.
When every shape is done, the parts' CSV rows are joined into CSV and the
parts are removed. With --candidates, every candidate the search timed
(configuration, time, whether it was the default) is also kept, and the
parts' lists are joined into CANDS.csv: the data against which
bench/gpu/heuristic_loss.py --candidates scores a selection heuristic.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bench", "gpu"))
from join_runs import join  # noqa: E402
from merge_tuning import merge_into, write  # noqa: E402
from tuning_table import load  # noqa: E402
from tuning_to_configs import config_lines  # noqa: E402


def named_shapes(harness):
    out = subprocess.run([harness, "--list-shapes"], capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit(f"{harness} --list-shapes failed: {out.stderr.strip()}")
    return [line.split()[0] for line in out.stdout.splitlines() if line]


def part_name(shape, buckets, group):
    name = shape
    if buckets:
        name += "_b" + "-".join(buckets)
    if group is not None:
        name += f"_g{group}"
    return name


def merge_part(out, part_json):
    """Merges a shape's entries into the table (created empty, for the
    part's GPU, if it does not exist yet). Merging a part again changes
    nothing, so a resumed run merges the parts it skips too."""
    if not os.path.exists(out):
        part = load(part_json)
        write(out, {"format": part["format"], "gpu": part["gpu"],
                    "entries": []})
    merge_into(out, [part_json])


def join_candidates(out, paths):
    """Concatenates the parts' candidate lists (one header), through a
    temporary file renamed over out."""
    header, rows = None, []
    for path in paths:
        with open(path) as f:
            lines = f.read().splitlines()
        if not lines or (header is not None and lines[0] != header):
            sys.exit(f"{path}: not a candidate list like the others")
        header = lines[0]
        rows += [line for line in lines[1:] if line]
    with open(out + ".tmp", "w") as f:
        f.write("\n".join([header] + rows) + "\n")
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {len(rows)} candidates", flush=True)


def tune(args, shapes, buckets, parts_dir, incumbents):
    extra = []
    if incumbents:
        extra += ["--configs", incumbents]
    if buckets:
        extra += ["--bucket", ",".join(buckets)]
    if args.group is not None:
        extra += ["--group", str(args.group)]
    csvs, cands = [], []
    for i, shape in enumerate(shapes, start=1):
        base = os.path.join(parts_dir, part_name(shape, buckets, args.group))
        csvs.append(base + ".csv")
        outputs = [base + ".json", base + ".csv"]
        if args.candidates:
            cands.append(base + ".cands.csv")
            outputs.append(cands[-1])
        if all(os.path.exists(p) for p in outputs):
            print(f"[{i}/{len(shapes)}] {shape}: done in an earlier run",
                  flush=True)
            merge_part(args.out, base + ".json")
            continue
        print(f"[{i}/{len(shapes)}] {shape}: tuning...", flush=True)
        start = time.time()
        cmd = [args.harness, "--repo", args.repo, "--tune", "--shape", shape,
               *extra, "--tuning-out", base + ".json", "--csv",
               base + ".csv.tmp"]
        if args.candidates:
            cmd += ["--candidates-csv", base + ".cands.csv"]
        with open(base + ".log", "w") as log:
            rc = subprocess.run(cmd, stdout=log,
                                stderr=subprocess.STDOUT).returncode
        if rc != 0:
            with open(base + ".log") as log:
                tail = log.read().splitlines()[-5:]
            for suffix in (".json", ".csv.tmp", ".cands.csv"):
                if os.path.exists(base + suffix):
                    os.remove(base + suffix)
            sys.exit("\n".join(tail) + f"\n{shape}: the harness failed "
                     f"(exit {rc}; log {base}.log); {args.out} holds the "
                     "shapes before it; the same command resumes")
        os.replace(base + ".csv.tmp", base + ".csv")
        merge_part(args.out, base + ".json")
        print(f"[{i}/{len(shapes)}] {shape}: {time.time() - start:.0f} s",
              flush=True)
    return csvs, cands


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True, help="bench_w4a8 binary")
    ap.add_argument("--repo", required=True, help="repository root")
    ap.add_argument("--shapes", help="comma-separated names or NxK")
    ap.add_argument("--buckets", help="comma-separated M buckets (0 = M > 1024)")
    ap.add_argument("--group", type=int, choices=(0, 128),
                    help="one weight scheme only")
    ap.add_argument("--gpu", help="this GPU's name: an existing table of "
                    "another GPU is refused before any tuning")
    ap.add_argument("--candidates", help="also keep every timed candidate "
                    "in this CSV")
    ap.add_argument("out", help="tuning table (qqq-tuning-v1 JSON)")
    ap.add_argument("csv", help="benchmark rows of the tuned kernels")
    args = ap.parse_args()

    shapes = (args.shapes.split(",") if args.shapes
              else named_shapes(args.harness))
    if len(set(shapes)) != len(shapes) or not all(shapes):
        sys.exit(f"--shapes {args.shapes}: empty or repeated shape")
    buckets = args.buckets.split(",") if args.buckets else []
    parts_dir = args.out + ".parts"
    if os.path.exists(args.out):  # refused before any tuning
        table = load(args.out)
        if args.gpu and table["gpu"] != args.gpu:
            sys.exit(f"{args.out}: a table for '{table['gpu']}', this GPU is "
                     f"'{args.gpu}'")
    os.makedirs(parts_dir, exist_ok=True)
    # A re-search times the table's current entries beside the candidates
    # (the harness's --configs under --tune): an entry is replaced only by
    # one that is faster in the same final round, and the harness prints
    # the gain. Written once, so a resumed run compares against the table
    # as it was before the run.
    incumbents = None
    if os.path.exists(args.out):
        incumbents = os.path.join(parts_dir, "incumbents.txt")
        if not os.path.exists(incumbents):
            with open(incumbents + ".tmp", "w") as f:
                f.write("\n".join(config_lines(load(args.out))) + "\n")
            os.replace(incumbents + ".tmp", incumbents)

    try:
        csvs, cands = tune(args, shapes, buckets, parts_dir, incumbents)
    except KeyboardInterrupt:
        sys.exit(f"interrupted: {args.out} holds the shapes finished so far; "
                 "the same command resumes")
    join(args.csv, csvs)
    if args.candidates:
        join_candidates(args.candidates, cands)
    shutil.rmtree(parts_dir)


if __name__ == "__main__":
    main()
