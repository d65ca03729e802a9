"""Re-lock after a tempo step, and beats after the music stops, through the whole analyze pipeline.

Usage::

    .venv/bin/python bench/bench_tempo_step.py [--seeds 10] [--first-seed 0] [--levels 1 2 5]
        [--model M] [--peer madmom-online]

Issue #4's targets "after a tempo step (synthetic, 100 -> 130 BPM) locked again within 3 s" and
"zero beats in 10 s of digital silence and of -60 dBFS noise", measured on audio rather than on
the ideal activations of ``tests/test_tracker.py``. Each signal is a synthetic track
(:func:`export.synth.generate_track` with a fixed beat grid: drum kits at level 1, drums with
bass and chords at level 2, a rock band at level 5; the recording chain as in training) that plays
100 BPM from 0.5 s and 130 BPM from the first beat after 15 s until 30 s; then 10 s of digital
silence, then 10 s of white noise at -60 dBFS RMS. The reverse step (130 -> 100 BPM) is scored
too. Nothing was tuned on these signals (seeds from 0; training draws synthetic seeds from 0 as
well, but on random tempo curves, and the network never saw these grids).

Per signal: the time to lock from the first beat (``realtime.evaluate.time_to_lock``: four
emitted beats in a row within +-70 ms of the grid), the time to lock again from the first beat
after the step (same rule, on the new grid), the median tempo of the beats in the last 5 s of
music, and the beats emitted 0.1-1 s into the silence (beats predicted before the music
stopped, while the silence gate's 0.1 s level smoother still hears it), in the 9 s of silence
after that, and more than 0.1 s into the noise. ``--peer``
adds a reference tracker of ``../shared/peers`` on the same audio (16-bit WAV under
``.cache/tempo_step/``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine
from export.synth import SR, generate_track
from realtime.analyze import analyze_signal, load_network
from realtime.evaluate import tempo_from_beats, time_to_lock

START_S, STEP_S, MUSIC_S, QUIET_S = 0.5, 15.0, 30.0, 10.0
NOISE_DBFS = -60.0


def step_grid(bpm_a: float, bpm_b: float) -> np.ndarray:
    """Beat times: ``bpm_a`` from ``START_S``, ``bpm_b`` from the first beat after ``STEP_S``,
    until 2 s past the music (the renderer wants beats beyond its end)."""
    a = np.arange(START_S, STEP_S, 60.0 / bpm_a)
    b = a[-1] + 60.0 / bpm_a + np.arange(0.0, MUSIC_S + 2.0 - a[-1], 60.0 / bpm_b)
    return np.concatenate([a, b[b < MUSIC_S + 2.0]])


def signal(seed: int, level: int, grid: np.ndarray) -> np.ndarray:
    """The track on ``grid``, then digital silence, then white noise at ``NOISE_DBFS``."""
    music = generate_track(seed, level, MUSIC_S, grid=grid).audio.astype(np.float64)
    rng = np.random.default_rng([seed, 60])
    noise = rng.standard_normal(int(QUIET_S * SR)) * 10 ** (NOISE_DBFS / 20)
    return np.concatenate([music, np.zeros(int(QUIET_S * SR)), noise]).astype(np.float32)


def score(times: np.ndarray, bpms: np.ndarray | None, grid: np.ndarray) -> dict:
    """Lock, re-lock after the step, final tempo and beats in the silence and the noise."""
    ref = grid[grid < MUSIC_S]
    before, after = ref[ref < STEP_S], ref[ref >= STEP_S]   # the new tempo's first beat >= STEP_S
    late = (times > MUSIC_S - 5.0) & (times < MUSIC_S)
    if bpms is None:
        bpm = tempo_from_beats(times[late])
    else:
        bpm = float(np.median(bpms[late])) if late.any() else float("nan")
    return {"lock": time_to_lock(times[times < after[0] - 0.3], before),
            "relock": time_to_lock(times[times > after[0] - 0.3], after),
            "bpm": bpm,
            "tail": int(((times > MUSIC_S + 0.1) & (times < MUSIC_S + 1.0)).sum()),
            "silence": int(((times >= MUSIC_S + 1.0) & (times < MUSIC_S + QUIET_S)).sum()),
            "noise": int((times > MUSIC_S + QUIET_S + 0.1).sum())}


def summary(rows: list[dict], target: float) -> str:
    """One table row's cells over the signals of one tracker, level and direction."""
    lock = np.array([r["lock"] for r in rows])
    relock = np.array([r["relock"] for r in rows])
    fin = relock[np.isfinite(relock)]
    ok_bpm = np.mean([abs(r["bpm"] - target) < 0.04 * target for r in rows])
    return (f"{len(rows)} | {np.median(lock):.2f} | {np.median(relock):.2f} | "
            f"{(fin.max() if len(fin) else float('inf')):.2f} | "
            f"{np.mean(relock <= 3.0):.2f} | {ok_bpm:.2f} | "
            f"{sum(r['tail'] for r in rows)} | {sum(r['silence'] for r in rows)} | "
            f"{sum(r['noise'] for r in rows)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 5],
                    help="export.synth curriculum levels (1 drums, 2 drums and harmony, 5 band)")
    ap.add_argument("--model", default=None, help="streaming ONNX model (default: the shipped one)")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME",
                    help="also run this reference tracker of ../shared/peers (e.g. madmom-online)")
    args = ap.parse_args(argv)
    net = load_network(args.model)
    sigs = {}
    for a, b in ((100.0, 130.0), (130.0, 100.0)):
        grid = step_grid(a, b)
        for level in args.levels:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                sigs[(f"{a:.0f} -> {b:.0f}", level, seed)] = (signal(seed, level, grid), grid, b)
    results: dict[tuple[str, str, int], list[dict]] = {}
    for (direction, level, seed), (y, grid, _) in sigs.items():
        ev = analyze_signal(y, net, tempo_hop_s=0.0).events
        t = np.array([e.time for e in ev])
        results.setdefault(("beatd", direction, level), []).append(
            score(t, np.array([e.bpm for e in ev]), grid))
    for peer in args.peer:
        for key, times in peer_beats(peer, sigs).items():
            direction, level, seed = key
            results.setdefault((peer, direction, level), []).append(
                score(times, None, sigs[key][1]))
    print(f"# {machine()}; {args.seeds} seeds from {args.first_seed} per level and direction")
    print("| tracker | step | level | signals | lock s (median) | re-lock s (median) | "
          "re-lock s (max of those that do) | re-locked <= 3 s | final tempo within 4 % | "
          "beats 0.1-1 s into the silence | beats in the 9 s after | "
          "beats in 10 s of -60 dBFS noise |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    target = {direction: bpm_b for (direction, _, _), (_, _, bpm_b) in sigs.items()}
    for (name, direction, level), rows in results.items():
        print(f"| {name} | {direction} | {level} | {summary(rows, target[direction])} |")
    return 0


def peer_beats(peer: str, sigs: dict) -> dict:
    """Beat times of reference tracker ``peer`` on each signal (one process, cached)."""
    from compare_peers import peer_beats_on_signals

    named = {key: (f"step_{key[0].replace(' -> ', 'to')}_L{key[1]}_s{key[2]}.wav", y)
             for key, (y, _, _) in sigs.items()}
    return peer_beats_on_signals(peer, named, ROOT / ".cache" / "tempo_step" / "signals", SR)


if __name__ == "__main__":
    sys.exit(main())
