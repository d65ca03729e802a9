"""Ring buffer throughput and the audio callback's own cost versus a bare copy.

usage: python bench/bench_input.py
The callback is invoked exactly as PortAudio would call it (same arguments), so the figure is
the cost of everything it does; the bare ``np.copyto`` of the same block is the floor.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from common import machine, pin_one_core, stats_us, table
from realtime.capture import make_callback
from realtime.ringbuffer import RingBuffer


def ring_throughput(block: int, seconds: float = 1.0) -> float:
    rb = RingBuffer.create_shared(48000 * 4, 2)
    x = np.zeros((block, 2), np.float32)
    out = np.zeros((block, 2), np.float32)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            rb.write(x, 0.0)
            rb.read_into(out)
        n += 100 * block
    rate = n / (time.perf_counter() - t0) / 1e6
    rb.release(unlink=True)
    return rate


def callback_cost(block: int, reps: int = 20000) -> tuple[tuple, tuple]:
    ring = RingBuffer.create_shared(48000 * 4, 2)   # as in the capture process
    callback = make_callback(ring)                   # the real callback, without a device
    indata = np.random.default_rng(0).standard_normal((block, 2)).astype(np.float32)
    t = SimpleNamespace(inputBufferAdcTime=1.0, currentTime=1.0)
    status = SimpleNamespace(input_overflow=False)
    out = np.zeros((block, 2), np.float32)
    dst = np.zeros((block, 2), np.float32)
    cb, copy = np.zeros(reps, np.int64), np.zeros(reps, np.int64)
    for i in range(reps):
        t0 = time.perf_counter_ns()
        callback(indata, block, t, status)
        cb[i] = time.perf_counter_ns() - t0
        ring.read_into(out)
        t0 = time.perf_counter_ns()
        np.copyto(dst, indata)
        copy[i] = time.perf_counter_ns() - t0
    ring.release(unlink=True)
    return stats_us(cb), stats_us(copy)


def main() -> None:
    pin_one_core()
    print(f"# input benchmark: {machine()}")
    rows = [[f"{b}-frame blocks, 2 ch", ring_throughput(b)] for b in (64, 256, 1024)]
    print(table(["ring buffer write+read", "Msamples/s"], rows))
    print()
    rows = []
    for b in (64, 256, 1024):
        (cm, cp, _), (km, kp, _) = callback_cost(b)
        rows.append([b, cm, cp, km, kp])
    print(table(["block", "callback median us", "callback p99 us", "bare copy median us",
                 "bare copy p99 us"], rows))


if __name__ == "__main__":
    main()
