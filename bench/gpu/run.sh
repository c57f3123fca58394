#!/usr/bin/env bash
# Benchmark of the qqq W4A8 kernels against cuBLAS FP16 / cuBLASLt INT8 / FP8
# on the GPU machine (bench/gpu/bench_w4a8.cpp).
#   bash bench/gpu/run.sh [--tune --tuning-out tuning/<gpu>.json] [--csv F]
# Exit 77 when there is no GPU. The whole table in parts: run_table.sh.
set -uo pipefail
source "$(dirname "$0")/build.sh"
exec "$HARNESS" --repo "$ROOT" "$@"
