"""Stream clock: when was device sample ``n`` heard, on ``time.monotonic()``'s clock.

The capture process stamps each block with its ADC time, already converted to
``time.monotonic()``. The clock fits ``t = origin + n / rate`` over the blocks: it follows the
earliest (least delayed) stamps and releases slowly, so callback jitter does not move it, and it
re-anchors on a jump (an xrun or dropped block). The outputs use it to schedule each beat at the
moment it is heard.
"""
from __future__ import annotations

import numpy as np


class StreamClock:
    """Map device-rate sample indices to ``time.monotonic()`` and back.

    Examples
    --------
    >>> c = StreamClock(48000.0)
    >>> c.update(np.array([0.0, 480.0]), np.array([10.0, 10.01]))
    >>> round(c.monotonic_time(960.0), 6)
    10.02
    """

    def __init__(self, rate: float, smoothing: float = 0.02, jump_s: float = 0.05) -> None:
        self.rate = float(rate)
        self.smoothing = float(smoothing)
        self.jump_s = float(jump_s)
        self._origin: float | None = None  # monotonic time of sample 0 under the current fit
        self.resyncs = 0

    def reset(self) -> None:
        """Forget the fit (new stream)."""
        self._origin = None
        self.resyncs = 0

    def update(self, starts: np.ndarray, times: np.ndarray) -> None:
        """Fold in newly published blocks (sample index of block start, monotonic ADC time)."""
        for n, t in zip(starts, times):
            origin = t - n / self.rate
            if self._origin is None or abs(origin - self._origin) > self.jump_s:
                if self._origin is not None:
                    self.resyncs += 1
                self._origin = origin
            elif origin < self._origin:
                self._origin = origin
            else:
                self._origin += self.smoothing * (origin - self._origin)

    @property
    def ready(self) -> bool:
        """True once at least one block has been seen."""
        return self._origin is not None

    def monotonic_time(self, sample: float) -> float:
        """``time.monotonic()`` value at which device sample ``sample`` was heard."""
        return (self._origin or 0.0) + sample / self.rate

    def sample_at_monotonic(self, t: float) -> float:
        """Device sample index heard at ``time.monotonic()`` instant ``t`` (inverse mapping)."""
        return (t - (self._origin or 0.0)) * self.rate
