"""Input level meter: smoothed RMS in dBFS, peak, and a clipping indicator, per hop."""
from __future__ import annotations

import math

import numba
import numpy as np

# slots of LevelMeter's state array
_MS, _PEAK, _SINCE_CLIP, _CLIPPED = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _level_kernel(hops, alpha, clip_level, state):
    """Fold each row of ``hops`` [n, hop_length] into ``state`` (smoothed mean square, decaying
    peak, hops since the last clipped sample, clipped hops)."""
    ms, peak, since, clipped = state[_MS], state[_PEAK], state[_SINCE_CLIP], state[_CLIPPED]
    for k in range(hops.shape[0]):
        acc = 0.0
        pk = 0.0
        for i in range(hops.shape[1]):
            v = float(hops[k, i])
            acc += v * v
            a = abs(v)
            if a > pk:
                pk = a
        ms = alpha * ms + (1.0 - alpha) * acc / max(1, hops.shape[1])
        peak = max(pk, peak * alpha)
        if pk >= clip_level:
            since = 0.0
            clipped += 1.0
        else:
            since += 1.0
    state[_MS], state[_PEAK], state[_SINCE_CLIP], state[_CLIPPED] = ms, peak, since, clipped


class LevelMeter:
    """Per-hop level for the monitor and the ``/level`` OSC message.

    ``level_db``: RMS over about ``smooth_s`` seconds, in dBFS; ``clipping``: a sample at or above
    ``clip_level`` within the last ``clip_hold_s`` seconds. The state is one small array that a
    numba kernel updates for all hops of a wake-up in one call.

    Examples
    --------
    >>> m = LevelMeter(441, 44100)
    >>> m.process_hop(np.full(441, 0.5, np.float32))
    >>> round(m.peak, 2), m.clipping
    (0.5, False)
    """

    def __init__(self, hop_length: int, sample_rate: int, smooth_s: float = 0.3,
                 clip_level: float = 0.999, clip_hold_s: float = 1.0) -> None:
        self._alpha = math.exp(-hop_length / (smooth_s * sample_rate))
        self._clip_level = clip_level
        self._hold = int(clip_hold_s * sample_rate / hop_length)
        self._state = np.zeros(4, np.float64)
        self.reset()

    def reset(self) -> None:
        """Back to silence."""
        self._state[:] = (0.0, 0.0, float(1 << 30), 0.0)

    def process_hop(self, hop: np.ndarray) -> None:
        """Fold in one hop of samples."""
        _level_kernel(hop[None], self._alpha, self._clip_level, self._state)

    def process_hops(self, hops: np.ndarray) -> None:
        """Fold in the hops [n, hop_length]: the same as :meth:`process_hop` on each row."""
        _level_kernel(hops, self._alpha, self._clip_level, self._state)

    @property
    def peak(self) -> float:
        """Absolute peak, decaying with the level's time constant."""
        return float(self._state[_PEAK])

    @property
    def clipped_hops(self) -> int:
        """Hops with a clipped sample since :meth:`reset`."""
        return int(self._state[_CLIPPED])

    @property
    def level_db(self) -> float:
        """Smoothed RMS level in dBFS (floor -120)."""
        return 10.0 * math.log10(max(float(self._state[_MS]), 1e-12))

    @property
    def clipping(self) -> bool:
        """A clipped sample within the hold time."""
        return self._state[_SINCE_CLIP] <= self._hold
