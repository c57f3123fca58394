#!/usr/bin/env python3
"""Plots bench_w4a8 CSV: time relative to the weight-streaming floor and
speed-up over cuBLAS FP16 / cuBLASLt INT8 / FP8, geometric mean over shapes,
per M, per channel and group 128.  python3 bench/gpu/plot.py CSV PNG"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def gmean(v):
    v = [x for x in v if x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    gpu = rows[0]["gpu"]
    series = defaultdict(lambda: defaultdict(list))
    for r in rows:
        g = int(r["group"])
        m = int(r["M"])
        for key in ("floor_over_qqq", "qqq_vs_f16", "qqq_vs_int8", "qqq_vs_fp8"):
            series[(g, key)][m].append(float(r[key]))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    labels = {"floor_over_qqq": "floor / qqq time",
              "qqq_vs_f16": "speed-up vs cuBLAS FP16",
              "qqq_vs_int8": "speed-up vs cuBLASLt INT8",
              "qqq_vs_fp8": "speed-up vs cuBLASLt FP8"}
    for ax, g in zip(axes, (0, 128)):
        for key, label in labels.items():
            ms = sorted(series[(g, key)])
            ax.plot(ms, [gmean(series[(g, key)][m]) for m in ms], marker="o",
                    label=label)
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("M (tokens)")
        ax.set_title(f"{'per channel' if g == 0 else 'group 128'}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ratio (geometric mean over shapes)")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"qqq W4A8 GEMM on {gpu}")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
