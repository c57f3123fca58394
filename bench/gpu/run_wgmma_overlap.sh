#!/usr/bin/env bash
# wgmma s8 overlap microbenchmark (bench/gpu/wgmma_overlap.cu) on the GPU
# machine (--kstep: only the GEMM-step attribution); exit 77 when there is
# no GPU.
set -euo pipefail
source "$(dirname "$0")/../../test/gpu/gpu_env.sh"
"$CUDA/bin/nvcc" -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a \
  -I"$ROOT/kernels-templates" -I"$ROOT/bench/gpu" \
  "$ROOT/bench/gpu/wgmma_overlap.cu" \
  -o "$BUILD/wgmma_overlap"
exec "$BUILD/wgmma_overlap" "$@"
