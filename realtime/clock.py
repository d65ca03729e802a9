"""Stream clock: when was device sample ``n`` heard, on ``time.monotonic()``'s clock.

The capture process stamps each block with its ADC time, already converted to
``time.monotonic()``. Each stamp gives an estimate of the stream's origin (the monotonic time
of sample 0 at the nominal rate). Stamps can only be late (a callback that runs late), never
early, so the clock follows the *lowest* origin seen over a short sliding window: a late stamp
is ignored as long as one on-time stamp is in the window, an earlier one is taken at once, and a
lasting shift of the device's timeline (a stalled or drifting clock, as a JACK dummy driver
under load produces) is followed within ``window_s``. A change of more than ``jump_s`` (an xrun
or dropped block) re-anchors at once. The outputs use the clock to schedule each beat at the
moment it is heard.
"""
from __future__ import annotations

import numpy as np


class StreamClock:
    """Map device-rate sample indices to ``time.monotonic()`` and back.

    Parameters
    ----------
    rate : device sample rate (Hz).
    window_s : span of the sliding minimum; longer rejects longer runs of late stamps, shorter
        follows a shifted device timeline sooner.
    follow : fraction of the way the origin moves *up* towards the window minimum per update
        (moves down are taken at once), so the clock glides rather than steps.
    jump_s : an origin change larger than this re-anchors the clock (counted in ``resyncs``).

    Examples
    --------
    >>> c = StreamClock(48000.0)
    >>> c.update(np.array([0.0, 480.0]), np.array([10.0, 10.01]))
    >>> round(c.monotonic_time(960.0), 6)
    10.02
    """

    _CAPACITY = 512  # blocks held for the window (0.5 s of 64-sample blocks at 48 kHz)

    def __init__(self, rate: float, window_s: float = 0.5, follow: float = 0.25,
                 jump_s: float = 0.05) -> None:
        self.rate = float(rate)
        self.window_s = float(window_s)
        self.follow = float(follow)
        self.jump_s = float(jump_s)
        self._starts = np.zeros(self._CAPACITY)     # ring of recent block starts (samples)
        self._origins = np.zeros(self._CAPACITY)    # and the origin each one implies
        self._n = 0                                 # blocks written to the ring
        self._origin: float | None = None          # monotonic time of sample 0 under the fit
        self.resyncs = 0

    def reset(self) -> None:
        """Forget the fit (new stream)."""
        self._origin = None
        self._n = 0
        self.resyncs = 0

    def update(self, starts: np.ndarray, times: np.ndarray) -> None:
        """Fold in newly published blocks (sample index of block start, monotonic ADC time)."""
        span = self.window_s * self.rate
        for n, t in zip(starts, times):
            origin = float(t) - float(n) / self.rate
            if self._origin is None or abs(origin - self._origin) > self.jump_s:
                if self._origin is not None:
                    self.resyncs += 1
                self._origin = origin
                self._n = 0
            i = self._n % self._CAPACITY
            self._starts[i] = n
            self._origins[i] = origin
            self._n += 1
            held = min(self._n, self._CAPACITY)
            recent = self._starts[:held] >= float(n) - span
            target = float(self._origins[:held][recent].min())
            if target < self._origin:
                self._origin = target
            else:
                self._origin += self.follow * (target - self._origin)

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
