#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${QQQ_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)"
