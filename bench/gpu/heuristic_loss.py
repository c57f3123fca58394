#!/usr/bin/env python3
"""What the default heuristic loses against the fastest configuration the
tuner found: per weight scheme and M bucket, the geometric mean and the
worst of default time / fastest time.

  python3 bench/gpu/heuristic_loss.py TABLE.json
  python3 bench/gpu/heuristic_loss.py --candidates CANDIDATES.csv

From a tuning table: default_us / time_us over the entries that carry the
default's time (qqq-tune records it since the twelfth session). From the
candidate list qqq-tune writes (<CSV>_candidates.csv): the candidate
flagged default over the fastest correct one, per (N, K, group, bucket) —
also where the table was not written. Either way the default is the
search's first candidate, timed in the same run: the heuristic of the
commit the tuner ran, so older data scores an older heuristic. The
current one is scored against the committed H100 candidates by the unit
test DefaultConfig.LossAgainstTheH100TunersMeasuredCandidates.
"""
import math
import sys
from collections import defaultdict

from bench_csv import gmean, read_rows
from tuning_table import load


def from_table(path):
    table = load(path)
    ratios = defaultdict(list)
    for e in table["entries"]:
        if e.get("default_us") and e.get("time_us"):
            name = f"{e['n']}x{e['k']}"
            ratios[(e["group"], e["max_m"])].append(
                (e["default_us"] / e["time_us"], name))
    if not ratios:
        sys.exit(f"{path}: no entry records default_us (tuned before "
                 "qqq-tune recorded the default's time)")
    return table["gpu"], ratios


def from_candidates(path):
    best, default, gpus = {}, {}, set()
    rows = read_rows(
        path,
        lambda r: ((int(r["N"]), int(r["K"]), int(r["group"]), int(r["max_m"])),
                   r["status"] == "ok", float(r["us"]), r["default"] == "1",
                   r["gpu"]),
        "a qqq-tune candidate row")
    for key, ok, us, is_default, gpu in rows:
        gpus.add(gpu)
        if not ok:
            continue
        best[key] = min(best.get(key, math.inf), us)
        if is_default:
            default[key] = us
    if len(gpus) != 1:
        sys.exit(f"{path}: candidates of {len(gpus)} GPUs, expected one")
    ratios = defaultdict(list)
    for key, us in default.items():
        ratios[(key[2], key[3])].append((us / best[key], f"{key[0]}x{key[1]}"))
    if not ratios:
        sys.exit(f"{path}: no timed default candidate")
    return gpus.pop(), ratios


def ratio_gmean(ratios):
    return gmean(r for r, _ in ratios)


def main(argv):
    if len(argv) == 3 and argv[1] == "--candidates":
        gpu, ratios = from_candidates(argv[2])
        what = "fastest candidate"
    elif len(argv) == 2:
        gpu, ratios = from_table(argv[1])
        what = "tuned time"
    else:
        sys.exit("usage: heuristic_loss.py TABLE.json | --candidates CSV")
    print(f"{gpu}: default heuristic time / {what}\n")
    print("| group | M bucket | entries | gmean | worst |")
    print("|---|---|---|---|---|")
    everything = []
    for (g, b) in sorted(ratios, key=lambda k: (k[0], k[1] or 1 << 30)):
        v = ratios[(g, b)]
        everything += v
        worst, shape = max(v)
        print(f"| {g or 'ch'} | {b or '∞'} | {len(v)} | {ratio_gmean(v):.3f} | "
              f"{worst:.3f} ({shape}) |")
    print(f"\nall {len(everything)}: gmean {ratio_gmean(everything):.3f}")


if __name__ == "__main__":
    main(sys.argv)
