#!/usr/bin/env bash
# Writes the two bundles CompiledBundleGpuTest (QQQRuntimeTests) loads: one
# random small LLaMA (qqq.models --config small-gpu), calibrated on a
# synthetic text, compiled by qqq-compile (GPTQ, group 64) for sm_90a with
# and without qqq-fuse-projections. Runs where qqq-compile is built (no GPU
# needed); the GPU machine then runs
#   QQQ_TEST_BUNDLE=OUT/fused/bundle QQQ_TEST_BUNDLE_UNFUSED=OUT/unfused/bundle \
#     build-gpu/test/unittests/Runtime/QQQRuntimeTests --gtest_filter='Compiled*'
# Usage: bash test/gpu/make_compiled_bundles.sh OUT [BUILD_DIR]
set -euo pipefail
out="${1:?usage: make_compiled_bundles.sh OUT [BUILD_DIR]}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${2:-$root/build}" && pwd)"
mkdir -p "$out"
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
python3 -m qqq.models --random --config small-gpu --seed 5 -o "$out/model.onnx"
python3 -c "print(' '.join('compiled bundle calibration line %d.' % i for i in range(300)))" \
  > "$out/calib.txt"
python3 -m qqq.calibrate "$out/model.onnx" --text "$out/calib.txt" --samples 4 \
  --seq-len 64 --rows 128 -o "$out/stats.safetensors" --quiet
for fuse in true false; do
  name=$([ "$fuse" = true ] && echo fused || echo unfused)
  "$build/bin/qqq-compile" "$out/model.onnx" --calibration "$out/stats.safetensors" \
    --group-size 64 --fuse-projections="$fuse" --bundle sm_90a -o "$out/$name"
done
echo "bundles: $out/fused/bundle $out/unfused/bundle"
