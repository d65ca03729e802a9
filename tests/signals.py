"""Test signals with exactly known beats (numpy only)."""
from __future__ import annotations

import numpy as np


def drum_loop(sr: int, bpm: float, seconds: float, meter: int = 4, seed: int = 0,
              level: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kick on beat 1 (and 3 in 4/4), snare on the others, hi-hat on eighths, a bass note per beat.

    Returns ``(y, beat_times, beat_in_bar)``; the first beat is at 0.25 s.
    """
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    y = np.zeros(n)
    period = 60.0 / bpm
    t0 = 0.25
    beats = np.arange(t0, seconds - 0.05, period)
    pos = (np.arange(len(beats)) % meter) + 1
    tk = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-tk * 30)) * tk) * np.exp(-tk * 12)
    ts = np.arange(int(0.18 * sr)) / sr
    snare = (0.6 * rng.standard_normal(len(ts)) + 0.4 * np.sin(2 * np.pi * 190 * ts)) \
        * np.exp(-ts * 22)
    th = np.arange(int(0.05 * sr)) / sr
    hat = rng.standard_normal(len(th)) * np.exp(-th * 90)
    hat = np.diff(hat, prepend=0.0)
    tb = np.arange(int(period * 0.9 * sr)) / sr
    for b, p in zip(beats, pos):
        i = int(round(b * sr))
        is_kick = p == 1 or (meter == 4 and p == 3)
        src = kick if is_kick else snare
        m = min(len(src), n - i)
        y[i:i + m] += (1.0 if is_kick else 0.7) * src[:m]
        f = 55.0 * (1.5 if p == 3 else 1.0)
        m = min(len(tb), n - i)
        y[i:i + m] += 0.15 * np.sin(2 * np.pi * f * tb[:m]) * np.exp(-tb[:m] * 3)
        for half in (0.0, 0.5):
            j = int(round((b + half * period) * sr))
            m = min(len(hat), n - j)
            if m > 0:
                y[j:j + m] += 0.08 * hat[:m]
    y = level * y / np.max(np.abs(y))
    return y.astype(np.float32), beats, pos
