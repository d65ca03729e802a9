#!/usr/bin/env bash
# Set up beatd on a Debian/Ubuntu machine: system packages (apt-get, only what is missing) and a
# Python virtual environment in .venv with beatd installed in editable mode.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh test     + test tools, JACK test server, torch (CPU) for the model tests
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-run}"
PY="${PYTHON:-python3}"

need=(libportaudio2 libsndfile1)
[[ "$WHAT" == test ]] && need+=(jackd2 libjack-jackd2-0 jack-tools sox tmux)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive   # jackd2 asks about realtime priority: keep default
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [[ "$WHAT" == test ]]; then
  # CPU build of torch (the model tests train a tiny network); never let pip pick a CUDA build
  .venv/bin/python -c "import torch" 2>/dev/null || \
    .venv/bin/pip install -q "torch==2.13.0" || \
    .venv/bin/pip install -q "torch>=2.1" --index-url https://download.pytorch.org/whl/cpu
  .venv/bin/pip install -q -e '.[test,train]'
else
  .venv/bin/pip install -q -e .
fi
echo "setup: done (.venv)"
