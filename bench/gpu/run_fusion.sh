#!/usr/bin/env bash
# What qqq-fuse-projections buys on this GPU: every layer shape of the four
# models of bench/gpu/fusion.py (separate q, k, v, gate, up; fused q+k+v,
# gate+up; o, down), timed with the configurations qqq-select-kernels would
# give them (this GPU's tuning table, else the heuristic), each checked
# bit-exactly first, one harness process per shape (--qqq-only: no cuBLAS
# baselines), then the separate / fused table:
#   bash bench/gpu/run_fusion.sh OUT.csv [harness arguments, e.g. --group 0]
# Finished shapes are kept in OUT.csv.parts/ (temporary file, then rename):
# the same command again runs only the missing ones. Exit 77 without a GPU.
set -uo pipefail
out="${1:?usage: run_fusion.sh OUT.csv [harness arguments]}"
shift
source "$(dirname "$0")/build.sh"
GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
table="$ROOT/tuning/${GPU_NAME// /_}.json"
configs="$BUILD/fusion_configs.txt"
if [ -f "$table" ]; then
  python3 "$ROOT/bench/gpu/tuning_to_configs.py" "$table" > "$configs" || exit 1
  configs_arg=(--configs "$configs")
else
  echo "no tuning table for '$GPU_NAME': every shape takes the heuristic"
  configs_arg=()
fi
dir="$out.parts"
mkdir -p "$dir"
rc=0
csvs=()
for shape in $(python3 "$ROOT/bench/gpu/fusion.py" --shapes); do
  csv="$dir/$shape.csv"
  if [ -f "$csv" ]; then
    echo "== $shape: done in an earlier run"
  elif "$HARNESS" --repo "$ROOT" --qqq-only --max-m 1024 "${configs_arg[@]}" \
      --shape "$shape" "$@" --csv "$csv.tmp"; then
    mv "$csv.tmp" "$csv"
  else
    rm -f "$csv.tmp"
    echo "shape $shape failed"
    rc=1
    continue
  fi
  csvs+=("$csv")
done
if [ $rc -ne 0 ]; then
  echo "table not written: the same command runs the missing shapes"
  exit 1
fi
python3 "$ROOT/bench/gpu/join_runs.py" "$out" "${csvs[@]}" && rm -rf "$dir" &&
  python3 "$ROOT/bench/gpu/fusion.py" "$out" && python3 "$ROOT/bench/gpu/fusion.py" "$out" --pdl
