#!/usr/bin/env python3
"""What the default heuristic loses against the tuned configurations of a
tuning table: per weight scheme and M bucket, the geometric mean and the
worst of default_us / time_us over the entries that carry the default's
time (qqq-tune records it since the twelfth session; the default is the
search's first candidate, timed in the same run — the heuristic of the
commit the tuner ran, so an older table scores an older heuristic; the
current one is scored against every timed candidate by the unit test
DefaultConfig.LossAgainstTheH100TunersMeasuredCandidates).

  python3 bench/gpu/heuristic_loss.py tuning/<gpu>.json
"""
import math
import sys
from collections import defaultdict

from tuning_table import load


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: heuristic_loss.py TABLE.json")
    table = load(argv[1])
    ratios = defaultdict(list)
    for e in table["entries"]:
        if e.get("default_us") and e.get("time_us"):
            name = f"{e['n']}x{e['k']}"
            ratios[(e["group"], e["max_m"])].append(
                (e["default_us"] / e["time_us"], name))
    if not ratios:
        sys.exit(f"{argv[1]}: no entry records default_us (tuned before "
                 "qqq-tune recorded the default's time)")
    print(f"{table['gpu']}: default heuristic time / tuned time\n")
    print("| group | M bucket | entries | gmean | worst |")
    print("|---|---|---|---|---|")
    for (g, b) in sorted(ratios, key=lambda k: (k[0], k[1] or 1 << 30)):
        v = ratios[(g, b)]
        gm = math.exp(sum(math.log(r) for r, _ in v) / len(v))
        worst, shape = max(v)
        print(f"| {g or 'ch'} | {b or '∞'} | {len(v)} | {gm:.3f} | "
              f"{worst:.3f} ({shape}) |")


if __name__ == "__main__":
    main(sys.argv)
