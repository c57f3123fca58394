#!/usr/bin/env python3
"""What qqq-fuse-projections buys, from one bench_w4a8 run over the layer
shapes of four models (bench/gpu/run_fusion.sh): per model and M, the time
of q, k and v as separate GEMMs over the time of the fused q+k+v GEMM, the
same for gate and up, and for the whole decoder layer's GEMMs (q/k/v,
o, gate/up, down) as qqq emitted them before and as it emits them now.
Every time is the harness's median for the configuration the tuning table
(or the heuristic) gives that shape, timed in the same run; > 1: fusing is
faster. `--pdl` uses the times with programmatic launch (each kernel's
launch overlaps the previous one's tail) instead of plain stream order.

  python3 bench/gpu/fusion.py RUN.csv [--pdl] [--shapes]

`--shapes` prints the N x K list the run needs, one per line.
"""
import sys
from collections import defaultdict

from bench_csv import gmean, read_rows

# name: (hidden, q out, k/v out, intermediate), as qqq sees the layers.
MODELS = {
    "LLaMA-2-7B": (4096, 4096, 4096, 11008),
    "LLaMA-2-70B": (8192, 8192, 1024, 28672),
    "Qwen2-7B": (3584, 3584, 512, 18944),
    "LLaMA-3-8B": (4096, 4096, 1024, 14336),
}


def layer_gemms(hidden, q, kv, inter):
    """(separate (N, K) list, fused (N, K)) per fused group; then the rest."""
    groups = {
        "qkv": ([(q, hidden), (kv, hidden), (kv, hidden)], (q + 2 * kv, hidden)),
        "gate_up": ([(inter, hidden)] * 2, (2 * inter, hidden)),
    }
    rest = [(hidden, q), (hidden, inter)]  # o, down
    return groups, rest


def needed_shapes():
    out = []
    for dims in MODELS.values():
        groups, rest = layer_gemms(*dims)
        for sep, fused in groups.values():
            out += sep + [fused]
        out += rest
    return list(dict.fromkeys(out))


def load(path, column):
    return dict(read_rows(
        path,
        lambda r: ((int(r["N"]), int(r["K"]), int(r["group"]), int(r["M"])),
                   float(r[column])),
        f"a bench_w4a8 row (needs N, K, group, M, {column})"))


def main(argv):
    args = argv[1:]
    if "--shapes" in args:
        for n, k in needed_shapes():
            print(f"{n}x{k}")
        return
    pdl = "--pdl" in args
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 1:
        sys.exit(__doc__.strip().splitlines()[-3].strip())
    times = load(paths[0], "qqq_pdl_us" if pdl else "qqq_us")
    groups_ms = sorted({(g, m) for (_, _, g, m) in times})
    print(f"## separate / fused GEMM time ({'programmatic launch' if pdl else 'plain stream order'})\n")
    print("| model | group | M | q,k,v us | q+k+v us | qkv ratio | gate,up us | gate+up us "
          "| gate_up ratio | layer ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = defaultdict(lambda: defaultdict(list))
    for name, dims in MODELS.items():
        groups, rest = layer_gemms(*dims)
        for g, m in groups_ms:
            t = lambda nk: times.get((nk[0], nk[1], g, m))  # noqa: E731
            needed = [s for sep, f in groups.values() for s in sep + [f]] + rest
            missing = [s for s in needed if t(s) is None]
            if missing:
                sys.exit(f"{paths[0]}: no row for {missing[0][0]}x{missing[0][1]}, "
                         f"group {g}, M {m} (run: fusion.py --shapes)")
            cells, before, after = [], sum(t(s) for s in rest), sum(t(s) for s in rest)
            for key, (sep, fused) in groups.items():
                ts, tf = sum(t(s) for s in sep), t(fused)
                before += ts
                after += tf
                cells += [f"{ts:.2f}", f"{tf:.2f}", f"{ts / tf:.3f}"]
                summary[key][(g, m)].append(ts / tf)
            summary["layer"][(g, m)].append(before / after)
            print(f"| {name} | {g or 'ch'} | {m} | " + " | ".join(cells) +
                  f" | {before / after:.3f} |")
    print("\n| group | M | qkv gmean | gate_up gmean | layer gmean |")
    print("|---|---|---|---|---|")
    for g, m in groups_ms:
        print(f"| {g or 'ch'} | {m} | " + " | ".join(
            f"{gmean(summary[k][(g, m)]):.3f}" for k in ("qkv", "gate_up", "layer")) + " |")


if __name__ == "__main__":
    main(sys.argv)
