#!/usr/bin/env python3
"""Side-by-side comparison of bench_w4a8 CSVs taken in one device call
(e.g. `--repo OLD` and `--repo NEW` with the same `--configs`): for every
(shape, group, M) row present in BASE and in a variant, BASE time / variant
time (> 1: the variant is faster), then the geometric mean per group and M.

python3 bench/gpu/compare.py BASE.csv VARIANT.csv [VARIANT2.csv ...]
"""
import sys
from collections import defaultdict

from bench_csv import gmean, read_qqq_times


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    base = read_qqq_times(argv[1])
    variants = [(p, read_qqq_times(p)) for p in argv[2:]]
    for path, var in variants:
        common = sorted(k for k in base if k in var)
        if not common:
            sys.exit(f"{path}: no (shape, group, M) row in common with {argv[1]}")
        print(f"## {argv[1]} / {path}\n")
        print("| shape | group | M | base config | variant config | base us | variant us | base / variant |")
        print("|---|---|---|---|---|---|---|---|")
        ratios = defaultdict(list)
        for k in common:
            (bc, bt), (vc, vt) = base[k], var[k]
            ratios[(k[1], k[2])].append(bt / vt)
            print(f"| {k[0]} | {k[1] or 'ch'} | {k[2]} | {bc} | {vc} | "
                  f"{bt:.2f} | {vt:.2f} | {bt / vt:.3f} |")
        print("\n| group | M | rows | gmean base / variant |")
        print("|---|---|---|---|")
        for (g, m), r in sorted(ratios.items()):
            print(f"| {g or 'ch'} | {m} | {len(r)} | {gmean(r):.3f} |")
        print()


if __name__ == "__main__":
    main(sys.argv)
