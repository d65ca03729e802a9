"""Beat network inference speed (onnxruntime, one thread).

    python bench/bench_network.py [--model models/beatd_gru.onnx] [--frames 6000] [--seconds 120]

Prints a markdown table: streaming ``BeatNetwork.process_frame`` (IO binding, preallocated state)
median / p99 microseconds per frame, the frontend's per-hop cost for reference, and sequence
mode (``process_sequence`` on ``--seconds`` of frames) as a real-time factor (compute time /
audio time) and frames per second.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.frontend import Frontend  # noqa: E402
from realtime.network import BeatNetwork, default_model_path  # noqa: E402


def _stats(ts: np.ndarray) -> tuple[float, float, float]:
    us = ts * 1e6
    return float(np.median(us)), float(np.percentile(us, 99)), float(np.mean(us))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--frames", type=int, default=6000, help="streaming frames to time")
    ap.add_argument("--seconds", type=float, default=120.0, help="audio length for sequence mode")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    net = BeatNetwork(a.model)
    p = net.params
    rng = np.random.default_rng(0)
    # realistic input: frontend frames of noise bursts at 120 BPM
    n_seq = int(a.seconds * p.frame_rate)
    y = (rng.standard_normal(n_seq * p.hop_length) * 0.01).astype(np.float32)
    for k in range(0, y.size - 2000, int(0.5 * p.sample_rate)):
        y[k:k + 2000] += rng.standard_normal(2000).astype(np.float32) * np.exp(-np.arange(2000) / 300)
    fe = Frontend(p)
    hops = y[: a.frames * p.hop_length].reshape(-1, p.hop_length)
    fe.process_hop(hops[0])
    t_fe = np.empty(len(hops))
    frames = np.empty((len(hops), p.n_features), np.float32)
    for i, h in enumerate(hops):
        t0 = time.perf_counter()
        frames[i] = fe.process_hop(h)
        t_fe[i] = time.perf_counter() - t0

    net.reset()
    for f in frames[:200]:  # warm-up
        net.process_frame(f)
    net.reset()
    t_net = np.empty(len(frames))
    for i, f in enumerate(frames):
        t0 = time.perf_counter()
        net.process_frame(f)
        t_net[i] = time.perf_counter() - t0

    # batched streaming calls, as the daemon makes them (all frames since its last wake-up)
    batch = 10
    net.reset()
    t_batch = np.empty(len(frames) // batch)
    for j in range(len(t_batch)):
        t0 = time.perf_counter()
        net.process_frames(frames[j * batch:(j + 1) * batch])
        t_batch[j] = (time.perf_counter() - t0) / batch

    seq_frames = Frontend(p).process_signal(y)
    net.process_sequence(seq_frames[:500])
    best = np.inf
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        net.process_sequence(seq_frames)
        best = min(best, time.perf_counter() - t0)
    audio_s = seq_frames.shape[0] / p.frame_rate

    m_net, p99_net, mean_net = _stats(t_net)
    m_fe, p99_fe, mean_fe = _stats(t_fe)
    size = Path(a.model).stat().st_size
    print(f"model: {a.model} ({size / 1024:.0f} KiB), onnxruntime 1 thread, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    print()
    print("| measurement | median | p99 | mean |")
    print("|---|---|---|---|")
    print(f"| streaming `process_frame` (µs/frame, {len(frames)} frames) | {m_net:.1f} | {p99_net:.1f} | {mean_net:.1f} |")
    m_b, p99_b, mean_b = _stats(t_batch)
    print(f"| streaming `process_frames`, {batch} frames per call (µs/frame) | {m_b:.1f} | "
          f"{p99_b:.1f} | {mean_b:.1f} |")
    print(f"| frontend `process_hop` (µs/frame, for reference) | {m_fe:.1f} | {p99_fe:.1f} | {mean_fe:.1f} |")
    print()
    print("| sequence mode | value |")
    print("|---|---|")
    print(f"| audio length | {audio_s:.0f} s ({seq_frames.shape[0]} frames) |")
    print(f"| `process_sequence` time (best of {a.repeats}) | {best:.3f} s |")
    print(f"| real-time factor (compute / audio) | {best / audio_s:.5f} ({audio_s / best:.0f}x faster than real time) |")
    print(f"| frames per second | {seq_frames.shape[0] / best:.0f} |")


if __name__ == "__main__":
    main()
