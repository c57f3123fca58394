#!/usr/bin/env bash
# Benchmark of the qqq W4A8 kernels against cuBLAS FP16 / cuBLASLt INT8 / FP8
# on the GPU machine (bench/gpu/bench_w4a8.cpp).
#   bash bench/gpu/run.sh [--tune --tuning-out tuning/<gpu>.json] [--csv F]
# Exit 77 when there is no GPU.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CUDA="${CUDA_HOME:-/usr/local/cuda}"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "skipped: no GPU"
  exit 77
fi
BUILD="${QQQ_GPU_BUILD:-$ROOT/build-gpu}"
mkdir -p "$BUILD"
"${CXX:-g++}" -O2 -std=c++17 -ffp-contract=off -I"$ROOT/include" -I"$CUDA/include" \
  "$ROOT/bench/gpu/bench_w4a8.cpp" "$ROOT/test/gpu/gpu_harness.cpp" \
  "$ROOT/lib/CodeGen/KernelCatalog.cpp" "$ROOT/lib/Numerics/KernelLayouts.cpp" \
  "$ROOT/lib/Numerics/Packing.cpp" "$ROOT/lib/Numerics/Half.cpp" \
  -L"$CUDA/lib64" -L"$CUDA/lib64/stubs" -lnvrtc -lcuda -lcublas -lcublasLt -lpthread \
  -o "$BUILD/bench_w4a8" || exit 1
export LD_LIBRARY_PATH="$CUDA/lib64:${LD_LIBRARY_PATH:-}"
exec "$BUILD/bench_w4a8" --repo "$ROOT" "$@"
