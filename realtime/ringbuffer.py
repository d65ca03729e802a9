"""Lock-free single-producer/single-consumer ring buffer for audio blocks.

The audio callback (producer) copies each block into preallocated numpy storage and then
publishes it by advancing a monotonically increasing write counter; the worker (consumer) reads
behind it and advances its own read counter. Each counter has exactly one writer, so no lock is
needed: under CPython a published integer is seen whole, and the data is written before the
counter that makes it visible. A block that does not fit is dropped whole and counted, never
silently lost. Each block's first sample index and its ADC time are kept in a second ring so the
reader can tell when any sample was heard.
"""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """SPSC ring of ``capacity`` frames x ``channels`` float32 samples.

    Examples
    --------
    >>> rb = RingBuffer(capacity=8, channels=1)
    >>> rb.write(np.ones((3, 1), np.float32), adc_time=0.0)
    True
    >>> rb.available()
    3
    >>> out = np.zeros((2, 1), np.float32)
    >>> rb.read_into(out)
    True
    >>> rb.available()
    1
    """

    def __init__(self, capacity: int, channels: int = 1, max_blocks: int = 4096) -> None:
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._data = np.zeros((self.capacity, self.channels), np.float32)
        # per-block timing: first sample index (as float64, exact below 2**53) and ADC time
        self._max_blocks = int(max_blocks)
        self._block_start = np.zeros(self._max_blocks, np.float64)
        self._block_adc = np.zeros(self._max_blocks, np.float64)
        self._write = 0          # samples ever written (producer only)
        self._read = 0           # samples ever read (consumer only)
        self._blocks = 0         # blocks ever written (producer only)
        self._dropped_samples = 0  # producer only
        self._dropped_blocks = 0   # producer only

    # ---------------------------------------------------------------- producer side
    def write(self, block: np.ndarray, adc_time: float) -> bool:
        """Copy ``block`` (frames x channels) in; False (and counted) if it does not fit.

        Called from the audio callback: no allocation beyond numpy views, no lock, no I/O.
        """
        n = block.shape[0]
        w = self._write
        if w - self._read + n > self.capacity:
            self._dropped_samples += n
            self._dropped_blocks += 1
            return False
        start = w % self.capacity
        first = min(n, self.capacity - start)
        self._data[start:start + first] = block[:first]
        if first < n:
            self._data[:n - first] = block[first:]
        b = self._blocks % self._max_blocks
        self._block_start[b] = w
        self._block_adc[b] = adc_time
        self._blocks += 1   # publish timing, then data
        self._write = w + n
        return True

    # ---------------------------------------------------------------- consumer side
    def available(self) -> int:
        """Samples written and not yet read."""
        return self._write - self._read

    def read_into(self, out: np.ndarray) -> bool:
        """Fill ``out`` (frames x channels) with the next samples; False if not enough yet."""
        n = out.shape[0]
        r = self._read
        if self._write - r < n:
            return False
        start = r % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._data[start:start + first]
        if first < n:
            out[first:] = self._data[:n - first]
        self._read = r + n
        return True

    @property
    def read_count(self) -> int:
        """Samples consumed so far: the stream index of the next sample to read."""
        return self._read

    @property
    def write_count(self) -> int:
        """Samples published so far."""
        return self._write

    @property
    def dropped_samples(self) -> int:
        """Samples the producer had to drop because the reader fell behind (overruns)."""
        return self._dropped_samples

    @property
    def dropped_blocks(self) -> int:
        """Blocks dropped by the producer (overrun events)."""
        return self._dropped_blocks

    def latest_block(self) -> tuple[float, float] | None:
        """(first sample index, ADC time) of the newest published block, or None."""
        n = self._blocks
        if n == 0:
            return None
        b = (n - 1) % self._max_blocks
        return float(self._block_start[b]), float(self._block_adc[b])

    def blocks_since(self, count: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Timing of blocks published after the first ``count`` blocks.

        Returns ``(new_count, starts, adc_times)``; at most ``max_blocks`` most recent blocks are
        available (older ones have been overwritten).
        """
        n = self._blocks
        lo = max(count, n - self._max_blocks + 1)
        idx = np.arange(lo, n) % self._max_blocks
        return n, self._block_start[idx].copy(), self._block_adc[idx].copy()
