"""Groove MIDI Dataset rendering (export/groove.py): the beat grid from the file's tempo and the
drummer's offset, the drum render, and the slow-level count of ``export.tune_tracker --groove``
(the sampler's ``pools``: tests/test_asap.py)."""
from __future__ import annotations

import numpy as np

from export import groove as G


def _sixteenths(bpm: float, bars: int, offset: float, jitter: float, seed: int = 0) -> np.ndarray:
    """Note rows (onset, offset, pitch, velocity): kick on 1 and 3, snare on 2 and 4, closed
    hat on every 16th, all ``offset`` s after the click with ``jitter`` s of random timing."""
    rng = np.random.default_rng(seed)
    six = 60.0 / bpm / 4
    rows = []
    for i in range(bars * 16):
        t = offset + i * six + rng.normal(0, jitter)
        rows.append([t, t + 0.05, 42, 60])
        if i % 8 == 0:
            rows.append([t, t + 0.05, 36, 110])
        elif i % 8 == 4:
            rows.append([t, t + 0.05, 38, 100])
    a = np.array(rows)
    return a[np.argsort(a[:, 0], kind="stable")]


def test_file_names_give_style_tempo_and_meter() -> None:
    m = G.NAME.search("drummer1/session1/3_soul-groove3_86_beat_4-4.mid")
    assert (m["style"], m["bpm"], m["num"]) == ("soul-groove", "86", "4")
    assert G.NAME.search("drummer1/session1/3_soul_86_fill_4-4.mid") is None


def test_grid_follows_the_drummer_not_the_click() -> None:
    """A drummer 15 ms behind the click: the beats move by 15 ms (within 1 ms, despite 5 ms of
    jitter); downbeats every fourth beat from the file's start."""
    notes = _sixteenths(90.0, 8, 0.015, 0.005)
    t, db, off = G.grid(notes, 90.0, 4, 8 * 4 * 60 / 90)
    assert abs(off - 0.015) < 0.001
    np.testing.assert_allclose(np.diff(t), 60 / 90)
    assert abs(t[0] - 0.015) < 0.001
    np.testing.assert_array_equal(np.flatnonzero(db), np.arange(0, t.size, 4))


def test_grid_ahead_of_the_click_drops_the_beat_before_zero() -> None:
    notes = _sixteenths(120.0, 4, -0.02, 0.0)
    t, db, off = G.grid(notes, 120.0, 4, 8.0)
    assert abs(off + 0.02) < 0.001 and t[0] > 0
    assert abs(t[0] - (0.5 - 0.02)) < 0.001 and not db[0] and db[3]


def test_grid_above_200_bpm_keeps_every_second_beat_and_the_downbeats() -> None:
    notes = _sixteenths(240.0, 8, 0.0, 0.0)
    t, db, _ = G.grid(notes, 240.0, 4, 8.0)
    np.testing.assert_allclose(np.diff(t), 0.5)
    np.testing.assert_array_equal(np.flatnonzero(db), np.arange(0, t.size, 2))


def test_render_sounds_at_the_drum_notes_and_skips_unmapped_ones() -> None:
    notes = np.array([[0.5, 0.6, 36, 120], [1.5, 1.6, 38, 120], [2.5, 2.6, 99, 120]], float)
    beats = np.arange(0.0, 3.0, 0.5)
    for seed in range(3):
        y, info = G.render(notes, beats, np.arange(beats.size) % 4 == 0, 0.0, 3.0,
                           np.random.default_rng(seed))
        assert y.shape == (3 * 44100,) and np.isfinite(y).all()
        if info["parts"]:
            continue                          # harmony sounds everywhere; checked below
        env = np.array([np.sqrt(np.mean(y[i:i + 441] ** 2)) for i in range(0, y.size - 441, 441)])
        for onset in (0.5, 1.5):
            k = int(onset * 100)
            assert env[k + 1:k + 6].mean() > 3 * env[k - 12:k - 4].mean(), (onset, info)
        k = 250
        assert env[k + 1:k + 6].mean() < 2 * env[k - 12:k - 4].mean() + 1e-9, info


def test_level_counts_tell_the_annotated_level_from_twice_its_tempo() -> None:
    """An 80 BPM pulse: alone it is tracked at its level; with peaks as high at every midpoint
    it is tracked at 160 BPM; a 120 BPM track is not counted among the slow ones."""
    from export.tune_tracker import level_counts
    from realtime.tracker import TrackerParams

    fr, n = 100, 3000
    ref = np.arange(0.5, n / fr - 0.5, 0.75)
    def act(times, mids):
        a = np.full((n, 2), 0.01)
        for t in times:
            a[int(round(t * fr)), 0] = 0.8
        if mids:
            for t in times[:-1] + 0.375:
                a[int(round(t * fr)), 0] = 0.8
        return a
    fast = np.arange(0.5, n / fr - 0.5, 0.5)
    tracks = [("plain", act(ref, False), ref, None), ("mids", act(ref, True), ref, None),
              ("fast", act(fast, False), fast, None)]
    p = TrackerParams()
    assert level_counts(p, tracks[:1]) == (1, 0, 1)
    assert level_counts(p, tracks[1:2]) == (0, 1, 1)
    assert level_counts(p, tracks) == (1, 1, 2)
