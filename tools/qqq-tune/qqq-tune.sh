#!/usr/bin/env bash
# qqq-tune: per-shape search of the W4A8 kernel configurations on this GPU.
# Every candidate (template knobs: tile_m, tile_n/warps, tile_k, stages,
# split_k, stream_k) is checked bit-exactly against the reference before it
# is timed; the fastest per (N, K, group, M bucket) goes to tuning/<gpu>.json
# (qqq-tuning-v1, include/qqq/CodeGen/KernelCatalog.h), which
# qqq-select-kernels reads. The same run benchmarks the chosen kernels.
#   bash tools/qqq-tune/qqq-tune.sh [OUT.json] [CSV]
set -uo pipefail
source "$(dirname "$0")/../../test/gpu/gpu_env.sh"
GPU="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '_')"
OUTJ="${1:-$ROOT/tuning/$GPU.json}"
CSV="${2:-$ROOT/build-gpu/bench_w4a8.csv}"
exec bash "$ROOT/bench/gpu/run.sh" --tune --tuning-out "$OUTJ" --csv "$CSV"
