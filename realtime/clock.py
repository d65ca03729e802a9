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

import math

import numba
import numpy as np

# slots of StreamClock's state array
_ORIGIN, _N, _RESYNCS = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _update_kernel(starts, times, rate, span, follow, jump, ring_starts, ring_origins, state):
    """Fold blocks (start sample, monotonic ADC time) into the sliding-minimum origin fit.
    ``state[_ORIGIN]`` is NaN until the first block."""
    cap = ring_starts.shape[0]
    origin = state[_ORIGIN]
    n_held = int(state[_N])
    for b in range(starts.shape[0]):
        n = float(starts[b])
        o = float(times[b]) - n / rate
        if math.isnan(origin) or abs(o - origin) > jump:
            if not math.isnan(origin):
                state[_RESYNCS] += 1.0
            origin = o
            n_held = 0
        i = n_held % cap
        ring_starts[i] = n
        ring_origins[i] = o
        n_held += 1
        target = math.inf
        for j in range(min(n_held, cap)):
            if ring_starts[j] >= n - span and ring_origins[j] < target:
                target = ring_origins[j]
        if target < origin:
            origin = target
        else:
            origin += follow * (target - origin)
    state[_ORIGIN] = origin
    state[_N] = n_held


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
        # origin (monotonic time of sample 0 under the fit; NaN before the first block), blocks
        # written to the ring, re-anchorings: one array, updated by one numba call per wake-up
        self._state = np.zeros(3)
        self.reset()

    def reset(self) -> None:
        """Forget the fit (new stream)."""
        self._state[:] = (math.nan, 0.0, 0.0)

    def update(self, starts: np.ndarray, times: np.ndarray) -> None:
        """Fold in newly published blocks (sample index of block start, monotonic ADC time)."""
        _update_kernel(np.asarray(starts, np.float64), np.asarray(times, np.float64), self.rate,
                       self.window_s * self.rate, self.follow, self.jump_s, self._starts,
                       self._origins, self._state)

    @property
    def resyncs(self) -> int:
        """Re-anchorings so far (origin changes beyond ``jump_s``)."""
        return int(self._state[_RESYNCS])

    @property
    def ready(self) -> bool:
        """True once at least one block has been seen."""
        return not math.isnan(self._state[_ORIGIN])

    @property
    def _origin0(self) -> float:
        o = self._state[_ORIGIN]
        return 0.0 if math.isnan(o) else float(o)

    def monotonic_time(self, sample: float) -> float:
        """``time.monotonic()`` value at which device sample ``sample`` was heard."""
        return self._origin0 + sample / self.rate

    def sample_at_monotonic(self, t: float) -> float:
        """Device sample index heard at ``time.monotonic()`` instant ``t`` (inverse mapping)."""
        return (t - self._origin0) * self.rate
