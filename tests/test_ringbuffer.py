"""Ring buffer: order, wrap-around, overrun accounting, block timing; a real producer thread."""
from __future__ import annotations

import threading

import numpy as np

from realtime.ringbuffer import RingBuffer


def test_fifo_with_wraparound():
    rb = RingBuffer(capacity=10, channels=2)
    out = np.zeros((4, 2), np.float32)
    seq = np.arange(200, dtype=np.float32).reshape(100, 2)
    got = []
    pos = 0
    for step in range(25):
        assert rb.write(seq[pos:pos + 4], adc_time=step * 0.1)
        pos += 4
        assert rb.read_into(out)
        got.append(out.copy())
    np.testing.assert_array_equal(np.vstack(got), seq)
    assert rb.dropped_samples == 0


def test_overrun_is_counted_and_never_corrupts():
    rb = RingBuffer(capacity=8, channels=1)
    a = np.ones((6, 1), np.float32)
    b = 2 * np.ones((6, 1), np.float32)
    assert rb.write(a, 0.0)
    assert not rb.write(b, 0.1)            # does not fit: dropped whole, counted
    assert rb.dropped_blocks == 1 and rb.dropped_samples == 6
    out = np.zeros((6, 1), np.float32)
    assert rb.read_into(out)
    np.testing.assert_array_equal(out, a)
    assert not rb.read_into(out)           # nothing half-written is ever readable


def test_block_timing_is_kept():
    rb = RingBuffer(capacity=100, channels=1, max_blocks=4)
    for i in range(6):
        rb.write(np.zeros((10, 1), np.float32), adc_time=1.0 + i)
    n, starts, adcs = rb.blocks_since(0)
    assert n == 6
    np.testing.assert_array_equal(starts, [30, 40, 50])   # oldest overwritten, newest kept
    np.testing.assert_array_equal(adcs, [4.0, 5.0, 6.0])
    assert rb.latest_block() == (50.0, 6.0)


def test_threaded_producer_consumer_loses_nothing():
    rb = RingBuffer(capacity=4096, channels=1)
    total = 200_000
    block = 256
    src = np.arange(total, dtype=np.float32).reshape(-1, 1) % 65536

    def produce():
        i = 0
        while i < total:
            n = min(block, total - i)
            if rb.write(src[i:i + n], float(i)):
                i += n

    th = threading.Thread(target=produce)
    th.start()
    out = np.zeros((441, 1), np.float32)
    got = []
    while len(got) * 441 < total - 441:
        if rb.read_into(out):
            got.append(out.copy())
    th.join()
    got = np.vstack(got)
    np.testing.assert_array_equal(got, src[:len(got)])


def test_raw_callback_buffers_arrays_of_any_layout_and_peeking():
    """What a RawInputStream callback hands over (a cffi buffer of float32 bytes) lands as the
    same samples as an array; a float64 or strided array is converted, never reinterpreted;
    peek_since shows the unread samples (also across the wrap) without consuming them."""
    import cffi
    ffi = cffi.FFI()
    rb = RingBuffer(capacity=10, channels=2)
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert rb.write(ffi.buffer(ffi.from_buffer(x)), 0.0)
    out = np.zeros((6, 2), np.float32)
    assert rb.read_into(out)
    np.testing.assert_array_equal(out, x)
    y = np.arange(16, dtype=np.float64).reshape(8, 2)
    assert rb.write(y[::2], 1.0)                          # 4 frames, strided float64
    w, first, second = rb.peek_since(0)                   # frames 6..9, no wrap yet
    assert w == 10 and len(first) + len(second) == 4 and len(second) == 0
    assert rb.write(y[:4].astype(np.float32), 2.0)        # frames 10..13 wrap to the start
    w, first, second = rb.peek_since(8)
    assert w == 14
    np.testing.assert_array_equal(np.vstack([first, second]),
                                  np.vstack([y[::2][2:], y[:4]]).astype(np.float32))
    assert rb.available() == 8                            # peeking consumed nothing
    out = np.zeros((8, 2), np.float32)
    assert rb.read_into(out)
    np.testing.assert_array_equal(out, np.vstack([y[::2], y[:4]]).astype(np.float32))


def test_hop_reader_equals_the_one_shot_downmix_and_resampling():
    """HopReader reads the ring in place across its wrap-around: the mean of the channels (or one
    channel), NaN/Inf replaced by 0 and counted, resampled by soxr's stream; the hops equal the
    one-shot computation on the whole signal, however the blocks fall."""
    import soxr

    from realtime.hop_reader import HopReader
    rng = np.random.default_rng(3)
    y = (0.3 * rng.standard_normal((48000, 2))).astype(np.float32)
    y[1000:1010, 0] = np.nan
    y[2000:2003, 1] = np.inf
    for channel in (None, 1):
        rb = RingBuffer(capacity=5000, channels=2)           # wraps many times
        hr = HopReader(rb, 48000, 44100, 441, channel=channel, chunk=1500)
        hops = np.zeros((7, 441), np.float32)
        got, pos = [], 0
        for size in (1000, 1777, 512, 3000) * 20:
            if pos + size > len(y):
                break
            assert rb.write(y[pos:pos + size], pos / 48000)
            pos += size
            while n := hr.read_hops(hops):
                got.append(hops[:n].copy())
        mono = y[:pos, 1].copy() if channel == 1 else y[:pos].mean(axis=1)
        bad = ~np.isfinite(mono)
        mono[bad] = 0.0
        ref = soxr.ResampleStream(48000, 44100, 1, dtype="float32", quality="HQ").resample_chunk(
            mono)
        got = np.vstack(got).ravel()
        assert len(got) > 40000 and len(got) // 441 * 441 == len(got)
        np.testing.assert_allclose(got, ref[:len(got)], atol=1e-6)
        assert hr.nonfinite_samples == bad.sum() > 0
        assert rb.available() < 1500 + 441 * 48000 // 44100   # nothing held back needlessly
