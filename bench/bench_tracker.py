"""Per-frame cost of the online tempo estimator + beat tracker.

Usage::

    .venv/bin/python bench/bench_tracker.py [--seconds 120] [--bpm 128]

Feeds synthetic activations (noisy beat peaks with downbeats, 10 % dropped beats, off-beat
peaks) frame by frame through :meth:`realtime.tracker.BeatTracker.process` (which includes the
:class:`realtime.tempo.TempoEstimator` update; the daemon's path) and reports microseconds per
frame: median, p99 and max of the wall time per call, and the mean process CPU time (steadier on
a shared machine); then the same frames in one :meth:`~realtime.tracker.BeatTracker.process_sequence`
call (the ``beatd analyze`` path: no per-frame call from Python).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.frontend import FrontendParams
from realtime.tracker import BeatTracker, TrackerParams


def synthetic(seconds: float, bpm: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    fp = FrontendParams()
    rng = np.random.default_rng(seed)
    n = int(seconds * fp.frame_rate)
    k = np.arange(n)
    beat = rng.uniform(0.0, 0.05, n)
    down = np.zeros(n)
    for j, t in enumerate(np.arange(0.5, seconds, 60.0 / bpm)):
        f = fp.time_to_frame(t)
        lo, hi = max(0, int(f) - 4), min(n, int(f) + 5)
        if rng.random() > 0.1:
            g = rng.uniform(0.5, 1.0) * np.exp(-0.5 * (k[lo:hi] - f) ** 2)
            beat[lo:hi] = np.maximum(beat[lo:hi], g)
            if j % 4 == 0:
                down[lo:hi] = np.maximum(down[lo:hi], g)
        if rng.random() < 0.3:
            f2 = fp.time_to_frame(t + 30.0 / bpm)
            lo2, hi2 = max(0, int(f2) - 4), min(n, int(f2) + 5)
            beat[lo2:hi2] = np.maximum(beat[lo2:hi2], 0.3 * np.exp(-0.5 * (k[lo2:hi2] - f2) ** 2))
    return beat, down


def bench(seconds: float, bpm: float, params: TrackerParams = TrackerParams()) -> dict:
    beat, down = synthetic(seconds, bpm)
    tr = BeatTracker(params)
    tr.process_sequence(beat[:500], down[:500])  # JIT warm-up
    tr.reset()
    b, d = beat.tolist(), down.tolist()
    dts = np.zeros(len(b))
    proc = tr.process
    pc = time.perf_counter_ns
    c0 = time.process_time()
    n_ev = 0
    for i in range(len(b)):
        t0 = pc()
        e = proc(b[i], d[i])
        dts[i] = pc() - t0
        n_ev += e is not None
    cpu = time.process_time() - c0
    tr.reset()
    c1 = time.process_time()
    n_seq = len(tr.process_sequence(beat, down))
    seq_cpu = time.process_time() - c1
    assert n_seq == n_ev, "process_sequence and process disagree"
    us = dts / 1e3
    return {"seq_cpu_us": seq_cpu / len(b) * 1e6, "frames": len(b),
            "median_us": float(np.median(us)),
            "p99_us": float(np.percentile(us, 99)), "max_us": float(us.max()),
            "cpu_us": cpu / len(b) * 1e6, "beats": n_ev, "states": tr.n_states,
            "tempi": len(tr._intervals)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--bpm", type=float, default=128.0)
    args = ap.parse_args(argv)
    r = bench(args.seconds, args.bpm)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")
    print(f"tempo+tracker, {r['states']} states ({r['tempi']} tempi), {r['frames']} frames "
          f"({args.seconds:.0f} s at {args.bpm:.0f} BPM, {r['beats']} beats):")
    print(f"  per frame: median {r['median_us']:.1f} us, p99 {r['p99_us']:.1f} us, "
          f"max {r['max_us']:.0f} us; mean CPU {r['cpu_us']:.1f} us")
    print(f"  one process_sequence call (file path): mean CPU {r['seq_cpu_us']:.1f} us per frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
