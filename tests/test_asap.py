"""ASAP performance reading (export/asap.py): notes with the sustain pedal, annotations, render,
and the sampler's extra pools (ASAP, grooves) leaving older recipes' batches unchanged."""
from __future__ import annotations

import mido
import numpy as np
import pytest

from export import asap as A
from export import dataset as D


def _perf_midi(path) -> None:
    """Two notes: C4 0.0-0.5 s released under the pedal (down 0.2 s, up 1.5 s); E4 1.0-1.2 s
    released under the pedal too; G4 2.0-2.25 s after the pedal is up."""
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))   # 1 tick = 1/960 s
    ev = [(0.0, mido.Message("note_on", note=60, velocity=100)),
          (0.2, mido.Message("control_change", control=64, value=127)),
          (0.5, mido.Message("note_off", note=60, velocity=0)),
          (1.0, mido.Message("note_on", note=64, velocity=64)),
          (1.2, mido.Message("note_on", note=64, velocity=0)),
          (1.5, mido.Message("control_change", control=64, value=0)),
          (2.0, mido.Message("note_on", note=67, velocity=80)),
          (2.25, mido.Message("note_off", note=67, velocity=0))]
    last = 0.0
    for t, msg in ev:
        tr.append(msg.copy(time=int(round((t - last) * 960))))
        last = t
    mid.save(str(path))


def test_pedal_holds_released_notes_until_it_lifts(tmp_path) -> None:
    _perf_midi(tmp_path / "p.mid")
    notes = A.read_notes(tmp_path / "p.mid")
    assert notes.shape == (3, 4)
    np.testing.assert_allclose(notes[:, 0], [0.0, 1.0, 2.0], atol=2e-3)
    np.testing.assert_allclose(notes[:, 1], [1.5, 1.5, 2.25], atol=2e-3)
    np.testing.assert_array_equal(notes[:, 2], [60, 64, 67])
    np.testing.assert_array_equal(notes[:, 3], [100, 64, 80])


def test_annotations_give_beats_and_downbeats(tmp_path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("0.5\t0.5\tb,,7\n1.0\t1.0\tdb,3/4,2\n1.5\t1.5\tb\n2.0\t2.0\tb\n2.5\t2.5\tdb\n")
    t, db = A.read_annotations(p)
    np.testing.assert_allclose(t, [0.5, 1.0, 1.5, 2.0, 2.5])
    np.testing.assert_array_equal(db, [False, True, False, False, True])


def test_render_sounds_at_the_notes(tmp_path) -> None:
    """Each note's onset raises the level; the excerpt's start cuts held notes, not time."""
    notes = np.array([[0.5, 0.9, 60, 100], [1.5, 1.9, 72, 100]], float)
    y, info = A.render(notes, 0.0, 2.5, np.random.default_rng(3))
    assert y.shape == (int(2.5 * 44100),) and np.isfinite(y).all()
    env = np.array([np.sqrt(np.mean(y[i:i + 441] ** 2)) for i in range(0, y.size - 441, 441)])
    for onset in (0.5, 1.5):
        k = int(onset * 100)
        assert env[k + 2:k + 10].mean() > 3 * env[k - 12:k - 4].mean(), (onset, info)


def _tracks(n: int, source: str) -> list[D.Track]:
    rng = np.random.default_rng(len(source))
    return [D.Track(f"{source}/{i}", source, rng.random((3000, D.N_MELS), np.float32),
                    np.arange(50.0, 2950.0, 50.0), np.zeros(58, bool), False, source == "synth",
                    0 if source == "synth" else -1) for i in range(n)]


@pytest.mark.parametrize("pool", ["extra", "pools"])
def test_an_unused_extra_pool_leaves_the_batches_unchanged(pool: str) -> None:
    """``extra`` (rendered ASAP) and ``pools`` (e.g. rendered grooves, export/groove.py): a pool
    with share 0 draws nothing, so older recipes' batches stay the same; share 0.5 changes them."""
    synth, charts, extra = _tracks(3, "synth"), _tracks(3, "fnf_x"), _tracks(3, "asap")
    def sampler(p: float) -> D.Sampler:
        kw = {"extra": extra, "p_extra": p} if pool == "extra" else {"pools": [(extra, p)]}
        return D.Sampler(synth, charts, 7, 400, 4, p_charts=0.6, levels=1, **kw)
    a = D.Sampler(synth, charts, 7, 400, 4, p_charts=0.6, levels=1)
    b, c = sampler(0.0), sampler(0.5)
    for step in range(3):
        np.testing.assert_array_equal(a.batch_at(step, 0.5)[0], b.batch_at(step, 0.5)[0])
    assert any(not np.array_equal(a.batch_at(s, 0.5)[0], c.batch_at(s, 0.5)[0]) for s in range(3))


def test_a_quiet_start_before_a_share_of_the_training_sequences() -> None:
    """``quiet_p`` (``export.train --quiet-p``): that share of sequences begins with 1-5 s of a
    quiet bed labelled no beat, at full loss weight; the rest of each sequence and every other
    sequence are those of a run without it (own random stream), and 0 changes nothing."""
    synth, charts = _tracks(3, "synth"), _tracks(3, "fnf_x")
    beds = D.quiet_beds(seconds=1.0, seed=3)
    kw = dict(p_charts=0.6, levels=1, p_join=0.0)
    a = D.Sampler(synth, charts, 7, 800, 8, **kw)
    b = D.Sampler(synth, charts, 7, 800, 8, quiet_p=0.0, quiet=beds, **kw)
    c = D.Sampler(synth, charts, 7, 800, 8, quiet_p=0.5, quiet=beds, **kw)
    fr = int(D.PARAMS.frame_rate)
    starts = 0
    for step in range(4):
        xa, ta, ma = a.batch_at(step, 0.5)
        xb, tb, mb = b.batch_at(step, 0.5)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ta, tb)
        xc, tc, mc = c.batch_at(step, 0.5)
        for i in range(len(xa)):
            if np.array_equal(xa[i], xc[i]):
                continue
            starts += 1
            # frames 0 .. K-1 are the quiet stretch, frame K the seam (its onset feature
            # differs), the rest is the sequence of the run without it
            K = int(np.flatnonzero(np.any(xc[i] != xa[i], axis=1))[-1])
            assert fr <= K <= 5 * fr
            assert any(np.array_equal(xc[i, :K, :D.N_MELS], np.resize(bed, (K, D.N_MELS)))
                       for bed in beds)
            assert not tc[i, :K].any() and (mc[i, :K] == 1.0).all()
            np.testing.assert_array_equal(tc[i, K:], ta[i, K:])
            np.testing.assert_array_equal(xc[i, K + 1:], xa[i, K + 1:])
    assert 6 <= starts <= 26          # about half of 32 sequences


def test_tactus_taps_compound_bars_by_three_and_keeps_the_tracker_range() -> None:
    """6/8 at 400 eighths/min -> dotted quarters; 4/4 at 300 BPM -> halves, the two-beat
    pickup's first beat kept; 4/4 at 40 BPM -> midpoints added; downbeats always kept."""
    b, db = np.arange(12) * 0.15, np.arange(12) % 6 == 0
    t, d = A.tactus(b, db)
    np.testing.assert_allclose(t, [0.0, 0.45, 0.9, 1.35])
    np.testing.assert_array_equal(d, [True, False, True, False])
    b, db = np.arange(-2, 10) * 0.2, np.arange(-2, 10) % 4 == 0
    t, d = A.tactus(b, db)
    np.testing.assert_allclose(t, [-0.4, 0.0, 0.4, 0.8, 1.2, 1.6])
    np.testing.assert_array_equal(d, [False, True, False, True, False, True])
    b, db = np.arange(8) * 1.5, np.arange(8) % 4 == 0
    t, d = A.tactus(b, db)
    np.testing.assert_allclose(np.diff(t), 0.75)
    assert d.sum() == 2
