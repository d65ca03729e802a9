"""A MIDI receiver process for tests and benchmarks: records messages with arrival times.

usage: python midi_receiver.py PORTNAME OUT.json
Creates a virtual JACK MIDI input ``PORTNAME`` (client ``midisink``), prints READY, and on
SIGTERM writes ``[[monotonic_s, type, data...], ...]`` to OUT.json.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

os.environ.setdefault("MIDO_BACKEND", "mido.backends.rtmidi/UNIX_JACK")
import mido  # noqa: E402

from procs import wait_for_term  # noqa: E402


def main() -> int:
    name, out = sys.argv[1], sys.argv[2]
    got: list = []

    def on_msg(msg):
        got.append([time.monotonic(), msg.type, *msg.bytes()[1:]])

    port = mido.open_input(name, virtual=True, client_name="midisink", callback=on_msg)
    print("READY", flush=True)
    wait_for_term(600)
    # messages sent just before the signal (a sender's Stop at its shutdown) may still be on
    # their way through the JACK cycle and the callback thread: let them land
    time.sleep(0.3)
    with open(out, "w") as f:       # results first, then leave the JACK graph cleanly
        json.dump(list(got), f)
    port.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
