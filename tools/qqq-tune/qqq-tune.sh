#!/usr/bin/env bash
# qqq-tune: per-shape search of the W4A8 kernel configurations on this GPU.
# Every candidate (template knobs: tile_m, tile_n/warps, tile_k, stages,
# split_k, stream_k) is checked bit-exactly against the reference before it
# is timed; the fastest few, the default and the table's current entry are
# timed again under sustained load, and the fastest of those per (N, K,
# group, M bucket) goes to the tuning table
# (qqq-tuning-v1, include/qqq/CodeGen/KernelCatalog.h), which
# qqq-select-kernels reads. The same run benchmarks the chosen kernels.
#   bash tools/qqq-tune/qqq-tune.sh [--shapes S,S] [--buckets B,B] [--group G]
#                                   [OUT.json [CSV]]
# Shapes: names of `bench_w4a8 --list-shapes` or NxK (default: the named
# ones); OUT.json defaults to tuning/<gpu>.json, into which each shape's
# entries are merged as it finishes; every timed candidate goes to
# CSV's name + _candidates.csv (bench/gpu/heuristic_loss.py --candidates).
# An interrupted run resumes where it stopped (tools/qqq-tune/qqq_tune.py).
# Exit 77 when there is no GPU.
set -uo pipefail
source "$(dirname "$0")/../../bench/gpu/build.sh"
GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
opts=()
pos=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shapes | --buckets | --group)
      [ $# -ge 2 ] || { echo "qqq-tune: $1 needs a value" >&2; exit 2; }
      opts+=("$1" "$2")
      shift 2 ;;
    *) pos+=("$1"); shift ;;
  esac
done
[ ${#pos[@]} -le 2 ] || { echo "qqq-tune: unexpected argument '${pos[2]}'" >&2; exit 2; }
OUTJ="${pos[0]:-$ROOT/tuning/${GPU_NAME// /_}.json}"
CSV="${pos[1]:-$BUILD/bench_w4a8.csv}"
exec python3 "$ROOT/tools/qqq-tune/qqq_tune.py" --harness "$HARNESS" \
  --repo "$ROOT" --gpu "$GPU_NAME" --candidates "${CSV%.csv}_candidates.csv" \
  "${opts[@]}" "$OUTJ" "$CSV"
