"""Stream clock: when was device sample ``n`` heard, on ``time.monotonic()``'s clock.

The capture process stamps each block with its ADC time, already converted to
``time.monotonic()``. Each stamp gives an estimate of the stream's origin (the monotonic time
of sample 0 at the nominal rate). Stamps can only be late (a callback that runs late), never
early, so the clock follows the *lowest* origin seen over a short sliding window: a late stamp
is ignored as long as one on-time stamp is in the window, an earlier one is taken at once, and a
lasting shift of the device's timeline (a stalled cycle, as a JACK dummy driver under load
produces) is followed within ``window_s``. A change of more than ``jump_s`` (an xrun or dropped
block) re-anchors at once.

A device whose clock runs at a rate other than its nominal one (a dummy or network driver on a
loaded machine runs several per cent slow; real converters differ by parts per million) moves
the origin steadily. The clock measures that drift as the median change of the window's lowest
origin from one window to the next (a median, so that one stall does not count as drift) and
projects every stamp in the window to the present with it, so the sliding minimum does not lag
behind a drifting device. The outputs use the clock to schedule each beat at the moment it is
heard.
"""
from __future__ import annotations

import math

import numba
import numpy as np

# slots of StreamClock's state array
(_ORIGIN, _N, _RESYNCS, _REF, _DRIFT, _PER_START, _PER_MIN, _N_PER) = range(8)


@numba.njit(cache=True, nogil=True)
def _median_drift(per_start, per_min, n_per, scratch):
    """Median of the origin's change per sample between consecutive windows (ring of minima);
    0 until five changes are known, so that an early stall is not taken for drift."""
    cap = per_start.shape[0]
    k = min(n_per, cap) - 1
    if k < 5:
        return 0.0
    m = 0
    for i in range(n_per - k, n_per):
        a, b = (i - 1) % cap, i % cap
        v = (per_min[b] - per_min[a]) / (per_start[b] - per_start[a])
        j = m                       # insertion sort into the scratch array: no allocation
        while j > 0 and scratch[j - 1] > v:
            scratch[j] = scratch[j - 1]
            j -= 1
        scratch[j] = v
        m += 1
    return scratch[m // 2] if m % 2 else 0.5 * (scratch[m // 2 - 1] + scratch[m // 2])


@numba.njit(cache=True, nogil=True)
def _update_kernel(starts, times, rate, span, follow, jump, max_drift, ring_starts, ring_origins,
                   per_start, per_min, scratch, state):
    """Fold blocks (start sample, monotonic ADC time) into the drift-corrected sliding-minimum
    origin fit. ``state[_ORIGIN]`` (the nominal-rate origin valid at sample ``state[_REF]``) is
    NaN until the first block."""
    cap = ring_starts.shape[0]
    pcap = per_start.shape[0]
    origin = state[_ORIGIN]
    n_held = int(state[_N])
    drift = state[_DRIFT]
    ref = state[_REF]
    n_per = int(state[_N_PER])
    for b in range(starts.shape[0]):
        n = float(starts[b])
        o = float(times[b]) - n / rate
        if not math.isnan(origin):
            origin += drift * (n - ref)          # the fit, carried forward to this block
        ref = n
        if math.isnan(origin):                   # first block: the first window starts
            origin = o
            state[_PER_START] = n
            state[_PER_MIN] = o
        elif abs(o - origin) > jump:             # re-anchor; the drift estimate is kept (a
            state[_RESYNCS] += 1.0               # one-off jump is one outlier to its median)
            origin = o
            n_held = 0
        # the lowest origin of each window-long period, for the drift estimate
        if n - state[_PER_START] >= span:
            i = n_per % pcap
            per_start[i] = state[_PER_START]
            per_min[i] = state[_PER_MIN]
            n_per += 1
            drift = min(max(_median_drift(per_start, per_min, n_per, scratch), -max_drift),
                        max_drift)
            state[_PER_START] = n
            state[_PER_MIN] = o
        elif o < state[_PER_MIN]:
            state[_PER_MIN] = o
        i = n_held % cap
        ring_starts[i] = n
        ring_origins[i] = o
        n_held += 1
        target = math.inf
        for j in range(min(n_held, cap)):
            if ring_starts[j] >= n - span:
                oj = ring_origins[j] + drift * (n - ring_starts[j])
                if oj < target:
                    target = oj
        if target < origin:
            origin = target
        else:
            origin += follow * (target - origin)
    state[_ORIGIN] = origin
    state[_N] = n_held
    state[_DRIFT] = drift
    state[_REF] = ref
    state[_N_PER] = n_per


class StreamClock:
    """Map device-rate sample indices to ``time.monotonic()`` and back.

    Parameters
    ----------
    rate : device sample rate (Hz), nominal.
    window_s : span of the sliding minimum; longer rejects longer runs of late stamps, shorter
        follows a shifted device timeline sooner. Also the period of the drift estimate.
    follow : fraction of the way the origin moves *up* towards the window minimum per update
        (moves down are taken at once), so the clock glides rather than steps.
    jump_s : an origin change larger than this re-anchors the clock (counted in ``resyncs``).
    max_drift : largest accepted deviation of the device's real rate from ``rate`` (fraction).

    Examples
    --------
    >>> c = StreamClock(48000.0)
    >>> c.update(np.array([0.0, 480.0]), np.array([10.0, 10.01]))
    >>> round(c.monotonic_time(960.0), 6)
    10.02
    """

    _CAPACITY = 512  # blocks held for the window (0.5 s of 64-sample blocks at 48 kHz)
    _PERIODS = 16    # window minima held for the drift estimate (8 s at the default window)

    def __init__(self, rate: float, window_s: float = 0.5, follow: float = 0.25,
                 jump_s: float = 0.05, max_drift: float = 0.2) -> None:
        self.rate = float(rate)
        self.window_s = float(window_s)
        self.follow = float(follow)
        self.jump_s = float(jump_s)
        self.max_drift = float(max_drift)
        self._starts = np.zeros(self._CAPACITY)     # ring of recent block starts (samples)
        self._origins = np.zeros(self._CAPACITY)    # and the origin each one implies
        self._per_start = np.zeros(self._PERIODS)   # ring of window starts (samples)
        self._per_min = np.zeros(self._PERIODS)     # and each window's lowest origin
        self._scratch = np.zeros(self._PERIODS)
        # origin, blocks in the ring, re-anchorings, reference sample of the origin, drift
        # (seconds of origin per sample), current window's start and minimum, windows held:
        # one array, updated by one numba call per wake-up
        self._state = np.zeros(8)
        self.reset()

    def reset(self) -> None:
        """Forget the fit (new stream)."""
        self._state[:] = 0.0
        self._state[_ORIGIN] = math.nan

    def update(self, starts: np.ndarray, times: np.ndarray) -> None:
        """Fold in newly published blocks (sample index of block start, monotonic ADC time)."""
        _update_kernel(np.asarray(starts, np.float64), np.asarray(times, np.float64), self.rate,
                       self.window_s * self.rate, self.follow, self.jump_s,
                       self.max_drift / self.rate, self._starts, self._origins,
                       self._per_start, self._per_min, self._scratch, self._state)

    @property
    def resyncs(self) -> int:
        """Re-anchorings so far (origin changes beyond ``jump_s``)."""
        return int(self._state[_RESYNCS])

    @property
    def ready(self) -> bool:
        """True once at least one block has been seen."""
        return not math.isnan(self._state[_ORIGIN])

    @property
    def drift(self) -> float:
        """Measured rate error of the device: its real rate is ``rate / (1 + drift)`` (0 until
        about three seconds of stream are seen)."""
        return float(self._state[_DRIFT] * self.rate)

    @property
    def actual_rate(self) -> float:
        """The device's measured sample rate (Hz): ``rate`` until the drift is known."""
        return self.rate / (1.0 + self._state[_DRIFT] * self.rate)

    def monotonic_time(self, sample: float) -> float:
        """``time.monotonic()`` value at which device sample ``sample`` was heard."""
        o, ref, d = self._state[_ORIGIN], self._state[_REF], self._state[_DRIFT]
        if math.isnan(o):
            return sample / self.rate
        return o + sample / self.rate + d * (sample - ref)

    def sample_at_monotonic(self, t: float) -> float:
        """Device sample index heard at ``time.monotonic()`` instant ``t`` (inverse mapping)."""
        o, ref, d = self._state[_ORIGIN], self._state[_REF], self._state[_DRIFT]
        if math.isnan(o):
            return t * self.rate
        return (t - o + d * ref) / (1.0 / self.rate + d)
