"""Worker-side input stage: ring buffer -> channel select/downmix -> resample -> model-rate hops.

Runs in the worker thread (never in the audio callback). soxr's streaming resampler gives the
same samples however the input is chunked, so the live path and the file path agree exactly.
"""
from __future__ import annotations

import numpy as np
import soxr

from .ringbuffer import RingBuffer


class HopReader:
    """Turn device-rate blocks from a :class:`RingBuffer` into model-rate hops.

    Parameters
    ----------
    ring : the ring the audio callback writes.
    in_rate, out_rate : device and model sample rates.
    hop_length : model hop in samples.
    channel : device channel to use, or None for the mean of all channels.
    chunk : device samples read from the ring at a time.

    Examples
    --------
    >>> rb = RingBuffer(48000, 1)
    >>> hr = HopReader(rb, 48000, 44100, 441)
    >>> rb.write(np.zeros((4800, 1), np.float32), 0.0)
    True
    >>> n = sum(1 for _ in hr.hops())   # soxr holds back its filter delay at first
    """

    def __init__(self, ring: RingBuffer, in_rate: float, out_rate: int, hop_length: int,
                 channel: int | None = None, chunk: int = 256) -> None:
        self.ring = ring
        self.in_rate = float(in_rate)
        self.out_rate = int(out_rate)
        self.hop_length = int(hop_length)
        self.channel = channel
        self._block = np.zeros((int(chunk), ring.channels), np.float32)
        self._mono = np.zeros(int(chunk), np.float32)
        self._resampler = None if self.in_rate == self.out_rate else soxr.ResampleStream(
            self.in_rate, self.out_rate, 1, dtype="float32", quality="HQ")
        # pending model-rate samples not yet forming a whole hop
        self._pending = np.zeros(self.hop_length + int(chunk * out_rate / in_rate) + 64,
                                 np.float32)
        self._n_pending = 0
        self._hop = np.zeros(self.hop_length, np.float32)
        self.samples_out = 0          # model-rate samples handed out as hops
        self.nonfinite_samples = 0    # NaN/Inf replaced by 0
        self.tap = None               # optional callable fed each device-rate mono chunk

    def reset(self) -> None:
        """Start a new stream (after a device change)."""
        if self._resampler is not None:
            self._resampler.clear()
        self._n_pending = 0
        self.samples_out = 0

    def _downmix(self) -> np.ndarray:
        b = self._block
        if self.channel is not None:
            self._mono[:] = b[:, self.channel]
        elif b.shape[1] == 1:
            self._mono[:] = b[:, 0]
        else:
            np.mean(b, axis=1, out=self._mono)
        if not np.isfinite(self._mono).all():
            bad = ~np.isfinite(self._mono)
            self.nonfinite_samples += int(bad.sum())
            self._mono[bad] = 0.0
        return self._mono

    def hops(self):
        """Yield every complete hop available now (the same array, refilled: copy to keep)."""
        while self.ring.read_into(self._block):
            x = self._downmix()
            if self.tap is not None:
                self.tap(x)
            y = x if self._resampler is None else self._resampler.resample_chunk(x)
            i = 0
            while i < len(y):
                take = min(self.hop_length - self._n_pending, len(y) - i)
                self._pending[self._n_pending:self._n_pending + take] = y[i:i + take]
                self._n_pending += take
                i += take
                if self._n_pending == self.hop_length:
                    self._hop[:] = self._pending[:self.hop_length]
                    self._n_pending = 0
                    self.samples_out += self.hop_length
                    yield self._hop
