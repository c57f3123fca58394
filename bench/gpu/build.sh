# build.sh - sourced by the benchmark runners (bench/gpu/run.sh,
# bench/gpu/run_table.sh): test/gpu/gpu_env.sh (exit 77 without a GPU),
# then the harness built as $BUILD/bench_w4a8.
source "$(dirname "${BASH_SOURCE[0]}")/../../test/gpu/gpu_env.sh"
"${CXX:-g++}" "${HOST_FLAGS[@]}" "$ROOT/bench/gpu/bench_w4a8.cpp" \
  "${HARNESS_SRCS[@]}" "${HARNESS_LIBS[@]}" -lcublas -lcublasLt \
  -o "$BUILD/bench_w4a8" || exit 1
