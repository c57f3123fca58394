#!/usr/bin/env bash
# The README's main-job command: install dependencies, build, run qqq on the
# bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
"${QQQ_BUILD_DIR:-build}/bin/qqq-opt" examples/hello.mlir
