#!/usr/bin/env bash
# Benchmark of the qqq W4A8 kernels against cuBLAS FP16 / cuBLASLt INT8 / FP8
# on the GPU machine (bench/gpu/bench_w4a8.cpp).
#   bash bench/gpu/run.sh [--tune --tuning-out tuning/<gpu>.json] [--csv F]
# Exit 77 when there is no GPU.
set -uo pipefail
source "$(dirname "$0")/../../test/gpu/gpu_env.sh"
"${CXX:-g++}" "${HOST_FLAGS[@]}" "$ROOT/bench/gpu/bench_w4a8.cpp" \
  "${HARNESS_SRCS[@]}" "${HARNESS_LIBS[@]}" -lcublas -lcublasLt \
  -o "$BUILD/bench_w4a8" || exit 1
exec "$BUILD/bench_w4a8" --repo "$ROOT" "$@"
