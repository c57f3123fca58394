#!/usr/bin/env bash
# GPU correctness tests of the qqq kernels (test/gpu/gpu_kernel_tests.cpp).
#   bash test/gpu/run.sh [--quick] [--sanitize-only] [extra args]
# Builds the harness with the host compiler against NVRTC and the CUDA driver
# API, runs every kernel against the reference, then a small case under
# compute-sanitizer memcheck and racecheck. Exit 77 (ctest: skipped) when
# there is no GPU.
set -uo pipefail
source "$(dirname "$0")/gpu_env.sh"
echo "== building $BUILD/gpu_kernel_tests"
"${CXX:-g++}" "${HOST_FLAGS[@]}" "$ROOT/test/gpu/gpu_kernel_tests.cpp" \
  "${HARNESS_SRCS[@]}" "${HARNESS_LIBS[@]}" -o "$BUILD/gpu_kernel_tests" || exit 1
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
