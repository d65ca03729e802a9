"""Stream clock (sample index <-> monotonic time) and the input level meter."""
from __future__ import annotations

import numpy as np
import pytest

from realtime.clock import StreamClock
from realtime.level import LevelMeter


def test_clock_ignores_late_callbacks_and_follows_jumps():
    rate = 48000.0
    clock = StreamClock(rate)
    starts = np.arange(0, 48000 * 4, 256, dtype=np.float64)
    rng = np.random.default_rng(0)
    true_origin = 100.0
    late = rng.exponential(0.002, len(starts))          # callbacks run late, never early
    clock.update(starts, true_origin + starts / rate + late)
    assert abs(clock.monotonic_time(0.0) - true_origin) < 0.001
    assert abs(clock.sample_at_monotonic(true_origin + 1.0) - rate) < 48
    # an xrun: the stream continues 0.2 s later than its sample count says
    more = starts[-1] + 256 + np.arange(0, 48000, 256, dtype=np.float64)
    clock.update(more, true_origin + 0.2 + more / rate)
    assert clock.resyncs == 1
    assert abs(clock.monotonic_time(more[-1]) - (true_origin + 0.2 + more[-1] / rate)) < 0.001


def test_clock_follows_a_shifted_device_timeline_within_its_window():
    """A stalled dummy/driver cycle moves every later sample 30 ms later (below the jump
    threshold): the clock must follow within about its window, not over seconds."""
    rate, block = 48000.0, 1024
    clock = StreamClock(rate, window_s=0.5)
    starts = np.arange(0, 48000 * 2, block, dtype=np.float64)
    clock.update(starts, 5.0 + starts / rate)
    later = starts[-1] + block + np.arange(0, 48000 * 2, block, dtype=np.float64)
    times = 5.03 + later / rate
    errors = []
    for n, t in zip(later, times):
        clock.update(np.array([n]), np.array([t]))
        errors.append(clock.monotonic_time(n) - t)
    errors = np.abs(np.array(errors))
    k = int(0.8 * rate / block)                 # 0.8 s after the shift
    assert errors[k:].max() < 0.001, errors
    assert clock.resyncs == 0


def test_clock_follows_a_device_running_slow():
    """A JACK dummy driver on a loaded machine runs several per cent slow (the test feeder has
    measured 6-7 %): the origin rises steadily, and a sliding minimum at the nominal rate would
    lag it by the drift over its window (35 ms). The measured drift removes that lag; late
    stamps and one 30 ms stall do not disturb it."""
    rate, block, slow = 48000.0, 1024, 0.07
    clock = StreamClock(rate, window_s=0.5)
    rng = np.random.default_rng(3)
    starts = np.arange(0, 48000 * 12, block, dtype=np.float64)
    true = 7.0 + starts / (rate * (1.0 - slow)) + 0.03 * (starts > 48000 * 6)
    stamps = true + rng.exponential(0.003, len(starts))
    errors, resyncs = [], []
    for n, t, s in zip(starts, true, stamps):
        clock.update(np.array([n]), np.array([s]))
        errors.append(clock.monotonic_time(n + block) - (t + block / (rate * (1.0 - slow))))
        resyncs.append(clock.resyncs)
    errors = np.abs(np.array(errors))
    settled = (starts > 48000 * 4) & ~((starts > 48000 * 6) & (starts < 48000 * 7))
    assert errors[settled].max() < 0.003, errors[settled].max()
    assert abs(clock.drift - slow / (1.0 - slow)) < 0.005
    # before the drift is known (3 s) the lag may exceed jump_s and re-anchor; never after
    assert resyncs[-1] == resyncs[int(4 * rate / block)]


def test_level_meter_db_peak_and_clipping():
    m = LevelMeter(44100, smooth_s=0.05, clip_hold_s=0.5)
    sine = (0.5 * np.sin(np.arange(441 * 100) * 2 * np.pi * 441 / 44100)).astype(np.float32)
    for k in range(100):
        m.process(sine[k * 441:(k + 1) * 441, None])
    assert abs(m.level_db - 20 * np.log10(0.5 / np.sqrt(2))) < 0.2   # RMS of a sine, dBFS
    assert not m.clipping
    m.process(np.ones((441, 1), np.float32))
    assert m.clipping
    for _ in range(60):                                     # 0.6 s later the flag clears
        m.process(np.zeros((441, 1), np.float32))
    assert not m.clipping and m.level_db < -50


def test_level_meter_does_not_depend_on_block_size_and_picks_the_channel():
    """The worker meters whatever arrived since it last woke: a steady signal reads the same
    whatever the blocks; the configured channel (or the mean of the channels) is metered, and
    NaN samples are skipped."""
    rng = np.random.default_rng(4)
    x = np.zeros((48000, 2), np.float32)
    x[:, 0] = 0.1 * rng.standard_normal(48000)             # -20 dBFS noise on channel 0
    x[:, 1] = 0.5                                           # DC on channel 1
    x[1000, 0] = np.nan
    levels = []
    for sizes in ([64], [1024], [97, 3000, 5]):
        m = LevelMeter(48000, channel=0)
        i = k = 0
        while i < len(x):
            n = sizes[k % len(sizes)]
            m.process(x[i:i + n])
            i, k = i + n, k + 1
        levels.append(m.level_db)
    assert abs(levels[0] - -20.0) < 0.5
    assert max(levels) - min(levels) < 0.3, levels
    m1 = LevelMeter(48000, channel=1)
    m1.process(x)
    m1.process(x)                                           # 2 s: well past the 0.3 s smoothing
    assert abs(m1.level_db - 20 * np.log10(0.5)) < 0.1
    mix = LevelMeter(48000)                                 # None: the mean of the channels
    mix.process(x[2000:])
    mix.process(x[2000:])
    assert abs(mix.level_db - 10 * np.log10(0.25 ** 2 + 0.05 ** 2)) < 0.3   # (x0 + x1) / 2


def test_gate_batches_equal_hop_by_hop():
    """process_hops (the worker's path) gives the same gate values as one call per hop, also
    across the gate's closing and opening."""
    from realtime.tracker import SilenceGate
    rng = np.random.default_rng(4)
    hops = (0.3 * rng.standard_normal((400, 441))).astype(np.float32)
    hops[100:250] *= 1e-4                       # -90 dBFS: the gate closes, then opens again
    g1, g2 = SilenceGate(441, 44100), SilenceGate(441, 44100)
    gate_ref, gate = [], np.zeros(len(hops), bool)
    for s in range(0, len(hops), 40):
        for h in hops[s:s + 40]:
            gate_ref.append(g1.process_hop(h))
        g2.process_hops(hops[s:s + 40], gate[s:])
    np.testing.assert_array_equal(gate, gate_ref)
    assert not all(gate_ref) and any(gate_ref[250:])


def test_waker_wakes_a_sleeping_thread_at_once_and_times_out_otherwise():
    """The worker's and OSC sender's sleep: set() from another thread ends it within
    milliseconds, an unset wait lasts its timeout, a set() before the wait is not lost, and a
    set() after close() is harmless (the worker may still schedule a beat while closing)."""
    import threading
    import time

    from realtime.rtprio import Waker
    w = Waker()
    t0 = time.monotonic()
    assert w.wait(0.05) is False
    assert 0.04 < time.monotonic() - t0 < 0.5
    woke = []

    def sleeper():
        t = time.monotonic()
        woke.append((w.wait(5.0), time.monotonic() - t))
    th = threading.Thread(target=sleeper)
    th.start()
    time.sleep(0.1)
    w.set()
    th.join(2.0)
    assert woke and woke[0][0] is True and woke[0][1] < 1.0
    w.set()                                  # before the wait: the next wait returns at once
    t0 = time.monotonic()
    assert w.wait(5.0) is True and time.monotonic() - t0 < 0.5
    assert w.wait(0.01) is False             # consumed: it does not stay set
    w.close()
    w.set()


def test_worker_sleep_spaces_wake_ups_evenly_onto_the_beat_commit():
    """The worker's schedule: about the interval, with one wake-up landing on the moment the
    next beat's audio is in; at most 50 ms while locking; a 5 ms re-check when that audio is
    late; the interval when nothing is tracked."""
    import math

    from realtime.daemon import worker_sleep
    assert worker_sleep(0.0, 0.43, 0.1, False, 0.1) == pytest.approx(0.1075)   # 4 x 107.5 ms
    assert worker_sleep(0.0, 0.36, 0.1, False, 0.1) == pytest.approx(0.09)     # 4 x 90 ms
    assert worker_sleep(0.0, 0.14, 0.1, False, 0.1) == pytest.approx(0.14)     # one step
    assert worker_sleep(0.0, 0.001, 0.1, False, 0.1) == pytest.approx(0.002)   # floor
    assert worker_sleep(0.0, 0.43, 0.1, True, 0.1) == pytest.approx(0.43 / 9)  # locking
    assert worker_sleep(0.0, -0.01, 0.1, False, 0.1) == pytest.approx(0.005)   # stall
    assert worker_sleep(0.0, -0.5, 0.1, False, 0.1) == pytest.approx(0.1)      # long past
    assert worker_sleep(0.0, -math.inf, 0.1, False, 0.1) == pytest.approx(0.1)
