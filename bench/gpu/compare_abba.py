#!/usr/bin/env python3
"""Base against variant from four bench_w4a8 runs taken in ABBA order in
one device call (bench/gpu/run_ab.sh): per (shape, group, M) row in all
four, base time / variant time as the ratio of the geometric means of the
two runs of each (> 1: the variant is faster); per group and M its
geometric mean, and beside it the same-side ratios base1 / base2 and
variant1 / variant2 — the run-to-run noise of that comparison. Rows with
another configuration whose variant was slower in both pairs are listed
(a re-search's entries to set back).

python3 bench/gpu/compare_abba.py BASE1.csv VARIANT1.csv VARIANT2.csv BASE2.csv
"""
import math
import sys
from collections import defaultdict

from bench_csv import gmean, read_qqq_times


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    b1, v1, v2, b2 = (read_qqq_times(p) for p in argv[1:])
    common = sorted(k for k in b1 if k in v1 and k in v2 and k in b2)
    if not common:
        sys.exit(f"{argv[1]}: no (shape, group, M) row in all four runs")
    ratio, noise_b, noise_v = (defaultdict(list) for _ in range(3))
    everything, changed, slower = [], [], []
    for k in common:
        base = math.sqrt(b1[k][1] * b2[k][1])
        var = math.sqrt(v1[k][1] * v2[k][1])
        r = base / var
        ratio[k[1:]].append(r)
        noise_b[k[1:]].append(b1[k][1] / b2[k][1])
        noise_v[k[1:]].append(v1[k][1] / v2[k][1])
        everything.append(r)
        if b1[k][0] == v1[k][0]:
            continue
        changed.append(r)
        if v1[k][1] > b1[k][1] and v2[k][1] > b2[k][1]:
            slower.append((k, b1[k][0], v1[k][0], r))
    print("| group | M | rows | base / variant | base1 / base2 | variant1 / variant2 |")
    print("|---|---|---|---|---|---|")
    for g, m in sorted(ratio):
        print(f"| {g or 'ch'} | {m} | {len(ratio[(g, m)])} | "
              f"{gmean(ratio[(g, m)]):.3f} | {gmean(noise_b[(g, m)]):.3f} | "
              f"{gmean(noise_v[(g, m)]):.3f} |")
    print(f"\nall {len(everything)} rows: {gmean(everything):.3f}", end="")
    if changed:
        print(f"; {len(changed)} with another configuration: "
              f"{gmean(changed):.3f}", end="")
    print()
    for (shape, g, m), bc, vc, r in slower:
        print(f"variant slower in both pairs: {shape} {g or 'ch'} M={m} "
              f"{bc} -> {vc} ({r:.3f})")


if __name__ == "__main__":
    main(sys.argv)
