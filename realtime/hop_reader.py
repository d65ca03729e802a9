"""Worker-side input stage: ring buffer -> channel select/downmix -> resample -> model-rate hops.

Runs in the worker thread (never in the audio callback). soxr's streaming resampler gives the
same samples however the input is chunked, so the live path and the file path agree exactly.
"""
from __future__ import annotations

import math

import numba
import numpy as np
import soxr

from .ringbuffer import RingBuffer


@numba.njit(cache=True, nogil=True)
def mono_sample(block, i, channel):
    """Row ``i`` of ``block`` [n, channels] as one sample (float): ``channel``, or the mean of
    the channels when ``channel < 0``. What the tracker hears and the level meter meters."""
    if channel >= 0:
        return float(block[i, channel])
    v = 0.0
    for c in range(block.shape[1]):
        v += float(block[i, c])
    return v / block.shape[1]


@numba.njit(cache=True, nogil=True)
def _mono_into(block, channel, mono, start):
    """Rows of ``block`` as mono samples (:func:`mono_sample`) into ``mono[start:]``; NaN and
    Inf become 0. Returns how many."""
    bad = 0
    for i in range(block.shape[0]):
        v = mono_sample(block, i, channel)
        if not math.isfinite(v):
            v = 0.0
            bad += 1
        mono[start + i] = v
    return bad


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
        self._chunk = int(chunk)
        self._channel = -1 if channel is None else int(channel)
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

    def _downmix(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The ring's unread views as one mono chunk (NaN/Inf replaced by 0 and counted)."""
        n1 = first.shape[0]
        bad = _mono_into(first, self._channel, self._mono, 0)
        if second.shape[0]:
            bad += _mono_into(second, self._channel, self._mono, n1)
        if bad:
            self.nonfinite_samples += bad
        return self._mono[:n1 + second.shape[0]]

    def read_hops(self, out: np.ndarray) -> int:
        """Fill the rows of ``out`` [max_hops, hop_length] with the complete hops available now.

        Returns the number of hops written. Reads no more from the ring than fits in ``out``, so
        whatever is left waits there for the next call.
        """
        hop = self.hop_length
        n_out = 0
        while True:
            room = (out.shape[0] - n_out) * hop - self._n_pending     # model-rate samples
            want = min(self._chunk, int(room / self._ratio) - 64)
            if want <= 0:
                break
            first, second = self.ring.unread(want)
            if not first.shape[0]:
                break
            x = self._downmix(first, second)
            self.ring.consume(x.shape[0])
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
