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
    if r.get("read_us"):  # runs before the bandwidth probe lack it
        acc[k]["read"].append(float(r["read_us"]) / float(r["qqq_us"]))
        acc[k]["read_floor"].append(float(r["floor_us"]) / float(r["read_us"]))
    if r.get("qqq_stream_us"):  # host-launched, no graph
        acc[k]["stream_floor"].append(float(r["floor_us"]) / float(r["qqq_stream_us"]))
    step = float(r.get("step_us") or "nan")  # decode-step pairs, M <= 64
    if math.isfinite(step):
        acc[k]["step_ratio"].append(step / float(r["qqq_us"]))
        acc[k]["step_gain"].append(step / float(r["step_pdl_us"]))
    if r.get("qqq_pdl_us"):  # runs before programmatic launch lack it
        acc[k]["pdl_floor"].append(float(r["pdl_floor_over_qqq"]))
        acc[k]["pdl_fp8"].append(float(r["lt_fp8_us"]) / float(r["qqq_pdl_us"]))
        acc[k]["pdl_gain"].append(float(r["qqq_us"]) / float(r["qqq_pdl_us"]))
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
# programmatic dependent launch (back-to-back GEMMs overlap)
if any(acc[k]["pdl_floor"] for k in acc):
    print("\n| group | M | with PDL: floor / qqq | vs cuBLASLt FP8 | speed-up from PDL |")
    print("|---|---|---|---|---|")
    for (g, m) in sorted(acc):
        a = acc[(g, m)]
        print(f"| {g or 'ch'} | {m} | {gmean(a['pdl_floor']):.2f} | "
              f"{gmean(a['pdl_fp8']):.2f} | {gmean(a['pdl_gain']):.2f} |")
# decode step: RMSNorm -> int8, then the GEMM (graph, back to back)
if any(acc[k]["step_ratio"] for k in acc):
    print("\n| group | M | step (RMSNorm + GEMM) / GEMM alone | speed-up from PDL on the step |")
    print("|---|---|---|---|")
    for (g, m) in sorted(acc):
        a = acc[(g, m)]
        if a["step_ratio"]:
            print(f"| {g or 'ch'} | {m} | {gmean(a['step_ratio']):.2f} | {gmean(a['step_gain']):.2f} |")
# the bandwidth probe: one launch that only reads the packed weights
if any(acc[k]["read"] for k in acc):
    print("\n| group | M | probe / qqq (pure weight read over qqq time) | floor / probe "
          "| floor / qqq launched from the host (no graph) |")
    print("|---|---|---|---|---|")
    for (g, m) in sorted(acc):
        a = acc[(g, m)]
        if m <= 128:
            print(f"| {g or 'ch'} | {m} | {gmean(a['read']):.2f} | {gmean(a['read_floor']):.2f} "
                  f"| {gmean(a['stream_floor']):.2f} |")
# the weights are read once: time at M over the same shape's M = 1 time
# (issue 7: at most 1.25 for M = 32-128)
if any(m == 1 for (_, m) in by):
    print("\n| group | M | time / M = 1 time (gmean) | worst shape |")
    print("|---|---|---|---|")
    for g in sorted({g for d in by.values() for g in d}):
        for m in ms:
            if m == 1 or m > 256:
                continue
            v = [(d[g] / by[(s, 1)][g], s) for (s, mm), d in by.items()
                 if mm == m and g in d and g in by.get((s, 1), {})]
            if v:
                worst, shape = max(v)
                print(f"| {g or 'ch'} | {m} | {gmean([r for r, _ in v]):.2f} "
                      f"| {worst:.2f} ({shape}) |")
