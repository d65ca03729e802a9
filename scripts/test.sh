#!/usr/bin/env bash
# Set up everything the tests need, then run the whole test suite (it starts its own jackd).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
export MIDO_BACKEND="mido.backends.rtmidi/UNIX_JACK"
exec .venv/bin/python -m pytest "$@"
