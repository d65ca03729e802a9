"""Ableton Link output (optional extra ``beatd[link]``, package linkpython-extern).

beatd joins the Link session on the local network and leads it: at every beat it sets the
session tempo and, if the session's beat phase is off by more than ``tolerance`` beats, moves
the session's beat grid so that the beat falls on the same position in the bar (``quantum``
beats) as the detected ``beat_in_bar``. Link's own clock is converted from ``time.monotonic()``
by reading both clocks together.
"""
from __future__ import annotations

import logging
import time

from .events import Beat

log = logging.getLogger("beatd.link")


class LinkOutput:
    """Drive a Link session's tempo and beat phase from detected beats.

    Parameters
    ----------
    quantum : beats per bar in Link's phase terms (4 for 4/4).
    latency_ms : offset added to beat times (negative = early).
    tolerance : phase error, in beats, below which the grid is left alone (no jitter).
    """

    def __init__(self, quantum: float = 4.0, latency_ms: float = 0.0,
                 tolerance: float = 0.02) -> None:
        try:
            import link
        except ImportError as exc:
            raise RuntimeError("Ableton Link needs the optional extra: pip install "
                               "'beatd[link]' (linkpython-extern)") from exc
        self.quantum = float(quantum)
        self.latency = latency_ms / 1000.0
        self.tolerance = tolerance
        self.link = link.Link(120.0)
        self.corrections = 0

    def start(self) -> None:
        """Join the session."""
        self.link.enabled = True
        log.info("Ableton Link enabled (quantum %g)", self.quantum)

    def _to_link_micros(self, t_mono: float) -> int:
        m0 = time.monotonic()
        l0 = self.link.clock().micros()
        return int(l0 + (t_mono - m0) * 1e6)

    def beat(self, b: Beat) -> None:
        """Set tempo and phase so that the session has a beat at ``b.when`` (+ latency)."""
        t = self._to_link_micros(b.when + self.latency)
        s = self.link.captureAppSessionState()
        s.setTempo(float(b.bpm), t)
        cur = s.beatAtTime(t, self.quantum)
        want_phase = (b.beat_in_bar - 1) % self.quantum
        target = cur - ((cur - want_phase) % self.quantum)
        if cur - target > self.quantum / 2:
            target += self.quantum
        if abs(target - cur) > self.tolerance:
            s.forceBeatAtTime(target, t, self.quantum)
            self.corrections += 1
        self.link.commitAppSessionState(s)

    @property
    def peers(self) -> int:
        """Other Link peers in the session."""
        return int(self.link.numPeers())

    def close(self) -> None:
        """Leave the session."""
        self.link.enabled = False
