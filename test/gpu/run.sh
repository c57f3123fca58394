#!/usr/bin/env bash
# GPU correctness tests of the qqq kernels (test/gpu/gpu_kernel_tests.cpp).
#   bash test/gpu/run.sh [--quick] [--sanitize-only] [extra args]
# Builds the harness with the host compiler against NVRTC and the CUDA driver
# API, runs every kernel against the reference, then a small case under
# compute-sanitizer memcheck and racecheck. Exit 77 (ctest: skipped) when
# there is no GPU.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CUDA="${CUDA_HOME:-/usr/local/cuda}"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "skipped: no GPU (nvidia-smi finds no device)"
  exit 77
fi
if [ ! -f "$CUDA/include/nvrtc.h" ]; then
  echo "skipped: no CUDA toolkit at $CUDA (set CUDA_HOME)"
  exit 77
fi
BUILD="${QQQ_GPU_BUILD:-$ROOT/build-gpu}"
mkdir -p "$BUILD"
CXX="${CXX:-g++}"
SRCS=("$ROOT/test/gpu/gpu_harness.cpp" "$ROOT/lib/CodeGen/KernelCatalog.cpp"
      "$ROOT/lib/Numerics/KernelLayouts.cpp" "$ROOT/lib/Numerics/Packing.cpp"
      "$ROOT/lib/Numerics/Half.cpp")
FLAGS=(-O2 -std=c++17 -ffp-contract=off -I"$ROOT/include" -I"$CUDA/include")
LIBS=(-L"$CUDA/lib64" -L"$CUDA/lib64/stubs" -lnvrtc -lcuda -lpthread)
echo "== building $BUILD/gpu_kernel_tests"
"$CXX" "${FLAGS[@]}" "$ROOT/test/gpu/gpu_kernel_tests.cpp" "${SRCS[@]}" \
  "${LIBS[@]}" -o "$BUILD/gpu_kernel_tests" || exit 1
export LD_LIBRARY_PATH="$CUDA/lib64:${LD_LIBRARY_PATH:-}"
rc=0
if [ "${1:-}" != "--sanitize-only" ]; then
  "$BUILD/gpu_kernel_tests" --repo "$ROOT" "$@" || rc=1
fi
SAN="$CUDA/bin/compute-sanitizer"
command -v compute-sanitizer >/dev/null 2>&1 && SAN=compute-sanitizer
if [ -x "$SAN" ] || command -v "$SAN" >/dev/null 2>&1; then
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer --tool $tool (small case)"
    "$SAN" --tool "$tool" --error-exitcode 3 \
      "$BUILD/gpu_kernel_tests" --repo "$ROOT" --sanitize || rc=1
  done
else
  echo "compute-sanitizer not found: sanitizer runs skipped"
fi
exit $rc
