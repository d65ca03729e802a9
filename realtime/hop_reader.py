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
    chunk : most device samples read from the ring at a time.

    Examples
    --------
    >>> rb = RingBuffer(48000, 1)
    >>> hr = HopReader(rb, 48000, 44100, 441)
    >>> rb.write(np.zeros((4800, 1), np.float32), 0.0)
    True
    >>> hops = np.zeros((32, 441), np.float32)
    >>> n = hr.read_hops(hops)   # soxr holds back its filter delay at first
    """

    def __init__(self, ring: RingBuffer, in_rate: float, out_rate: int, hop_length: int,
                 channel: int | None = None, chunk: int = 4096) -> None:
        self.ring = ring
        self.in_rate = float(in_rate)
        self.out_rate = int(out_rate)
        self.hop_length = int(hop_length)
        self.channel = channel
        self._block = np.zeros((int(chunk), ring.channels), np.float32)
        self._mono = np.zeros(int(chunk), np.float32)
        self._resampler = None if self.in_rate == self.out_rate else soxr.ResampleStream(
            self.in_rate, self.out_rate, 1, dtype="float32", quality="HQ")
        self._ratio = self.out_rate / self.in_rate
        # model-rate samples not yet handed out as whole hops
        self._pending = np.zeros(self.hop_length + int(chunk * self._ratio) + 1024, np.float32)
        self._n_pending = 0
        self.samples_out = 0          # model-rate samples handed out as hops
        self.nonfinite_samples = 0    # NaN/Inf replaced by 0
        self.tap = None               # optional callable fed each device-rate mono chunk

    def reset(self) -> None:
        """Start a new stream (after a device change)."""
        if self._resampler is not None:
            self._resampler.clear()
        self._n_pending = 0
        self.samples_out = 0

    def _downmix(self, n: int) -> np.ndarray:
        b = self._block[:n]
        mono = self._mono[:n]
        if self.channel is not None:
            mono[:] = b[:, self.channel]
        elif b.shape[1] == 1:
            mono[:] = b[:, 0]
        else:
            np.mean(b, axis=1, out=mono)
        if not np.isfinite(mono).all():
            bad = ~np.isfinite(mono)
            self.nonfinite_samples += int(bad.sum())
            mono[bad] = 0.0
        return mono

    def read_hops(self, out: np.ndarray) -> int:
        """Fill the rows of ``out`` [max_hops, hop_length] with the complete hops available now.

        Returns the number of hops written. Reads no more from the ring than fits in ``out``, so
        whatever is left waits there for the next call.
        """
        hop = self.hop_length
        n_out = 0
        while True:
            room = (out.shape[0] - n_out) * hop - self._n_pending     # model-rate samples
            want = min(self._block.shape[0], int(room / self._ratio) - 64)
            if want <= 0:
                break
            n = self.ring.read_available(self._block[:want])
            if n == 0:
                break
            x = self._downmix(n)
            if self.tap is not None:
                self.tap(x)
            y = x if self._resampler is None else self._resampler.resample_chunk(x)
            p = self._n_pending
            self._pending[p:p + len(y)] = y
            p += len(y)
            k = min(p // hop, out.shape[0] - n_out)
            out[n_out:n_out + k] = self._pending[:k * hop].reshape(k, hop)
            rest = p - k * hop
            self._pending[:rest] = self._pending[k * hop:p]
            self._n_pending = rest
            n_out += k
            self.samples_out += k * hop
        return n_out
