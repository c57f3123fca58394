#!/usr/bin/env bash
# wgmma s8 overlap microbenchmark (bench/gpu/wgmma_overlap.cu) on the GPU
# machine; exit 77 when there is no GPU.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CUDA="${CUDA_HOME:-/usr/local/cuda}"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "skipped: no GPU"
  exit 77
fi
BUILD="${QQQ_GPU_BUILD:-$ROOT/build-gpu}"
mkdir -p "$BUILD"
"$CUDA/bin/nvcc" -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a \
  -I"$ROOT/kernels-templates" -I"$ROOT/bench/gpu" \
  "$ROOT/bench/gpu/wgmma_overlap.cu" \
  -o "$BUILD/wgmma_overlap"
exec "$BUILD/wgmma_overlap"
