#!/usr/bin/env bash
# Set up beatd and run the daemon on the default audio input (extra arguments go to `beatd run`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
exec .venv/bin/beatd run "$@"
