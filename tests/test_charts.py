"""Exact beat times from chart timing (inline chart text, no audio)."""

from __future__ import annotations

import json

import pytest

from export.charts import (
    gimmick_reasons,
    normalise_bars,
    parse_chart,
    parse_midi_tempo,
    parse_fnf,
    parse_fnf_metadata,
    parse_osu,
    parse_sm,
)

SM_CONST = """#TITLE:Const;#ARTIST:X;#OFFSET:-0.100;#BPMS:0.000=120.000;#STOPS:;
#NOTES:
     dance-single:
     :
     Beginner:
     1:
     0,0,0,0,0:
1000
0000
0000
0000
,
0000
0000
0000
0001
;
"""


def test_sm_constant_tempo_offset_sign() -> None:
    g = parse_sm(SM_CONST, duration=3.0)
    # beat 0 at -OFFSET = +0.1 s, 0.5 s per beat
    assert g.times[:4] == pytest.approx([0.1, 0.6, 1.1, 1.6])
    assert g.beat_in_bar[:6] == [1, 2, 3, 4, 1, 2]
    assert g.times[-1] == pytest.approx(2.6)
    assert g.info["title"] == "Const"


def test_sm_without_duration_stops_at_last_note_measure() -> None:
    g = parse_sm(SM_CONST)
    assert g.times[-1] == pytest.approx(0.1 + 8 * 0.5)


def test_sm_bpm_change() -> None:
    text = "#OFFSET:0;#BPMS:0=120,4=60;"
    g = parse_sm(text, duration=5.0)
    # beats 0..4 at 0.5 s, then 1 s per beat
    assert g.times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
    assert g.bpms == [120.0, 60.0]


def test_sm_stop_and_delay() -> None:
    text = "#OFFSET:0;#BPMS:0=60;#STOPS:2=0.5;"
    g = parse_sm(text, duration=5.0)
    # beat 2 is at 2.0 (the stop comes after it), later beats are 0.5 s late
    assert g.times == pytest.approx([0.0, 1.0, 2.0, 3.5, 4.5])
    assert g.n_stops == 1
    ssc = "#VERSION:0.83;#OFFSET:0;#BPMS:0=60;#DELAYS:2=0.5;#NOTEDATA:;#BPMS:0=999;"
    g = parse_sm(ssc, duration=5.0)
    # a delay comes before its beat: beat 2 itself is late; chart-level tags are ignored
    assert g.times == pytest.approx([0.0, 1.0, 2.5, 3.5, 4.5])


def test_sm_time_signature_and_warp_flag() -> None:
    text = "#OFFSET:0;#BPMS:0=60;#TIMESIGNATURES:0=3=4;"
    g = parse_sm(text, duration=6.0)
    assert g.beat_in_bar == [1, 2, 3, 1, 2, 3, 1]
    g = parse_sm("#OFFSET:0;#BPMS:0=60,4=-60,5=60;", duration=6.0)
    assert g.warps and gimmick_reasons(g)


OSU = """osu file format v14

[General]
AudioFilename: audio.mp3
Mode: 0

[Metadata]
Title:Waltz
Artist:Someone

[TimingPoints]
500,500,3,2,0,60,1,0
1000,-50,3,2,0,60,0,0
2000,250,4,2,0,60,1,0

[HitObjects]
256,192,500,1,0,0:0:0:0:
"""


def test_osu_meter_three_and_tempo_change() -> None:
    g = parse_osu(OSU, duration=3.0)
    # extrapolated back to 0.0, bar starts at 0.5 s with meter 3; inherited point ignored;
    # the uninherited point at 2.0 s starts a new bar at 240 bpm
    assert g.times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.25, 2.5, 2.75, 3.0])
    assert g.beat_in_bar == [3, 1, 2, 3, 1, 2, 3, 4, 1]
    assert g.info["audio"] == "audio.mp3"


def test_fnf_legacy_sections_with_bpm_change() -> None:
    chart = {
        "song": {
            "song": "Mod Song",
            "bpm": 120,
            "notes": [
                {"lengthInSteps": 16, "sectionNotes": [[0, 1, 0]], "mustHitSection": True},
                {"lengthInSteps": 16, "changeBPM": True, "bpm": 60, "sectionNotes": []},
            ],
        }
    }
    g = parse_fnf(json.dumps(chart), duration=7.0)
    assert g.times[:8] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
    assert g.beat_in_bar[:8] == [1, 2, 3, 4, 1, 2, 3, 4]
    assert g.times[-1] == pytest.approx(7.0)


def test_fnf_metadata_time_changes() -> None:
    meta = {"timeChanges": [{"t": 0, "bpm": 150, "n": 4, "d": 4}, {"t": 1600, "bpm": 100, "n": 3}]}
    g = parse_fnf_metadata(json.dumps(meta), duration=3.0)
    assert g.times == pytest.approx([0.0, 0.4, 0.8, 1.2, 1.6, 2.2, 2.8])
    assert g.beat_in_bar == [1, 2, 3, 4, 1, 2, 3]


CHART = """[Song]
{
  Name = "Tune"
  Offset = 0.25
  Resolution = 192
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
  768 = B 60000
  768 = TS 3
}
"""


def test_clone_hero_chart() -> None:
    g = parse_chart(CHART, duration=4.5)
    # tick 0 at Offset; 4 beats at 0.5 s, then 3/4 at 1 s per beat
    assert g.times == pytest.approx([0.25, 0.75, 1.25, 1.75, 2.25, 3.25, 4.25])
    assert g.beat_in_bar == [1, 2, 3, 4, 1, 2, 3]


def test_normalise_bars_splits_long_sections() -> None:
    assert normalise_bars([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3]) == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3]
    assert normalise_bars([1, 2, 3, 4, 5, 6, 7]) == [1, 2, 3, 4, 5, 6, 7]  # 7/4 stays
    assert normalise_bars([3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9]) == [3, 4, 1, 2, 3, 1, 2, 3, 1, 2, 3]
    # a grid that starts inside one long bar and never reaches a downbeat
    assert normalise_bars([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) == [2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]


def test_chart_even_eighths_use_quarter_beats() -> None:
    text = CHART.replace("768 = TS 3", "768 = TS 4 3")  # 4/8 from tick 768
    g = parse_chart(text, duration=4.5)
    assert g.times == pytest.approx([0.25, 0.75, 1.25, 1.75, 2.25, 3.25, 4.25])
    assert g.beat_in_bar == [1, 2, 3, 4, 1, 2, 1]


def test_midi_tempo_map() -> None:
    import io

    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))  # 120 bpm
    tr.append(mido.MetaMessage("set_tempo", tempo=1000000, time=480 * 4))  # 60 bpm at beat 4
    tr.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    mid.tracks.append(tr)
    buf = io.BytesIO()
    mid.save(file=buf)
    buf.seek(0)
    g = parse_midi_tempo(buf, duration=4.0)
    assert g.times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
    assert g.beat_in_bar == [1, 2, 3, 4, 1, 2, 3]


def test_chart_weights_balance_the_games():
    """game_balance 0 draws chart tracks in proportion to length; 1 gives every game the same
    share (in proportion to length within a game)."""
    import numpy as np

    from export.dataset import Track, chart_weights

    def track(src, frames):
        return Track(src, src, np.zeros((frames, 4), np.float32), np.zeros(0), np.zeros(0, bool),
                     False, False)
    tracks = [track("fnf_a", 8000), track("fnf_b", 8000), track("stepmania_c", 3000),
              track("clonehero_d", 1000)]
    p0 = chart_weights(tracks, 0.0)
    np.testing.assert_allclose(p0, [0.4, 0.4, 0.15, 0.05])
    p1 = chart_weights(tracks, 1.0)
    np.testing.assert_allclose(p1, [1 / 6, 1 / 6, 1 / 3, 1 / 3])
    np.testing.assert_allclose(chart_weights(tracks, 0.5), (p0 + p1) / 2)


def test_chart_weights_balance_the_tempo_bands():
    """tempo_balance 0 leaves the weights as they were; 1 draws every tempo band equally often
    (in proportion to length within a band); 0.5 lies between."""
    import numpy as np

    from export.dataset import PARAMS, Track, chart_weights, tempo_band

    def track(src, frames, bpm):
        beats = np.arange(0.0, frames, 60.0 * PARAMS.frame_rate / bpm)
        return Track(src, src, np.zeros((frames, 4), np.float32), beats,
                     np.zeros(len(beats), bool), False, False)
    tracks = [track("fnf_a", 8000, 190.0), track("fnf_b", 8000, 150.0),
              track("stepmania_c", 3000, 160.0), track("clonehero_d", 1000, 85.0)]
    assert [tempo_band(t) for t in tracks] == [4, 3, 3, 0]
    np.testing.assert_allclose(chart_weights(tracks, 0.0, 0.0), chart_weights(tracks, 0.0))
    p1 = chart_weights(tracks, 0.0, 1.0)
    np.testing.assert_allclose(p1, [1 / 3, 8 / 33, 3 / 33, 1 / 3])
    p5 = chart_weights(tracks, 0.0, 0.5)
    assert p5[3] > chart_weights(tracks, 0.0)[3] and p5[3] < p1[3]
    np.testing.assert_allclose(p5.sum(), 1.0)


def test_tempo_stretch_moves_chart_crops_over_the_whole_tempo_range():
    """With tempo_stretch 1 every chart crop of a 180 BPM track is played at a tempo drawn from
    STRETCH_BPM (rate-limited), so half of them land below 107.5 BPM; with 0 the crops stay
    within the usual 0.8-1.25 stretch and the crops start where they did before the option."""
    import numpy as np

    from export.dataset import PARAMS, STRETCH_RATE, Sampler, Track, tempo_from_beats

    fr = PARAMS.frame_rate
    beats = np.arange(0.0, 12000, 60.0 * fr / 180.0)
    logmel = np.random.default_rng(1).random((12000, PARAMS.n_mels)).astype(np.float32)
    chart = Track("fnf_x", "fnf_x", logmel, beats, np.zeros(len(beats), bool), False, False)
    assert abs(chart.tempo - 180.0) < 0.5

    def tempos(stretch):
        s = Sampler([], [chart], seed=3, crop=800, batch=8, p_charts=1.0, p_join=0.0,
                    tempo_stretch=stretch)
        out = []
        for i in range(12):
            _, tgt, mask = s.batch_at(i, 0.5)
            for t, m in zip(tgt, mask):
                peaks = np.flatnonzero((t[:, 0] == 1.0) & (m[:, 0] > 0))
                out.append(tempo_from_beats(peaks / fr))
        return np.array(out)

    plain, stretched = tempos(0.0), tempos(1.0)
    assert plain.min() > 180 * 0.8 - 1 and plain.max() < 180 * 1.25 + 1
    assert stretched.min() >= 180 * STRETCH_RATE[0] - 1 and stretched.max() <= 200.0 + 1
    assert 0.35 < np.mean(stretched < 107.5) < 0.75
    # the first two beat frames of each crop of batches 0 and 5, as the sampler gave them before
    # the option existed (computed at 2f72b91^): crop starts and stretches draw the same numbers
    s = Sampler([], [chart], seed=3, crop=800, batch=4, p_charts=1.0, tempo_stretch=0.0)
    first = [[np.flatnonzero((t[:, 0] == 1.0) & (m[:, 0] > 0))[:2].tolist()
              for t, m in zip(*s.batch_at(i, 0.5)[1:])] for i in (0, 5)]
    assert first == [[[13, 46], [31, 63], [1, 37], [24, 57]], [[0, 33], [20, 53], [18, 51], [15, 48]]]


def test_chart_splits_keep_variants_of_training_songs_out_of_validation():
    """A song's "-(hq)" copy, b-side or mix in the validation split while the song itself trains is
    scored in neither split; the training split and unrelated titles keep their CRC32 split."""
    import zlib

    from export.dataset import chart_splits

    def crc_split(key):
        return "val" if zlib.crc32(key.encode()) % 100 < 12 else "train"
    assert crc_split("faucet") == "train" and crc_split("faucethq") == "val"
    tracks = [("fnf_a", "faucet", "faucet"), ("fnf_a", "faucet-(hq)", "faucet_hq"),
              ("fnf_b", "faucet (hq)", "faucet_hq"),  # other source: not a variant
              ("fnf_a", "", "untitled")]
    assert chart_splits(tracks) == ["train", "none", "val", crc_split("fnf_a/untitled")]
