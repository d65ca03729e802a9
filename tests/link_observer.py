"""A separate Link peer: joins the session, waits for a peer, then samples tempo and phase.

usage: python link_observer.py SECONDS QUANTUM OUT.json
Prints READY after joining; writes [[monotonic_s, tempo, beat, phase, peers], ...] every 10 ms.
"""
from __future__ import annotations

import json
import sys
import time

import link


def main() -> int:
    seconds, quantum, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    lk = link.Link(90.0)
    lk.enabled = True
    print("READY", flush=True)
    rows = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = lk.captureAppSessionState()
        now = lk.clock().micros()
        rows.append([time.monotonic(), s.tempo(), s.beatAtTime(now, quantum),
                     s.phaseAtTime(now, quantum), lk.numPeers()])
        time.sleep(0.01)
    lk.enabled = False
    with open(out, "w") as f:
        json.dump(rows, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
