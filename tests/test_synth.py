"""Synthetic training audio: deterministic, finite, labels consistent with what was rendered."""
from __future__ import annotations

import numpy as np
import pytest

from export.synth import LEVELS, NO_BEAT_KINDS, SR, generate_track, no_beat_audio, rubato_grid


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


def test_no_beat_audio_kinds():
    for kind in NO_BEAT_KINDS:
        y = no_beat_audio(kind, 3.0, seed=2)
        assert y.dtype == np.float32 and y.shape == (3 * SR,)
        assert np.all(np.isfinite(y)) and np.abs(y).max() <= 1.0
        rms_db = 10 * np.log10(np.mean(y.astype(np.float64) ** 2))
        assert -45.0 < rms_db < -19.0, (kind, rms_db)
        np.testing.assert_array_equal(y, no_beat_audio(kind, 3.0, seed=2))   # deterministic
    with pytest.raises(ValueError, match="unknown kind"):
        no_beat_audio("bagpipes", 1.0)


def test_unseen_no_beat_kinds_are_apart_from_the_training_kinds():
    """The evaluation-only kinds (``bench_false_beats.py --unseen 1|2``) are not training
    kinds, are deterministic, stay within full scale, and ``no_beat_set`` gives each set."""
    from export.synth import UNSEEN_NO_BEAT_KINDS, UNSEEN_NO_BEAT_KINDS_2, no_beat_set

    assert not set(UNSEEN_NO_BEAT_KINDS + UNSEEN_NO_BEAT_KINDS_2) & set(NO_BEAT_KINDS)
    assert not set(UNSEEN_NO_BEAT_KINDS) & set(UNSEEN_NO_BEAT_KINDS_2)
    for kind in UNSEEN_NO_BEAT_KINDS + UNSEEN_NO_BEAT_KINDS_2:
        y = no_beat_audio(kind, 2.0, seed=3)
        assert y.dtype == np.float32 and y.shape == (2 * SR,) and np.all(np.isfinite(y))
        assert 1e-3 < np.sqrt(np.mean(y.astype(np.float64) ** 2)) and np.abs(y).max() <= 2.0
        np.testing.assert_array_equal(y, no_beat_audio(kind, 2.0, seed=3))
    for unseen, kinds in ((1, UNSEEN_NO_BEAT_KINDS), (2, UNSEEN_NO_BEAT_KINDS_2)):
        names = no_beat_set(1.0, 2, 0, unseen=unseen)
        assert {n.split(" #")[0] for n in names} == set(kinds)
    steady = [n for n in no_beat_set(1.0, 2, 5, unseen=1, steady_seeds=3) if "noise" in n]
    assert sorted(steady) == sorted(f"{k} #{s}" for k in ("brown noise", "loud pink noise",
                                                          "swelling noise") for s in (5, 6, 7))


def _fake_synth(levels: list[int]):
    """One 30 s stand-in synthetic track (random features, a beat every 50 frames) per entry of
    ``levels``, at that curriculum level."""
    from export import dataset as D

    rng = np.random.default_rng(0)
    return [D.Track(f"s{i}", f"synth_L{lvl}", rng.random((3000, D.N_MELS), np.float32),
                    np.arange(50.0, 2950.0, 50.0), np.arange(58) % 4 == 0, True, True, lvl)
            for i, lvl in enumerate(levels)]


def test_no_beat_negatives_train_silence_and_leave_older_batches_unchanged(tmp_path, monkeypatch):
    """``export.dataset.no_beat_tracks``: every kind, seeds away from the benches' (0-2,
    100-102), cached features; a crop from one has zero targets and a full loss mask, and a
    sampler that does not use the pool gives exactly the batches it gave before."""
    from export import dataset as D

    monkeypatch.setattr(D, "FEATURE_DIR", tmp_path)
    neg = D.no_beat_tracks(4, workers=1, progress=False, duration=3.0)
    kinds = [t.meta["kind"] for t in neg]
    assert sorted(set(kinds)) == sorted(NO_BEAT_KINDS)
    assert kinds.count("talk") == 4 and kinds.count("hum") == 1
    assert min(t.meta["seed"] for t in neg) >= D.NO_BEAT_FIRST_SEED > 102
    assert all(t.logmel.shape == (300, D.N_MELS) and t.beat_frames.size == 0 for t in neg)
    assert len(list(tmp_path.rglob("*.npz"))) == len(neg)

    synth = _fake_synth([0, 0, 0])
    a = D.Sampler(synth, [], 7, 200, 6, levels=1)
    b = D.Sampler(synth, [], 7, 200, 6, levels=1, negatives=neg, p_negative=0.0)
    c = D.Sampler(synth, [], 7, 200, 6, levels=1, negatives=neg, p_negative=1.0, p_join=0.0)
    for step in range(3):
        np.testing.assert_array_equal(a.batch_at(step, 0.5)[0], b.batch_at(step, 0.5)[0])
    _, y, m = c.batch_at(0, 0.5)
    assert y.max() == 0.0 and m.min() == 1.0
    assert a.batch_at(0, 0.5)[1].max() == 1.0


def test_band_level_puts_loud_onsets_off_the_beat_and_levels_can_be_named():
    """Level 5 (rock and metal bands) renders a band scene; some of its tracks put more onset
    energy between the beats than on them (skank snare, off-beat hats and riffs), which is the
    point of the level. A sampler given a list of levels draws only those, and the list
    ``0 .. N-1`` gives exactly the batches of the plain count ``N``."""
    from export import dataset as D

    flux_ratio = []
    for seed in range(8):
        tr = generate_track(seed, 5, 12.0)
        assert tr.info["scene"] == "band"
        y = tr.audio.astype(np.float64)
        env = np.abs(np.diff(y)) ** 2
        def energy(t):
            s = int(t * SR)
            return env[s:s + int(0.03 * SR)].sum()
        b = tr.beats[(tr.beats > 0.5) & (tr.beats < 11.0)]
        on = np.mean([energy(t) for t in b[:-1]])
        off = np.mean([energy((t + u) / 2) for t, u in zip(b[:-1], b[1:])])
        flux_ratio.append(off / on)
    assert min(flux_ratio) < 1.0 < max(flux_ratio)

    synth = _fake_synth([0, 1, 2, 3, 5])
    four = D.Sampler(synth, [], 7, 200, 6, levels=4)
    named = D.Sampler(synth, [], 7, 200, 6, levels=[0, 1, 2, 3])
    for step in range(3):
        np.testing.assert_array_equal(four.batch_at(step, 0.5)[0], named.batch_at(step, 0.5)[0])
    band = D.Sampler(synth, [], 7, 200, 6, levels=[5])
    rng2 = np.random.default_rng(1)
    assert {band._pick(rng2, 0.5).level for _ in range(20)} == {5}


def test_offbeat_and_beat_weights_weight_only_their_frames_of_the_beat_column():
    """``--offbeat-weight``: the beat column's loss weight is W within 3 frames of each
    midpoint between annotated beats (also after a time stretch), 1 elsewhere;
    ``--beat-weight``: B at the beats. The downbeat column, the features and the targets are
    untouched, so weights of 1 give the old batches."""
    from export import dataset as D

    synth = _fake_synth([0, 0, 0])     # beats every 50 frames
    a = D.Sampler(synth, [], 7, 200, 6, levels=1, p_join=0.0)
    w = D.Sampler(synth, [], 7, 200, 6, levels=1, p_join=0.0, offbeat_weight=4.0)
    for step in range(3):
        (xa, ya, ma), (xw, yw, mw) = a.batch_at(step, 0.5), w.batch_at(step, 0.5)
        np.testing.assert_array_equal(xa, xw)
        np.testing.assert_array_equal(ya, yw)
        np.testing.assert_array_equal(ma[..., 1], mw[..., 1])
        assert set(np.unique(mw[..., 0] / ma[..., 0])) == {1.0, 4.0}
        for y, m in zip(ya, mw):
            beats = np.flatnonzero(y[:, 0] == 1.0)
            mids = np.round(0.5 * (beats[:-1] + beats[1:])).astype(int)
            heavy = np.flatnonzero(m[:, 0] == 4.0)
            assert heavy.size
            heavy = heavy[(heavy > beats[0]) & (heavy < beats[-1])]  # not next to a beat
            # beyond the crop; every weighted frame is near a midpoint (of the unrounded,
            # possibly stretched beat positions: one frame more), and far from every beat
            assert np.abs(heavy[:, None] - mids[None, :]).min(axis=1).max() <= 4
            assert np.abs(heavy[:, None] - beats[None, :]).min() >= 15
    # --beat-weight: B at the beat frames and their neighbours (target > 0), with W elsewhere
    both = D.Sampler(synth, [], 7, 200, 6, levels=1, p_join=0.0, offbeat_weight=4.0,
                     beat_weight=3.0)
    (_, y, m1), (_, _, mb) = w.batch_at(0, 0.5), both.batch_at(0, 0.5)
    np.testing.assert_array_equal(mb[..., 0][y[..., 0] > 0], 3.0 * m1[..., 0][y[..., 0] > 0])
    np.testing.assert_array_equal(mb[..., 0][y[..., 0] == 0], m1[..., 0][y[..., 0] == 0])
    m = np.ones((100, 2), np.float32)
    m[:34] = 0.0                       # masked frames (outside a chart's span) stay masked
    D.offbeat_mask(m, np.array([-22.0, 10.0, 60.0]), 2.0)
    assert np.flatnonzero(m[:, 0] == 2.0).tolist() == list(range(34, 39))
    assert m[:34].max() == 0.0 and m[34:, 1].min() == 1.0


def test_tempo_labels_give_each_frame_its_stretched_tempo_and_leave_the_batches_unchanged():
    """``--tempo-loss``: with tempo labels a batch also gives each frame's annotated tempo
    after the crop's time stretch (120 BPM here, a beat every 50 frames, times the stretch
    read from the targets' beat spacing), 0 where the labels do not count; features, targets
    and loss weights are the batches without labels, so the control run is unchanged."""
    from export import dataset as D
    from export.model import TEMPO_CLASSES, tempo_class

    synth = _fake_synth([0, 0])
    seen_stretch = False
    for p_join in (0.5, 0.0):       # joined crops too; tempo values checked on single crops
        a = D.Sampler(synth, [], 7, 300, 8, levels=1, p_join=p_join)
        t = D.Sampler(synth, [], 7, 300, 8, levels=1, p_join=p_join, tempo_labels=True)
        for step in range(4):
            (xa, ya, ma), (xt, yt, mt, bpm) = a.batch_at(step, 0.5), t.batch_at(step, 0.5)
            np.testing.assert_array_equal(xa, xt)
            np.testing.assert_array_equal(ya, yt)
            np.testing.assert_array_equal(ma, mt)
            assert bpm.shape == ya.shape[:2] and np.all(bpm[ma[..., 0] == 0] == 0)
            if p_join:
                continue
            for y, b in zip(ya, bpm):
                beats = np.flatnonzero(y[:, 0] == 1.0)   # rounded: the spacing within a frame
                gap = (beats[-1] - beats[0]) / (len(beats) - 1)
                np.testing.assert_allclose(b, 6000.0 / gap, rtol=0.02)
                seen_stretch |= abs(gap - 50) >= 3
    assert seen_stretch
    assert tempo_class(np.array([120.0, 0.0, 1e4])).tolist()[1:] == [-1, TEMPO_CLASSES - 1]
    assert D.local_tempo(np.array([10.0]), 5).tolist() == [0.0] * 5
