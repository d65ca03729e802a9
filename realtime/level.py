"""Input level meter: smoothed RMS in dBFS, peak, and a clipping indicator, per hop."""
from __future__ import annotations

import math

import numpy as np


class LevelMeter:
    """Per-hop level for the monitor and the ``/level`` OSC message.

    ``level_db``: RMS over about ``smooth_s`` seconds, in dBFS; ``clipping``: a sample at or above
    ``clip_level`` within the last ``clip_hold_s`` seconds.

    Examples
    --------
    >>> m = LevelMeter(441, 44100)
    >>> m.process_hop(np.full(441, 0.5, np.float32))
    >>> round(m.peak, 2), m.clipping
    (0.5, False)
    """

    def __init__(self, hop_length: int, sample_rate: int, smooth_s: float = 0.3,
                 clip_level: float = 0.999, clip_hold_s: float = 1.0, max_hops: int = 64) -> None:
        self._ms_buf = np.zeros(max_hops, np.float64)
        self._hi_buf = np.zeros(max_hops, np.float64)
        self._lo_buf = np.zeros(max_hops, np.float64)
        self._alpha = math.exp(-hop_length / (smooth_s * sample_rate))
        self._clip_level = clip_level
        self._hold = int(clip_hold_s * sample_rate / hop_length)
        self.reset()

    def reset(self) -> None:
        """Back to silence."""
        self._ms = 0.0
        self.peak = 0.0
        self._since_clip = 1 << 30
        self.clipped_hops = 0

    def _fold(self, ms: float, pk: float) -> None:
        """One hop's mean square and absolute peak into the smoothed level and clip hold."""
        self._ms = self._alpha * self._ms + (1.0 - self._alpha) * ms
        self.peak = max(pk, self.peak * self._alpha)
        if pk >= self._clip_level:
            self._since_clip = 0
            self.clipped_hops += 1
        else:
            self._since_clip += 1

    def process_hop(self, hop: np.ndarray) -> None:
        """Fold in one hop of samples."""
        self._fold(float(np.dot(hop, hop)) / max(1, hop.shape[0]),
                   max(float(hop.max()), -float(hop.min())) if hop.shape[0] else 0.0)

    def process_hops(self, hops: np.ndarray) -> None:
        """Fold in the hops [n, hop_length]: the same as :meth:`process_hop` on each row, with
        the per-hop sums in three numpy calls (into preallocated buffers) instead of three per hop.
        """
        m = self._ms_buf.shape[0]
        for s in range(0, hops.shape[0], m):
            h = hops[s:s + m]
            n = h.shape[0]
            ms, hi, lo = self._ms_buf[:n], self._hi_buf[:n], self._lo_buf[:n]
            np.einsum("ij,ij->i", h, h, out=ms)
            np.max(h, axis=1, out=hi)
            np.min(h, axis=1, out=lo)
            scale = 1.0 / max(1, h.shape[1])
            for k in range(n):
                self._fold(float(ms[k]) * scale, max(float(hi[k]), -float(lo[k])))

    @property
    def level_db(self) -> float:
        """Smoothed RMS level in dBFS (floor -120)."""
        return 10.0 * math.log10(max(self._ms, 1e-12))

    @property
    def clipping(self) -> bool:
        """A clipped sample within the hold time."""
        return self._since_clip <= self._hold
