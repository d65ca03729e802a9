"""Paired comparison of two models' per-track validation scores, with bootstrap intervals.

A rule that adopts a model on a difference of 0.005 in a mean over 62 chart tracks or 170 ASAP
excerpts needs to know how large a difference the choice of tracks alone can make. This prints,
per validation group and metric, the mean of ``B - A`` over the tracks both files score and a 95 %
interval from resampling those tracks (paired bootstrap).

    python -m export.tune_tracker --model A.onnx --asap --synth-level 0 1 2 3 --synth-n 8 \\
        --per-track runs/a.json
    python -m export.tune_tracker --model B.onnx --asap --synth-level 0 1 2 3 --synth-n 8 \\
        --per-track runs/b.json
    python -m export.compare_tracks runs/a.json runs/b.json

It says nothing about the spread between training runs of one recipe (seeds); that needs several
trained models.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

METRICS = ("f", "amlt", "lock")


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 10000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``b - a`` and its 95 % paired-bootstrap interval (percentiles 2.5 and 97.5).

    >>> paired_bootstrap(np.array([0.5, 0.6]), np.array([0.5, 0.6]))
    (0.0, 0.0, 0.0)
    """
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    if d.size == 0:
        return math.nan, math.nan, math.nan
    idx = np.random.default_rng(seed).integers(0, d.size, (n_boot, d.size))
    means = d[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(d.mean()), float(lo), float(hi)


def compare(a: dict, b: dict, n_boot: int = 10000) -> list[tuple[str, str, int, float, float, float]]:
    """Rows (group, metric, tracks, mean B - A, low, high) over the tracks of each group that
    both ``a`` and ``b`` (``--per-track`` files of ``export.tune_tracker``) score. Time to lock
    only over tracks that lock in both (its mean is otherwise infinite)."""
    rows = []
    for group in a:
        if group not in b:
            continue
        names = sorted(set(a[group]) & set(b[group]))
        for i, metric in enumerate(METRICS):
            x = np.array([a[group][n][i] for n in names], np.float64)
            y = np.array([b[group][n][i] for n in names], np.float64)
            keep = np.isfinite(x) & np.isfinite(y)
            rows.append((group, metric, int(keep.sum()), *paired_bootstrap(x[keep], y[keep], n_boot)))
    return rows


def load_per_track(path: str | Path) -> dict[str, dict[str, list[float]]]:
    """A ``--per-track`` file; JSON has no infinity, so a lock of ``null`` means never."""
    with open(path) as fh:
        raw = json.load(fh)
    return {g: {n: [f, amlt, math.inf if lock is None else lock]
                for n, (f, amlt, lock) in tracks.items()} for g, tracks in raw.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="--per-track file of the baseline")
    ap.add_argument("b", help="--per-track file of the candidate")
    ap.add_argument("--boot", type=int, default=10000, help="bootstrap resamples")
    args = ap.parse_args()
    print(f"# {args.b} minus {args.a}: mean over tracks, 95 % paired-bootstrap interval\n")
    print("| group | metric | tracks | B − A | 95 % interval |")
    print("|---|---|---:|---:|---|")
    for group, metric, n, mean, lo, hi in compare(load_per_track(args.a), load_per_track(args.b), args.boot):
        print(f"| {group} | {metric} | {n} | {mean:+.3f} | {lo:+.3f} … {hi:+.3f} |")


if __name__ == "__main__":
    main()
