"""Frontend cost per hop on one core: median and p99 (target: <= 50 us median).

usage: python bench/bench_frontend.py [--seconds 60]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common import machine, pin_one_core, stats_us, table
from realtime.frontend import Frontend, FrontendParams


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="audio to process")
    args = ap.parse_args()
    pin_one_core()
    p = FrontendParams()
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(int(args.seconds * p.sample_rate))).astype(np.float32)
    fe = Frontend(p)
    fe.process_hop(y[:p.hop_length])  # compile / warm up
    n = len(y) // p.hop_length
    ns = np.zeros(n, np.int64)
    for k in range(n):
        hop = y[k * p.hop_length:(k + 1) * p.hop_length]
        t0 = time.perf_counter_ns()
        fe.process_hop(hop)
        ns[k] = time.perf_counter_ns() - t0
    med, p99, mx = stats_us(ns)
    t0 = time.perf_counter()
    Frontend(p).process_signal(y)
    per_frame_sig = (time.perf_counter() - t0) / n * 1e6
    print(f"# frontend benchmark: {machine()}")
    print(f"# {p.n_fft}-point window, hop {p.hop_length} @ {p.sample_rate} Hz, {p.n_mels} mel, "
          f"diff={p.diff}; {n} hops on one core")
    print(table(["path", "median us/hop", "p99 us/hop", "max us/hop"],
                [["process_hop (live)", med, p99, mx],
                 ["process_signal (file)", per_frame_sig, "-", "-"]]))


if __name__ == "__main__":
    main()
