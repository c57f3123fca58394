#!/usr/bin/env bash
# Two tuning tables side by side, the check of a re-search apart from the
# search that chose it: the harness times every entry of the 12 benchmark
# shapes with BASE's configurations, then VARIANT's twice, then BASE's
# again (ABBA: a drift of the GPU's state during the call cancels), each
# checked bit-exactly first, qqq only; then bench/gpu/compare_abba.py.
#   bash bench/gpu/run_ab.sh OUT_DIR BASE.json VARIANT.json [harness
#        arguments, e.g. --bucket 256,1024 --group 0]
# OUT_DIR gets base1/variant1/variant2/base2 .csv and .log. Exit 77 when
# there is no GPU; 1 when a run fails (its log names why).
set -uo pipefail
out="${1:?usage: run_ab.sh OUT_DIR BASE.json VARIANT.json [harness arguments]}"
base="${2:?usage: run_ab.sh OUT_DIR BASE.json VARIANT.json [harness arguments]}"
variant="${3:?usage: run_ab.sh OUT_DIR BASE.json VARIANT.json [harness arguments]}"
shift 3
source "$(dirname "$0")/build.sh"
mkdir -p "$out"
python3 "$ROOT/bench/gpu/tuning_to_configs.py" "$base" > "$out/base.txt" || exit 1
python3 "$ROOT/bench/gpu/tuning_to_configs.py" "$variant" > "$out/variant.txt" || exit 1
for run in base1 variant1 variant2 base2; do
  echo "== $run"
  if ! "$HARNESS" --repo "$ROOT" --qqq-only --configs "$out/${run%?}.txt" \
      "$@" --csv "$out/$run.csv" > "$out/$run.log" 2>&1; then
    tail -3 "$out/$run.log"
    echo "$run failed: $out/$run.log"
    exit 1
  fi
done
python3 "$ROOT/bench/gpu/compare_abba.py" "$out/base1.csv" \
  "$out/variant1.csv" "$out/variant2.csv" "$out/base2.csv"
