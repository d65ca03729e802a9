"""Ring buffer throughput, the audio callback's own cost versus a bare copy, and the worker's
input stage per wake-up.

usage: python bench/bench_input.py
The callback is invoked as sounddevice's ``RawInputStream`` calls it (a cffi buffer of the
block, the time and status structs), so the figure is the cost of everything it does; the bare
``np.copyto`` of the same block is the floor. Back to back (warm), and after a 21 ms sleep before
each call (cold: live, a 1024-frame block at 48 kHz arrives every 21 ms, and on a small VM a
cold call costs many times a warm one). The worker's input stage is what the daemon does with
the ring at each wake-up before the frontend: new blocks' timing into the stream clock, the level
meter, and :class:`~realtime.hop_reader.HopReader` (downmix, soxr 48 -> 44.1 kHz, hops), for
80 ms of stereo audio per wake-up; thread CPU time, warm and after an 80 ms sleep.
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


def worker_input_cost(reps: int, sleep_s: float) -> dict[str, float]:
    """Mean thread-CPU microseconds per wake-up of each input step (80 ms of audio each)."""
    from realtime.clock import StreamClock
    from realtime.hop_reader import HopReader
    from realtime.level import LevelMeter
    ring = RingBuffer.create_shared(48000 * 4, 2)
    clock, level = StreamClock(48000.0), LevelMeter(48000, None)
    reader = HopReader(ring, 48000, 44100, 441)
    starts, adcs = np.zeros(ring.max_blocks), np.zeros(ring.max_blocks)
    hops = np.zeros((32, 441), np.float32)
    block = (0.1 * np.random.default_rng(0).standard_normal((1024, 2))).astype(np.float32)
    tt = time.thread_time_ns
    cost = {"block timing + clock": 0, "level meter": 0, "hop reader": 0}
    count, level_pos = 0, 0
    for i in range(reps + 10):
        for _ in range(4):                              # 4 x 1024 frames: ~85 ms at 48 kHz
            ring.write(block, time.monotonic())
        if sleep_s:
            time.sleep(sleep_s)
        if i == 10:
            cost = dict.fromkeys(cost, 0)
        t = tt()
        count, k = ring.blocks_into(count, starts, adcs)
        clock.update(starts[:k], adcs[:k])
        t1 = tt()
        level_pos, first, second = ring.peek_since(level_pos)
        level.process(first)
        if len(second):
            level.process(second)
        t2 = tt()
        while reader.read_hops(hops) == len(hops):
            pass
        t3 = tt()
        cost["block timing + clock"] += t1 - t
        cost["level meter"] += t2 - t1
        cost["hop reader"] += t3 - t2
    ring.release(unlink=True)
    return {k: v / reps / 1e3 for k, v in cost.items()}


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
    print()
    warm, cold = worker_input_cost(2000, 0.0), worker_input_cost(150, 0.08)
    print(table(["worker input step, per wake-up", "warm us", "cold us (80 ms sleep before)"],
                [[k, warm[k], cold[k]] for k in warm]
                + [["total", sum(warm.values()), sum(cold.values())]]))


if __name__ == "__main__":
    main()
