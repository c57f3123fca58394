#!/usr/bin/env bash
# Launch cost of a compile-time cluster shape (bench/gpu/cluster_launch.cu)
# on the GPU machine; exit 77 when there is no GPU.
set -euo pipefail
source "$(dirname "$0")/../../test/gpu/gpu_env.sh"
"$CUDA/bin/nvcc" -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a \
  "$ROOT/bench/gpu/cluster_launch.cu" -o "$BUILD/cluster_launch"
exec "$BUILD/cluster_launch"
