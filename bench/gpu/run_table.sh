#!/usr/bin/env bash
# The benchmark table in parts, one harness process each (M = 1 and 16, then
# one M bucket from 32 to 4096), joined by bench/gpu/join_runs.py: a part
# takes 1.5-3 minutes on an H100, so each fits a time-limited call.
#   bash bench/gpu/run_table.sh OUT.csv [harness arguments, e.g. --configs F]
#   QQQ_TABLE_PARTS="--bucket 256;--bucket 0" ... takes only those parts.
# Each finished part is kept in OUT.csv.parts/ (written to a temporary file,
# then renamed): the same command again, after an interruption, a time
# limit or a failed part, runs only the parts still missing. When every
# part is there they are joined into OUT.csv and the folder is removed.
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
  name="$(printf '%s' "$p" | sed 's/^-*//; s/[^A-Za-z0-9]\{1,\}/_/g')"
  csv="$dir/$name.csv"
  head="== part $((i + 1)) of ${#parts[@]}: $p"
  if [ -f "$csv" ]; then
    echo "$head: done in an earlier run ($csv)"
    csvs+=("$csv")
    continue
  fi
  echo "$head"
  # shellcheck disable=SC2086 # a part is several words
  if "$HARNESS" --repo "$ROOT" "$@" $p --csv "$csv.tmp"; then
    mv "$csv.tmp" "$csv"
    csvs+=("$csv")
  else
    rm -f "$csv.tmp"
    echo "part '$p' failed"
    rc=1
  fi
done
if [ $rc -ne 0 ]; then
  echo "table not written: the same command runs the missing parts"
  exit 1
fi
python3 "$ROOT/bench/gpu/join_runs.py" "$out" "${csvs[@]}" && rm -rf "$dir"
