"""The chart-grid check on synthetic drums with known beats (export.gridcheck)."""

from __future__ import annotations

import numpy as np

from export.gridcheck import SR, check_grid

BEAT_S = 0.5  # 120 BPM
DUR_S = 60.0


def _drums(snare_on_offbeats: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Kick on every beat; snare and hat loud on the off-beats (punk, ska) or a rock pattern
    (snare on 2 and 4, soft hats on the eighths).  Returns (audio, beat times)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 0.002, int(SR * DUR_S))
    beats = np.arange(1.0, DUR_S - 1.0, BEAT_S)
    n = int(0.12 * SR)
    t = np.arange(n) / SR
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-t / 0.05)
    noise = np.diff(rng.normal(0, 1, n + 1)) * np.exp(-t / 0.03)  # little energy in the kick band

    def add(at: float, x: np.ndarray, gain: float) -> None:
        i = int(round(at * SR))
        y[i:i + len(x)] += gain * x[: len(y) - i]

    for k, b in enumerate(beats):
        add(b, kick, 0.5)
        if snare_on_offbeats:
            add(b + BEAT_S / 2, noise, 0.6)
        else:
            add(b, noise, 0.4 if k % 2 else 0.1)
            add(b + BEAT_S / 2, noise, 0.02)
    return y, beats


def test_a_rock_grid_is_kept_as_before():
    y, beats = _drums(snare_on_offbeats=False)
    r = check_grid(y, beats)
    assert r.ok and not r.offbeat_heavy
    assert abs(r.offset_s) < 0.03


def test_a_grid_under_offbeat_snares_is_kept_when_the_kick_marks_its_beats():
    y, beats = _drums(snare_on_offbeats=True)
    r = check_grid(y, beats)
    assert r.ok and r.offbeat_heavy, r.reason
    assert r.half_ratio > 1.25 and r.kick_half_ratio < 0.8
    assert abs(r.offset_s) < 0.03


def test_a_grid_shifted_by_half_a_beat_is_still_rejected():
    y, beats = _drums(snare_on_offbeats=False)
    r = check_grid(y, beats + BEAT_S / 2)
    assert not r.ok and "off-beats stronger" in r.reason and "kick" in r.reason
