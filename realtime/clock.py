"""Stream clock: when was device sample ``n`` heard, on ``time.monotonic()``'s clock.

The audio callback records each block's first sample index and its ADC time (PortAudio stream
time). The clock fits ``adc = a + n / rate`` over recent blocks (robust to callback jitter), and
a separately measured offset maps stream time to ``time.monotonic()``, which the outputs use to
schedule beats at the moment they will be heard.
"""
from __future__ import annotations

import numpy as np


class StreamClock:
    """Map device-rate sample indices to ADC time and to monotonic time.

    Examples
    --------
    >>> c = StreamClock(48000.0)
    >>> c.update(np.array([0.0, 480.0]), np.array([10.0, 10.01]))
    >>> round(c.adc_time(960.0), 6)
    10.02
    """

    def __init__(self, rate: float, smoothing: float = 0.02, jump_s: float = 0.05) -> None:
        self.rate = float(rate)
        self.smoothing = float(smoothing)
        self.jump_s = float(jump_s)
        self._origin: float | None = None  # ADC time of sample 0 under the current fit
        self._mono_offset: float | None = None  # monotonic - stream time
        self.resyncs = 0

    def reset(self) -> None:
        """Forget the fit (new stream)."""
        self._origin = None
        self.resyncs = 0

    def update(self, starts: np.ndarray, adc_times: np.ndarray) -> None:
        """Fold in newly published blocks (sample index of block start, ADC time)."""
        for n, t in zip(starts, adc_times):
            origin = t - n / self.rate
            if self._origin is None or abs(origin - self._origin) > self.jump_s:
                if self._origin is not None:
                    self.resyncs += 1
                self._origin = origin
            else:
                # the earliest arrival is the least delayed: track minimum with slow release
                if origin < self._origin:
                    self._origin = origin
                else:
                    self._origin += self.smoothing * (origin - self._origin)

    @property
    def ready(self) -> bool:
        """True once at least one block has been seen."""
        return self._origin is not None

    def adc_time(self, sample: float) -> float:
        """ADC (stream) time at which device sample ``sample`` was captured."""
        return (self._origin or 0.0) + sample / self.rate

    def set_monotonic_offset(self, stream_now: float, monotonic_now: float) -> None:
        """Record ``monotonic - stream time`` from a pair of readings taken together."""
        off = monotonic_now - stream_now
        if self._mono_offset is None or abs(off - self._mono_offset) > self.jump_s:
            self._mono_offset = off
        else:
            self._mono_offset += 0.05 * (off - self._mono_offset)

    def sample_at_monotonic(self, t: float) -> float:
        """Device sample index heard at ``time.monotonic()`` instant ``t`` (inverse mapping)."""
        return (t - (self._mono_offset or 0.0) - (self._origin or 0.0)) * self.rate

    def monotonic_time(self, sample: float) -> float:
        """``time.monotonic()`` value at which device sample ``sample`` was heard."""
        return self.adc_time(sample) + (self._mono_offset or 0.0)
