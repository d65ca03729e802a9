"""Synthetic training audio: deterministic, finite, labels consistent with what was rendered."""
from __future__ import annotations

import numpy as np
import pytest

from export.synth import LEVELS, SR, generate_track, rubato_grid


@pytest.mark.parametrize("level", LEVELS)
def test_tracks_are_deterministic_and_labelled(level):
    a = generate_track(3, level, 8.0)
    b = generate_track(3, level, 8.0)
    assert np.array_equal(a.audio, b.audio) and np.array_equal(a.beats, b.beats)
    assert a.audio.shape == (8 * SR,) and np.isfinite(a.audio).all() and np.abs(a.audio).max() > 0
    assert np.all(np.diff(a.beats) > 60 / 220) and a.beats[-1] < 8.0
    meter = a.info["meter"]
    assert set(np.unique(a.beat_in_bar)) <= set(range(1, meter + 1))
    # beat_in_bar counts up by one per beat, wrapping at the meter
    assert np.all((a.beat_in_bar[1:] - a.beat_in_bar[:-1]) % meter == 1 % meter)


def test_ensemble_level_has_no_drums_and_expressive_timing():
    tr = generate_track(1, 4, 20.0)
    assert tr.info["scene"] == "ensemble"
    beats, info = rubato_grid(np.random.default_rng(5), 30.0, 0.5, 4)
    ibi = np.diff(beats)
    assert info["tempo_mode"] == "rubato"
    assert ibi.std() / ibi.mean() > 0.01          # the tempo wanders
    assert 60 / ibi.max() > 50 * 0.5 and 60 / ibi.min() < 160 * 1.6
