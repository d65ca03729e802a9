"""Input level meter: smoothed RMS in dBFS, peak, and a clipping indicator.

It meters the device's own samples (the configured channel, or the mean of all channels, as the
tracker hears them; before resampling, so an over at the converter is seen as it is) straight
from the ring buffer, independently of the tracker's hops.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .hop_reader import mono_sample

# slots of LevelMeter's state array
_MS, _PEAK, _SINCE_CLIP, _CLIPPED = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _level_kernel(block, channel, tau, clip_level, state):
    """Fold ``block`` [n, channels] into ``state`` (smoothed mean square, decaying peak,
    samples since the last clipped one, clipped samples). ``channel < 0``: the mean of the
    channels; the smoothing is per sample (time constant ``tau`` samples) applied per block, so
    the result does not depend on how the samples are split into blocks for a steady signal."""
    n = block.shape[0]
    if n == 0:
        return
    acc = 0.0
    pk = 0.0
    last_clip = -1
    for i in range(n):
        v = mono_sample(block, i, channel)
        if not math.isfinite(v):
            continue
        acc += v * v
        a = abs(v)
        if a > pk:
            pk = a
        if a >= clip_level:
            last_clip = i
            state[_CLIPPED] += 1.0
    alpha = math.exp(-n / tau)
    state[_MS] = alpha * state[_MS] + (1.0 - alpha) * acc / n
    state[_PEAK] = max(pk, state[_PEAK] * alpha)
    if last_clip >= 0:
        state[_SINCE_CLIP] = float(n - 1 - last_clip)
    else:
        state[_SINCE_CLIP] += float(n)


class LevelMeter:
    """Level of the input for the monitor and the ``/level`` OSC message.

    ``level_db``: RMS over about ``smooth_s`` seconds, in dBFS; ``peak``: absolute peak, decaying
    with the same time constant; ``clipping``: a sample at or above ``clip_level`` within the last
    ``clip_hold_s`` seconds. The state is one small array that a numba kernel updates per call,
    whatever the number of samples.

    Parameters
    ----------
    sample_rate : rate of the samples fed (the device's).
    channel : channel to meter, or None for the mean of all channels.

    Examples
    --------
    >>> m = LevelMeter(48000)
    >>> m.process(np.full((480, 1), 0.5, np.float32))
    >>> round(m.peak, 2), m.clipping
    (0.5, False)
    """

    def __init__(self, sample_rate: float, channel: int | None = None, smooth_s: float = 0.3,
                 clip_level: float = 0.999, clip_hold_s: float = 1.0) -> None:
        self.channel = -1 if channel is None else int(channel)
        self._tau = smooth_s * float(sample_rate)
        self._clip_level = clip_level
        self._hold = clip_hold_s * float(sample_rate)
        self._state = np.zeros(4, np.float64)
        self.reset()

    def reset(self) -> None:
        """Back to silence."""
        self._state[:] = (0.0, 0.0, 1e18, 0.0)

    def process(self, block: np.ndarray) -> None:
        """Fold in ``block`` [n, channels] (or [n] mono) of samples; NaN/Inf are skipped."""
        if block.ndim == 1:
            block = block[:, None]
        _level_kernel(block, self.channel if block.shape[1] > 1 else 0, self._tau,
                      self._clip_level, self._state)

    @property
    def peak(self) -> float:
        """Absolute peak, decaying with the level's time constant."""
        return float(self._state[_PEAK])

    @property
    def clipped_samples(self) -> int:
        """Samples at or above the clip level since :meth:`reset`."""
        return int(self._state[_CLIPPED])

    @property
    def level_db(self) -> float:
        """Smoothed RMS level in dBFS (floor -120)."""
        return 10.0 * math.log10(max(float(self._state[_MS]), 1e-12))

    @property
    def clipping(self) -> bool:
        """A clipped sample within the hold time."""
        return bool(self._state[_SINCE_CLIP] <= self._hold)
