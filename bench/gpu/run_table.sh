#!/usr/bin/env bash
# The benchmark table in parts, one harness process each (M = 1 and 16, then
# one M bucket from 32 to 4096), joined by bench/gpu/join_runs.py: a part
# takes 1.5-3 minutes on an H100, so each fits a time-limited call, and an
# interrupted run leaves the finished parts.
#   bash bench/gpu/run_table.sh OUT.csv [harness arguments, e.g. --configs F]
#   QQQ_TABLE_PARTS="--bucket 256;--bucket 0" ... runs only those parts.
# Parts go to OUT.parts/; the table is written only when every part ran.
# Exit 77 when there is no GPU.
set -uo pipefail
out="${1:?usage: run_table.sh OUT.csv [harness arguments]}"
shift
source "$(dirname "$0")/build.sh"
IFS=';' read -ra parts <<< "${QQQ_TABLE_PARTS:---max-m 16;--bucket 32;--bucket 64;--bucket 128;--bucket 256;--bucket 512;--bucket 1024;--bucket 0}"
dir="$out.parts"
mkdir -p "$dir"
rc=0
csvs=()
for i in "${!parts[@]}"; do
  p="${parts[$i]}"
  echo "== part $((i + 1)) of ${#parts[@]}: $p"
  csv="$dir/part$i.csv"
  # shellcheck disable=SC2086 # a part is several words
  if "$BUILD/bench_w4a8" --repo "$ROOT" "$@" $p --csv "$csv"; then
    csvs+=("$csv")
  else
    echo "part '$p' failed"
    rc=1
  fi
done
[ $rc -eq 0 ] || { echo "table not written: a part failed"; exit 1; }
python3 "$ROOT/bench/gpu/join_runs.py" "$out" "${csvs[@]}"
