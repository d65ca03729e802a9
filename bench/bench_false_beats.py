"""Beats that beatd emits on sound without a beat, through the whole analyze pipeline.

Usage::

    .venv/bin/python bench/bench_false_beats.py [--seconds 60] [--seeds 3] [--set KEY=V ...]

Signals (generated, so there is no beat to find): white and pink noise at -25 dBFS, mains hum
with a little hiss, Poisson clicks (3.5 per second: typing, footsteps, a crowd's claps out of
time) and Poisson noise bursts of 80-250 ms (4 per second: the rhythm of speech syllables), each
at -20 dBFS RMS. For each: beats per minute and the confidence of those beats (percentiles), with
the default tracker and with every ``--set`` variant (e.g. ``--set unlock_gain=0.0``).

The tests' random activations (``export.tune_tracker.noise_activations``) stand in for the
network's output on such sound; this runs the real network on real audio.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.analyze import analyze_signal, load_network
from realtime.tracker import TrackerParams


def colored_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a 1/f**alpha power spectrum (0 white, 1 pink)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(len(spec), dtype=np.float64)
    k[0] = 1.0
    y = np.fft.irfft(spec / k ** (alpha / 2.0), n)
    return y / np.sqrt(np.mean(y ** 2))


def poisson_events(n: int, sr: int, rate: float, dur_s: tuple[float, float], click: bool,
                   rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise events at Poisson times: sharp clicks (3 ms decay) or Hann-shaped bursts."""
    y = np.zeros(n)
    t = rng.exponential(1.0 / rate)
    while t < n / sr - dur_s[1]:
        i = int(t * sr)
        d = int(rng.uniform(*dur_s) * sr)
        env = np.exp(-np.arange(d) / (0.003 * sr)) if click else np.hanning(d)
        y[i:i + d] += rng.standard_normal(d) * env * rng.uniform(0.3, 1.0)
        t += rng.exponential(1.0 / rate)
    return y / max(1e-12, float(np.sqrt(np.mean(y ** 2))))


def signals(seconds: float, sr: int, seeds: int) -> dict[str, np.ndarray]:
    """Name -> float32 samples; the event kinds once per seed."""
    n = int(seconds * sr)
    rng = np.random.default_rng(7)
    t = np.arange(n) / sr
    out = {"white noise -25 dBFS": colored_noise(n, 0.0, rng) * 10 ** (-25 / 20),
           "pink noise -25 dBFS": colored_noise(n, 1.0, rng) * 10 ** (-25 / 20),
           "50 Hz hum + hiss": 0.03 * np.sin(2 * np.pi * 50 * t) + 0.003 * rng.standard_normal(n)}
    for s in range(seeds):
        r = np.random.default_rng(1000 + s)
        out[f"clicks 3.5/s #{s}"] = poisson_events(n, sr, 3.5, (0.02, 0.03), True, r) * 0.1
        out[f"bursts 4/s #{s}"] = poisson_events(n, sr, 4.0, (0.08, 0.25), False, r) * 0.1
    return {k: v.astype(np.float32) for k, v in out.items()}


def parse_set(text: str) -> TrackerParams:
    """``KEY=V[,KEY=V]`` -> default TrackerParams with those fields replaced."""
    kw = {}
    for item in text.split(","):
        k, v = item.split("=", 1)
        kw[k.strip()] = float(v)
    return replace(TrackerParams(), **kw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=V[,KEY=V]")
    args = ap.parse_args(argv)
    net = load_network()
    sigs = signals(args.seconds, net.params.sample_rate, args.seeds)
    variants = [("defaults", TrackerParams())] + [(s, parse_set(s)) for s in args.set]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.processor() or platform.machine()}, {args.seconds:.0f} s per signal")
    print("| tracker | signal | beats per minute | confidence 10 / 50 / 90 % |")
    print("|---|---|---:|---|")
    for name, params in variants:
        total = 0
        for sig, y in sigs.items():
            ev = analyze_signal(y, net, tracker_params=params, tempo_hop_s=0.0).events
            total += len(ev)
            c = np.array([e.confidence for e in ev])
            pct = " / ".join(f"{np.percentile(c, q):.2f}" for q in (10, 50, 90)) if len(c) else "-"
            print(f"| {name} | {sig} | {len(ev) * 60.0 / args.seconds:.0f} | {pct} |")
        print(f"| {name} | **all** | {total * 60.0 / args.seconds / len(sigs):.1f} (mean) | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
