#!/usr/bin/env python3
"""Markdown summary of a bench_w4a8 CSV: per group size and M, geometric
means over shapes of floor/qqq and of qqq's speed-up over each baseline.
python3 bench/gpu/table.py CSV"""
import csv
import math
import sys
from collections import defaultdict


def gmean(v):
    v = [x for x in v if x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


rows = list(csv.DictReader(open(sys.argv[1])))
acc = defaultdict(lambda: defaultdict(list))
for r in rows:
    k = (int(r["group"]), int(r["M"]))
    for c in ("qqq_us", "floor_over_qqq", "qqq_vs_f16", "qqq_vs_int8", "qqq_vs_fp8"):
        acc[k][c].append(float(r[c]))
print(f"GPU: {rows[0]['gpu']}, {len({r['shape'] for r in rows})} shapes\n")
print("| group | M | floor / qqq | vs cuBLAS FP16 | vs cuBLASLt INT8 | vs cuBLASLt FP8 |")
print("|---|---|---|---|---|---|")
for (g, m) in sorted(acc):
    a = acc[(g, m)]
    print(f"| {g or 'ch'} | {m} | {gmean(a['floor_over_qqq']):.2f} | "
          f"{gmean(a['qqq_vs_f16']):.2f} | {gmean(a['qqq_vs_int8']):.2f} | "
          f"{gmean(a['qqq_vs_fp8']):.2f} |")
# group-128 vs per-channel time
print("\n| M | group-128 time / per-channel time (gmean) |\n|---|---|")
by = defaultdict(dict)
for r in rows:
    by[(r["shape"], int(r["M"]))][int(r["group"])] = float(r["qqq_us"])
ms = sorted({m for (_, m) in by})
for m in ms:
    v = [d[128] / d[0] for (s, mm), d in by.items() if mm == m and 0 in d and 128 in d]
    print(f"| {m} | {gmean(v):.2f} |")
