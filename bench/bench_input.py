"""Ring buffer throughput and the audio callback's own cost versus a bare copy.

usage: python bench/bench_input.py
The callback is invoked as sounddevice's ``RawInputStream`` calls it (a cffi buffer of the
block, the time and status structs), so the figure is the cost of everything it does; the bare
``np.copyto`` of the same block is the floor. Back to back (warm), and after a 21 ms sleep before
each call (cold: live, a 1024-frame block at 48 kHz arrives every 21 ms, and on a small VM a
cold call costs many times a warm one).
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


def callback_cost(block: int, reps: int = 20000, sleep_s: float = 0.0) -> tuple[tuple, tuple]:
    ring = RingBuffer.create_shared(48000 * 4, 2)   # as in the capture process
    callback = make_callback(ring)                   # the real callback, without a device
    samples = np.random.default_rng(0).standard_normal((block, 2)).astype(np.float32)
    import cffi                                      # what a RawInputStream callback receives:
    ffi = cffi.FFI()                                 # PortAudio's buffer, not a numpy array
    indata = ffi.buffer(ffi.from_buffer(samples))
    t = SimpleNamespace(inputBufferAdcTime=1.0, currentTime=1.0)
    status = SimpleNamespace(input_overflow=False)
    out = np.zeros((block, 2), np.float32)
    dst = np.zeros((block, 2), np.float32)
    cb, copy = np.zeros(reps, np.int64), np.zeros(reps, np.int64)
    for i in range(reps):
        if sleep_s:
            time.sleep(sleep_s)
        t0 = time.perf_counter_ns()
        callback(indata, block, t, status)
        cb[i] = time.perf_counter_ns() - t0
        ring.read_into(out)
        t0 = time.perf_counter_ns()
        np.copyto(dst, samples)
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
        rows.append([b, "warm", cm, cp, km, kp])
    (cm, cp, _), (km, kp, _) = callback_cost(1024, reps=300, sleep_s=0.021)
    rows.append([1024, "cold (21 ms sleep before each)", cm, cp, km, kp])
    print(table(["block", "calls", "callback median us", "callback p99 us", "bare copy median us",
                 "bare copy p99 us"], rows))


if __name__ == "__main__":
    main()
