# gpu_env.sh - sourced by the GPU runners (test/gpu/run.sh,
# bench/gpu/run.sh, bench/gpu/run_wgmma_overlap.sh): exits 77 (ctest:
# skipped) without a GPU or CUDA toolkit, else sets ROOT, CUDA and BUILD
# (created), the host sources and flags shared by the NVRTC harnesses, and
# the library path.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
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
# The harness (NVRTC + driver API) and the host code it shares with the
# compiler: launch rules, packed layouts, f16 conversion.
HARNESS_SRCS=("$ROOT/test/gpu/gpu_harness.cpp" "$ROOT/lib/CodeGen/KernelCatalog.cpp"
              "$ROOT/lib/Numerics/KernelLayouts.cpp" "$ROOT/lib/Numerics/Packing.cpp"
              "$ROOT/lib/Numerics/Half.cpp")
HOST_FLAGS=(-O2 -std=c++17 -ffp-contract=off -I"$ROOT/include" -I"$CUDA/include")
HARNESS_LIBS=(-L"$CUDA/lib64" -L"$CUDA/lib64/stubs" -lnvrtc -lcuda -lpthread)
export LD_LIBRARY_PATH="$CUDA/lib64:${LD_LIBRARY_PATH:-}"
