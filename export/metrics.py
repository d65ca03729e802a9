"""Simple causal peak picking and beat F-measure (mir_eval) for training reports and evaluation.

``causal_peaks``: frame ``k`` is a beat when its activation is at least ``threshold``, is the
maximum of the last ``window`` frames (itself included), and no beat was picked in the previous
``min_interval`` seconds. Only frames ``<= k`` are used, so the same rule can run live.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

THRESHOLDS = tuple(np.round(np.arange(0.1, 0.75, 0.05), 2))


def causal_peaks(act: np.ndarray, threshold: float, fps: float = 100.0, window: int = 5,
                 min_interval: float = 0.15) -> np.ndarray:
    """Frame indices of causally picked peaks of a 1-D activation."""
    act = np.asarray(act, np.float64)
    if act.size == 0:
        return np.zeros(0, np.int64)
    padded = np.concatenate([np.full(window - 1, -np.inf), act])
    past_max = sliding_window_view(padded, window).max(axis=1)
    cand = np.flatnonzero((act >= threshold) & (act >= past_max))
    gap = min_interval * fps
    out, last = [], -np.inf
    for k in cand:
        if k - last >= gap:
            out.append(k)
            last = k
    return np.asarray(out, np.int64)


def frames_to_times(frames: np.ndarray, params) -> np.ndarray:
    return np.asarray(params.frame_time(np.asarray(frames, np.float64)), np.float64)


def beat_f_measure(ref_times: np.ndarray, est_times: np.ndarray, trim: bool = True) -> float:
    """mir_eval beat F-measure (70 ms window); ``trim`` drops beats before 5 s as mir_eval's
    ``beat.evaluate`` does."""
    import mir_eval

    ref = np.asarray(ref_times, np.float64)
    est = np.asarray(est_times, np.float64)
    if trim:
        ref = mir_eval.beat.trim_beats(ref)
        est = mir_eval.beat.trim_beats(est)
    if ref.size == 0:
        return float("nan")
    return float(mir_eval.beat.f_measure(ref, est))
