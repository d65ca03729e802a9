"""Lock-free single-producer/single-consumer ring buffer for audio blocks.

The audio callback (producer) copies each block into preallocated numpy storage and then
publishes it by advancing a monotonically increasing write counter; the worker (consumer) reads
behind it and advances its own read counter. Each counter has exactly one writer, so no lock is
needed: the data is written before the counter that makes it visible, and a counter is one
aligned 8-byte store (atomic, and seen in program order on x86-64; on weakly ordered CPUs the
interpreter's own barriers around the GIL hand-off serve the same purpose). A block that does
not fit is dropped whole and counted, never silently lost. Each block's first sample index and
its capture time are kept in a second ring so the reader can tell when any sample was heard.

The storage can live in shared memory (:meth:`RingBuffer.create_shared` /
:meth:`RingBuffer.attach_shared`) so that the audio callback runs in a small capture process
(see :mod:`realtime.capture`) while the worker reads in the daemon.
"""
from __future__ import annotations

from multiprocessing import shared_memory

import numpy as np

# int64 header slots
_WRITE, _READ, _BLOCKS, _DROP_SAMPLES, _DROP_BLOCKS, _OVERFLOWS, _CALLBACKS = range(7)
_HEADER = 16  # int64 slots reserved


def _layout(capacity: int, channels: int, max_blocks: int) -> tuple[int, int, int, int]:
    """Byte offsets: header, block starts, block times, data; and the total size."""
    h = _HEADER * 8
    s = h + max_blocks * 8
    t = s + max_blocks * 8
    total = t + capacity * channels * 4
    return h, s, t, total


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

    def __init__(self, capacity: int, channels: int = 1, max_blocks: int = 4096,
                 buffer=None) -> None:
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._max_blocks = int(max_blocks)
        h, s, t, total = _layout(self.capacity, self.channels, self._max_blocks)
        if buffer is None:
            buffer = bytearray(total)
        # counters through a memoryview: plain-int loads and stores, much cheaper than numpy
        # scalars on the callback's path
        self._ctr = memoryview(buffer)[:_HEADER * 8].cast("q")
        self._block_start = np.ndarray(self._max_blocks, np.float64, buffer, h)
        self._block_adc = np.ndarray(self._max_blocks, np.float64, buffer, s)
        self._data = np.ndarray((self.capacity, self.channels), np.float32, buffer, t)
        # the producer's views of the same memory: plain memoryview stores and slice copies, no
        # numpy on the audio callback's path (numpy's dispatch is the costly part of a cold call)
        whole = memoryview(buffer)
        self._starts_mv = whole[h:s].cast("d")
        self._adcs_mv = whole[s:t].cast("d")
        self._flat = whole[t:total].cast("f")
        self._shm: shared_memory.SharedMemory | None = None

    # ---------------------------------------------------------------- shared memory
    @classmethod
    def create_shared(cls, capacity: int, channels: int, max_blocks: int = 4096
                      ) -> "RingBuffer":
        """A new ring in a shared-memory block (``.shm_name`` names it for the other side)."""
        total = _layout(capacity, channels, max_blocks)[3]
        shm = shared_memory.SharedMemory(create=True, size=total)
        rb = cls(capacity, channels, max_blocks, shm.buf)
        for i in range(_HEADER):
            rb._ctr[i] = 0
        rb._shm = shm
        return rb

    @classmethod
    def attach_shared(cls, name: str, capacity: int, channels: int, max_blocks: int = 4096
                      ) -> "RingBuffer":
        """Open a ring made by :meth:`create_shared` in another process."""
        try:
            shm = shared_memory.SharedMemory(name=name, create=False, track=False)
        except TypeError:   # Python < 3.13 registers every attach with its resource tracker,
            shm = shared_memory.SharedMemory(name=name, create=False)   # which would unlink
            from multiprocessing import resource_tracker                 # the block at exit
            resource_tracker.unregister(shm._name, "shared_memory")
        rb = cls(capacity, channels, max_blocks, shm.buf)
        rb._shm = shm
        return rb

    @property
    def shm_name(self) -> str | None:
        """Name of the shared-memory block, or None for a private ring."""
        return self._shm.name if self._shm is not None else None

    def release(self, unlink: bool = False) -> None:
        """Drop this process's mapping (and the block itself with ``unlink``)."""
        if self._shm is None:
            return
        shm, self._shm = self._shm, None
        for mv in (self._ctr, self._starts_mv, self._adcs_mv, self._flat):
            mv.release()
        del self._ctr, self._block_start, self._block_adc, self._data
        del self._starts_mv, self._adcs_mv, self._flat
        try:
            shm.close()
        except BufferError:   # a view is still alive somewhere; the OS frees it at exit
            pass
        if unlink:
            try:
                shm.unlink()
            except FileNotFoundError:
                pass

    # ---------------------------------------------------------------- producer side
    def write(self, block, adc_time: float) -> bool:
        """Copy ``block`` in; False (and counted) if it does not fit.

        ``block`` is [frames, channels] samples: the raw float32 buffer PortAudio hands to a
        ``RawInputStream`` callback, or an array (converted to C-contiguous float32 if it is not
        one already). Called from the audio callback: memoryview copies into preallocated
        storage, no numpy, no lock, no I/O.
        """
        src = memoryview(block)
        if src.format not in ("f", "B") or not src.c_contiguous:   # not from the callback
            src = memoryview(np.ascontiguousarray(block, np.float32))
        src = src.cast("B").cast("f")
        ch = self.channels
        n = src.shape[0] // ch
        ctr = self._ctr
        w = ctr[_WRITE]
        if w - ctr[_READ] + n > self.capacity:
            ctr[_DROP_SAMPLES] += n
            ctr[_DROP_BLOCKS] += 1
            return False
        start = (w % self.capacity) * ch
        first = min(n * ch, (self.capacity * ch) - start)
        flat = self._flat
        flat[start:start + first] = src[:first]
        if first < n * ch:
            flat[:n * ch - first] = src[first:]
        nb = ctr[_BLOCKS]
        b = nb % self._max_blocks
        self._starts_mv[b] = float(w)
        self._adcs_mv[b] = adc_time
        ctr[_BLOCKS] = nb + 1   # publish timing, then data
        ctr[_WRITE] = w + n
        return True

    def count_callback(self, overflow: bool) -> None:
        """Producer bookkeeping per callback: callbacks seen, driver overflows (xruns)."""
        self._ctr[_CALLBACKS] += 1
        if overflow:
            self._ctr[_OVERFLOWS] += 1

    # ---------------------------------------------------------------- consumer side
    def available(self) -> int:
        """Samples written and not yet read."""
        return self._ctr[_WRITE] - self._ctr[_READ]

    def read_into(self, out: np.ndarray) -> bool:
        """Fill ``out`` (frames x channels) with the next samples; False if not enough yet."""
        if self.available() < out.shape[0]:
            return False
        self.read_available(out)
        return True

    def read_available(self, out: np.ndarray) -> int:
        """Fill the first rows of ``out`` with up to ``len(out)`` waiting samples; return how many."""
        first, second = self.unread(out.shape[0])
        n1, n = first.shape[0], first.shape[0] + second.shape[0]
        out[:n1] = first
        out[n1:n] = second
        self.consume(n)
        return n

    def _views(self, lo: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` samples from stream index ``lo`` on as two views of the storage (the second
        is the part that wrapped around, often empty)."""
        if n <= 0:
            return self._data[:0], self._data[:0]
        start = lo % self.capacity
        first = min(n, self.capacity - start)
        return self._data[start:start + first], self._data[:n - first]

    def unread(self, max_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Views of up to ``max_frames`` unread samples, oldest first (``second`` is the part
        that wrapped around, often empty); :meth:`consume` then marks them read. No copy."""
        r = self._ctr[_READ]
        return self._views(r, min(max_frames, self._ctr[_WRITE] - r))

    def consume(self, n: int) -> None:
        """Mark the next ``n`` unread samples as read (after :meth:`unread`)."""
        self._ctr[_READ] = self._ctr[_READ] + n

    def peek_since(self, pos: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Views of the samples published after stream index ``pos`` that are not read yet,
        without consuming them (for a meter that looks at the input between reads).

        Returns ``(write_count, first, second)``: ``second`` is the part that wrapped around
        (often empty). Only unread samples are safe from the producer, so the views start at
        ``max(pos, read_count)``. Consumer side only (the same thread as the reads).
        """
        w = self._ctr[_WRITE]
        lo = max(pos, self._ctr[_READ], w - self.capacity)
        return (w, *self._views(lo, w - lo))

    @property
    def max_blocks(self) -> int:
        """Blocks whose timing the ring keeps."""
        return self._max_blocks

    @property
    def read_count(self) -> int:
        """Samples consumed so far: the stream index of the next sample to read."""
        return self._ctr[_READ]

    @property
    def write_count(self) -> int:
        """Samples published so far."""
        return self._ctr[_WRITE]

    @property
    def dropped_samples(self) -> int:
        """Samples the producer had to drop because the reader fell behind (overruns)."""
        return self._ctr[_DROP_SAMPLES]

    @property
    def dropped_blocks(self) -> int:
        """Blocks dropped by the producer (overrun events)."""
        return self._ctr[_DROP_BLOCKS]

    @property
    def callbacks(self) -> int:
        """Audio callbacks so far (liveness of the producer)."""
        return self._ctr[_CALLBACKS]

    @property
    def overflows(self) -> int:
        """Input overflows (xruns) the audio driver reported to the producer."""
        return self._ctr[_OVERFLOWS]

    def latest_block(self) -> tuple[float, float] | None:
        """(first sample index, ADC time) of the newest published block, or None."""
        n = self._ctr[_BLOCKS]
        if n == 0:
            return None
        b = (n - 1) % self._max_blocks
        return float(self._block_start[b]), float(self._block_adc[b])

    def blocks_since(self, count: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Timing of blocks published after the first ``count`` blocks.

        Returns ``(new_count, starts, adc_times)``; at most ``max_blocks`` most recent blocks are
        available (older ones have been overwritten). Allocates; the worker uses
        :meth:`blocks_into`.
        """
        starts, adcs = np.zeros(self._max_blocks), np.zeros(self._max_blocks)
        n, k = self.blocks_into(count, starts, adcs)
        return n, starts[:k], adcs[:k]

    def blocks_into(self, count: int, starts: np.ndarray, adcs: np.ndarray) -> tuple[int, int]:
        """:meth:`blocks_since` into the caller's arrays (at least ``max_blocks - 1`` long):
        returns ``(new_count, k)``, the new blocks being ``starts[:k]``, ``adcs[:k]``.

        A plain loop over the few blocks of a wake-up (no numpy call: on a cold wake-up numpy's
        dispatch costs far more than the copy).
        """
        n = self._ctr[_BLOCKS]
        lo = max(count, n - self._max_blocks + 1)
        mb, st, ad = self._max_blocks, self._starts_mv, self._adcs_mv
        k = 0
        for i in range(lo, n):
            starts[k] = st[i % mb]
            adcs[k] = ad[i % mb]
            k += 1
        return n, k
