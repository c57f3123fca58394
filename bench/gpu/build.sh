# build.sh - sourced by the benchmark runners (bench/gpu/run.sh,
# bench/gpu/run_table.sh, tools/qqq-tune/qqq-tune.sh): test/gpu/gpu_env.sh
# (exit 77 without a GPU), then the harness built as $BUILD/bench_w4a8.
# HARNESS is the binary to run: QQQ_BENCH_HARNESS names a prebuilt one
# instead (or a stand-in, in the runners' tests), and nothing is built.
source "$(dirname "${BASH_SOURCE[0]}")/../../test/gpu/gpu_env.sh"
HARNESS="${QQQ_BENCH_HARNESS:-$BUILD/bench_w4a8}"
if [ -z "${QQQ_BENCH_HARNESS:-}" ]; then
  "${CXX:-g++}" "${HOST_FLAGS[@]}" "$ROOT/bench/gpu/bench_w4a8.cpp" "$ROOT/bench/gpu/tune_candidates.cpp" \
    "${HARNESS_SRCS[@]}" "${HARNESS_LIBS[@]}" -lcublas -lcublasLt \
    -o "$HARNESS" || exit 1
fi
