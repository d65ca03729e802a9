"""Ableton Link: beatd leads a session that another process (a real Link peer) follows."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from realtime.events import Beat
from realtime.link_out import LinkOutput

HERE = Path(__file__).parent


def test_link_peer_follows_tempo_and_bar_phase(tmp_path):
    out = tmp_path / "link.json"
    obs = subprocess.Popen([sys.executable, str(HERE / "link_observer.py"), "6", "4", str(out)],
                           stdout=subprocess.PIPE, text=True)
    assert obs.stdout.readline().strip() == "READY"
    lo = LinkOutput(quantum=4)
    lo.start()
    end = time.monotonic() + 5
    while lo.peers == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert lo.peers >= 1, "Link discovery found no peer on this machine"
    t0 = time.monotonic() + 0.2
    beats = [Beat(when=t0 + k * 60 / 128, beat_index=k, beat_in_bar=(k + 2) % 4 + 1, bpm=128.0,
                  confidence=1.0) for k in range(8)]
    for b in beats:
        while time.monotonic() < b.when - 0.08:
            time.sleep(0.005)
        lo.beat(b)
    time.sleep(0.5)
    obs.wait(15)
    lo.close()
    rows = np.array(json.loads(out.read_text()))
    after = rows[rows[:, 0] > beats[2].when]
    assert len(after) > 20
    assert np.allclose(after[:, 1], 128.0, atol=0.01)          # the peer took our tempo
    # at each detected beat the peer's bar phase equals beat_in_bar - 1
    for b in beats[3:7]:
        i = np.argmin(np.abs(rows[:, 0] - b.when))
        dt = rows[i, 0] - b.when
        phase = (rows[i, 3] - dt * 128 / 60) % 4
        err = min(abs(phase - (b.beat_in_bar - 1)), 4 - abs(phase - (b.beat_in_bar - 1)))
        assert err < 0.05, (b, phase)
