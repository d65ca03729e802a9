"""The file pipeline (analyze), its writers, and the evaluation module.

Real audio goes through the real frontend and the tracker; the network is replaced by a
stand-in activation (half-wave rectified spectral flux from the frontend's difference features),
which lives only here: the product path is ``realtime.network.BeatNetwork``. When a trained model
is present, the silence test also runs through it.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from realtime.analyze import (
    analyze_file,
    analyze_signal,
    click_track,
    format_events,
    format_tempo,
    write_click,
    write_events,
)
from realtime.evaluate import (
    Evaluation,
    Prediction,
    compare_markdown,
    evaluate_dirs,
    load_beats,
    score_file,
    tempo_accuracy,
    time_to_lock,
)
from realtime.frontend import FrontendParams
from realtime.tracker import BeatEvent, TrackerParams

FP = FrontendParams()
SR = FP.sample_rate


class FluxStandIn:
    """Test-only activation model with the BeatNetwork interface: beat = mean positive log-mel
    difference / 3 (clipped to [0, 1]), downbeat = 0."""

    params = FP

    def reset(self):
        pass

    def process_sequence(self, frames):
        flux = frames[:, FP.n_mels:].mean(axis=1)
        out = np.zeros((len(frames), 2), np.float32)
        out[:, 0] = np.clip(flux / 3.0, 0.0, 1.0)
        return out


def click_audio(bpm, seconds, start=0.5, level=0.5, seed=0):
    """Noise-burst 'kicks' at known times over a quiet noise bed."""
    rng = np.random.default_rng(seed)
    y = (10 ** (-40 / 20) * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    times = np.arange(start, seconds - 0.1, 60.0 / bpm)
    n = 400
    burst = level * np.exp(-np.arange(n) / 60.0)
    for t in times:
        s = int(round(t * SR))
        y[s:s + n] += (burst * rng.standard_normal(n)).astype(np.float32)
    return y, times


def nearest_err(est, ref):
    return np.array([np.min(np.abs(np.asarray(ref) - t)) for t in est])


def test_clicks_through_the_pipeline():
    y, truth = click_audio(120.0, 12.0)
    res = analyze_signal(y, FluxStandIn())
    est = res.times
    assert len(est) > 15
    assert time_to_lock(est, truth, tol=0.05) <= 2.5
    inside = est[est < truth[-1] + 0.1]
    assert np.all(nearest_err(inside, truth) <= 0.05)
    assert abs(res.bpm - 120) < 2
    assert res.tempo_curve and abs(res.tempo_curve[-1].acf_bpm - 120) < 3
    assert set(res.timings) >= {"frontend_s", "network_s", "tracker_s"}


@pytest.mark.parametrize("kind", ["silence", "noise-60dBFS"])
def test_no_beats_from_silence_or_noise(kind):
    rng = np.random.default_rng(5)
    n = 10 * SR
    y = np.zeros(n, np.float32) if kind == "silence" else \
        (10 ** (-60 / 20) * rng.standard_normal(n)).astype(np.float32)
    assert analyze_signal(y, FluxStandIn()).events == []
    # also without the level gate: the activations alone must not produce beats
    assert analyze_signal(y, FluxStandIn(), gate_db=None).events == []
    model = Path(__file__).resolve().parent.parent / "models" / "beatd_gru.onnx"
    if model.is_file():  # the real network, when one has been trained and shipped
        from realtime.network import BeatNetwork
        net = BeatNetwork(model)
        assert analyze_signal(y, net).events == []
        assert analyze_signal(y, net, gate_db=None).events == []


@pytest.mark.parametrize("kind", ["white noise", "pink noise", "hum"])
def test_no_beats_from_steady_noise_above_the_gate(kind):
    """Noise at -25 dBFS and mains hum (``export.synth.no_beat_audio``), well above the level
    gate, through the shipped network: there is no beat, so none may come out. (Sound with
    onsets at random times still gives some: bench/bench_false_beats.py.)"""
    from export.synth import no_beat_audio
    from realtime.network import BeatNetwork, default_model_path

    y = no_beat_audio(kind, 20.0, seed=0)
    assert analyze_signal(y, BeatNetwork(default_model_path())).events == []


def test_gate_stops_beats_when_the_music_stops():
    y, truth = click_audio(120.0, 8.0)
    y = np.concatenate([y, np.zeros(6 * SR, np.float32)])
    est = analyze_signal(y, FluxStandIn()).times
    assert len(est) > 8 and est.max() < 8.2


def test_digital_silence_after_loud_music_stops_the_beats_at_once():
    """Loud music (clicks over noise at -20 dBFS) stopped dead: the level smoother alone would
    keep the gate open for about 0.6 s and let predicted beats out into the silence; a silent
    hop closes it at once, so the last beat is one committed before the stop (at most the
    tracker's look-ahead past it)."""
    y, truth = click_audio(120.0, 8.25, level=1.0)   # the next beat would be 0.25 s after the stop
    y += (0.1 * np.random.default_rng(3).standard_normal(len(y))).astype(np.float32)
    stop = len(y) / SR
    est = analyze_signal(np.concatenate([y, np.zeros(6 * SR, np.float32)]), FluxStandIn()).times
    assert len(est) > 8
    assert est.max() <= stop + TrackerParams().lookahead_ms * 1e-3
    # the smoother alone (a hop never counts as digital silence) lets beats into the silence
    from realtime import analyze as A
    from realtime.tracker import SilenceGate

    class SmoothOnly(SilenceGate):
        def __init__(self, *a, **k):
            super().__init__(*a, **k, instant_db=math.inf)
    real, A.SilenceGate = A.SilenceGate, SmoothOnly
    try:
        late = analyze_signal(np.concatenate([y, np.zeros(6 * SR, np.float32)]),
                              FluxStandIn()).times
    finally:
        A.SilenceGate = real
    assert late.max() > stop + 0.2


def test_analyze_file_and_writers(tmp_path):
    y, truth = click_audio(100.0, 10.0)
    wav = tmp_path / "clicks.flac"
    sf.write(str(wav), y, SR)
    res = analyze_file(wav, network=FluxStandIn(), keep_audio=True)
    assert res.duration == pytest.approx(10.0, abs=0.01) and len(res.events) > 8
    ev = res.events
    text = format_events(ev, "text")
    lines = text.strip().splitlines()
    assert len(lines) == len(ev)
    t0, b0, bpm0, c0 = lines[0].split("\t")
    assert float(t0) == pytest.approx(ev[0].time, abs=1e-4) and int(b0) == ev[0].beat_in_bar
    csv_text = format_events(ev, "csv")
    assert csv_text.splitlines()[0] == "time,beat_in_bar,bpm,confidence"
    js = json.loads(format_events(ev, "json"))
    assert [set(d) for d in js][0] == {"time", "beat_in_bar", "bpm", "confidence"}
    assert js[-1]["time"] == pytest.approx(ev[-1].time, abs=1e-4)
    out = tmp_path / "beats.txt"
    write_events(ev, out, "text")
    times, pos = load_beats(out)  # readable as a .beats annotation
    assert np.allclose(times, [e.time for e in ev], atol=1e-4)
    with pytest.raises(ValueError):
        format_events(ev, "xml")
    tempo_txt = format_tempo(res.tempo_curve, "text")
    assert "candidates" in tempo_txt and len(tempo_txt.splitlines()) == len(res.tempo_curve)
    assert json.loads(format_tempo(res.tempo_curve, "json"))[0]["candidates"] is not None
    assert format_tempo(res.tempo_curve, "csv").startswith("time,bpm,state")
    # click track: accented downbeats, clicks exactly at the beat times
    clk = tmp_path / "click.wav"
    write_click(clk, res.audio, SR, ev)
    z, sr = sf.read(str(clk))
    assert sr == SR and len(z) == len(y)
    c = click_track(len(y), SR, ev)
    for e in ev[:5]:
        s = int(round(e.time * SR))
        assert np.abs(c[s:s + 100]).max() > 0.2
        assert np.abs(c[s - 200:s]).max() == 0.0
    downs = [e for e in ev if e.beat_in_bar == 1]
    others = [e for e in ev if e.beat_in_bar != 1]
    if downs and others:
        peak = lambda e: np.abs(c[int(round(e.time * SR)):int(round(e.time * SR)) + 400]).max()
        assert peak(downs[0]) > peak(others[0])


def _ev(times):
    return [BeatEvent(float(t), i, i % 4 + 1, 120.0, 1.0) for i, t in enumerate(times)]


def test_evaluation_numbers():
    ref = np.arange(1.0, 31.0, 0.5)  # 120 BPM
    perfect = score_file(ref, ref, 120.0)
    assert perfect.f_measure == pytest.approx(1.0)
    assert perfect.cmlt == pytest.approx(1.0) and perfect.amlt == pytest.approx(1.0)
    assert perfect.p_score == pytest.approx(1.0) and perfect.cemgil == pytest.approx(1.0)
    assert (perfect.acc1, perfect.acc2) == (1.0, 1.0)
    assert perfect.lock_time == 0.0
    shifted = score_file(ref + 0.1, ref, 120.0)  # 100 ms late: outside +-70 ms
    assert shifted.f_measure == 0.0 and shifted.cmlt == 0.0
    assert math.isinf(shifted.lock_time)
    offbeat = score_file(ref + 0.25, ref)  # the off-beat: wrong for CML, right for AML
    assert offbeat.f_measure == 0.0 and offbeat.cmlt == 0.0 and offbeat.amlt > 0.9
    double = score_file(np.arange(1.0, 31.0, 0.25), ref)
    assert double.f_measure == pytest.approx(2 * 60 / 180, abs=0.01)  # P 0.5, R 1
    assert (double.acc1, double.acc2) == (0.0, 1.0)
    assert tempo_accuracy(123.0, 120.0) == (1.0, 1.0)
    assert tempo_accuracy(40.0, 120.0) == (0.0, 1.0)
    assert tempo_accuracy(100.0, 120.0) == (0.0, 0.0)
    # lock: wrong beats first, then right from 3.0 s on
    est = np.concatenate([[1.2, 1.7, 2.2], np.arange(3.0, 31.0, 0.5)])
    assert time_to_lock(est, ref) == pytest.approx(2.0)
    assert time_to_lock(ref[:3], ref) == math.inf
    # downbeats: bar positions 1..4; right bars, bars shifted by one beat, none given
    bib = np.arange(len(ref)) % 4 + 1
    assert score_file(ref, ref, 120.0, est_bib=bib, ref_bib=bib).downbeat_f == pytest.approx(1.0)
    shifted_bar = score_file(ref, ref, 120.0, est_bib=np.roll(bib, 1), ref_bib=bib)
    assert shifted_bar.downbeat_f == 0.0 and shifted_bar.f_measure == pytest.approx(1.0)
    assert math.isnan(score_file(ref, ref, 120.0).downbeat_f)


def test_evaluate_dirs_and_tables(tmp_path):
    d = tmp_path / "set_a"
    d.mkdir()
    rng = np.random.default_rng(2)
    ref = np.arange(0.5, 9.5, 0.5)
    for name in ("song_1", "gtzan_classical_00001"):
        y = (0.1 * rng.standard_normal(12 * SR)).astype(np.float32)
        y[10 * SR:] = 0.0  # the last 2 s are digital silence
        sf.write(str(d / f"{name}.flac"), y, SR)
        (d / f"{name}.beats").write_text("".join(f"{t:.3f}\t{i % 4 + 1}\n"
                                                 for i, t in enumerate(ref)))

    def perfect_plus_silence(path):
        return Prediction(np.concatenate([ref, [10.5, 11.0]]), 120.0)

    ev = evaluate_dirs([d], perfect_plus_silence, name="oracle")
    assert len(ev.files) == 2 and all(f.silence_beats == 2 for f in ev.files)
    assert all(f.f_measure > 0.9 for f in ev.files)
    table = ev.markdown()
    assert "| set_a |" in table and "| overall |" in table and "| non-classical |" in table
    late = evaluate_dirs([d], lambda p: ref + 0.1, name="late")
    assert all(f.f_measure == 0.0 for f in late.files)
    cmp = compare_markdown([ev, late])
    assert cmp.count("### ") == 3 and "| oracle |" in cmp and "| late |" in cmp
    nonclassical = cmp.split("### non-classical")[1]
    assert "| oracle | 1 |" in nonclassical
    with pytest.raises(FileNotFoundError):
        evaluate_dirs([tmp_path / "nope"], perfect_plus_silence)
    assert isinstance(ev, Evaluation) and str(ev) == table


def test_analyze_equals_the_live_per_hop_path():
    """analyze_signal (whole-signal frontend, sequence network, vectorised gate) gives exactly
    the events of the daemon's per-hop loop (process_hop, per-frame network, gate per hop)."""
    from realtime.frontend import Frontend
    from realtime.tracker import BeatTracker, SilenceGate

    y, _ = click_audio(128.0, 8.0)
    y[5 * SR:6 * SR] = 0.0  # a silent second in the middle
    res = analyze_signal(y, FluxStandIn())
    fe, net = Frontend(FP), FluxStandIn()
    gate = SilenceGate(FP.hop_length, FP.sample_rate, -50.0)
    tr = BeatTracker(frontend=FP)
    live = []
    for k in range(len(y) // FP.hop_length):
        hop = y[k * FP.hop_length:(k + 1) * FP.hop_length]
        act = net.process_sequence(fe.process_hop(hop)[None, :].copy())[0]
        e = tr.process(float(act[0]), float(act[1]), gate.process_hop(hop))
        if e is not None:
            live.append(e)
    assert len(live) > 8
    assert live == res.events


def test_p_score_equals_mir_eval():
    """The pair-counting P-score must give mir_eval's number (its correlation is quadratic)."""
    import warnings

    import mir_eval

    from realtime.evaluate import p_score

    rng = np.random.default_rng(1)
    for k in range(40):
        ref = np.sort(rng.uniform(0.1, 20.0, rng.integers(0, 40)))
        if k % 3 == 0:      # a grid and a jittered, partly missing, partly doubled estimate
            ref = np.arange(rng.uniform(0, 1), 20.0, rng.uniform(0.3, 0.8))
        est = ref + rng.normal(0, rng.uniform(0.005, 0.1), ref.size)
        est = np.sort(np.concatenate([est[rng.random(est.size) < 0.8],
                                      rng.uniform(0.1, 20.0, rng.integers(0, 10))]))
        est = est[est > 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = mir_eval.beat.p_score(ref, est)
        assert p_score(ref, est) == pytest.approx(want, abs=1e-12), (ref, est)


def test_strict_start_locks_later_and_ignores_sound_without_a_beat():
    """``lock_llr`` (strict start), through the shipped network: a steady click track still
    locks, later than with the default start gate; talk, claps out of time and random clicks
    (``export.synth.no_beat_audio``, the false-beat bench's seeds 0 and 1), on which the default
    gate starts beats now and then, start at most half as many (140 against 46 when written)."""
    from dataclasses import replace

    from export.synth import no_beat_audio
    from realtime.network import BeatNetwork, default_model_path

    net = BeatNetwork(default_model_path())
    strict = replace(TrackerParams(), lock_llr=3.0)
    y, truth = click_audio(120.0, 20.0)
    first = {}
    for name, params in (("default", TrackerParams()), ("strict", strict)):
        ev = analyze_signal(y, net, params).events
        assert len(ev) >= 30, name
        first[name] = ev[0].time
    assert first["strict"] > first["default"]
    n = {"default": 0, "strict": 0}
    for kind in ("talk", "claps out of time", "clicks"):
        for seed in (0, 1):
            y = no_beat_audio(kind, 60.0, seed=seed)
            for name, params in (("default", TrackerParams()), ("strict", strict)):
                n[name] += len(analyze_signal(y, net, params).events)
    assert n["default"] >= 10 and n["strict"] <= n["default"] / 2, n


def test_music_output_reaches_the_tracker_on_the_file_and_live_paths():
    """With the shipped model (a music head), ``analyze_signal`` and the daemon's
    ``Pipeline.process_hops`` hand the third activation column to the tracker. Faint clicks
    (peaks near -34 dBFS over a -40 dBFS noise bed) are not music to the network (its output
    stays near 0.02), so with ``music_absent`` 0.5 both paths start later than a tracker that
    is not told about music, and give exactly the events of one that is fed the column."""
    from dataclasses import replace

    from realtime.analyze import load_network
    from realtime.config import defaults
    from realtime.pipeline import Pipeline
    from realtime.tracker import BeatTracker, SilenceGate

    net = load_network(None)
    assert net.has_music
    params = replace(TrackerParams(), music_absent=0.5)
    y, _ = click_audio(100.0, 20.0, level=0.02, seed=4)
    res = analyze_signal(y, net, tracker_params=params, keep_activations=True, tempo_hop_s=0.0)
    act = res.activations
    gate = SilenceGate(FP.hop_length, FP.sample_rate, -50.0).process_signal(y, FP.hop_length)
    told = BeatTracker(params).process_sequence(act[:, 0], act[:, 1], gate[:len(act)], act[:, 2])
    untold = BeatTracker(params).process_sequence(act[:, 0], act[:, 1], gate[:len(act)])
    assert np.median(act[:, 2]) < 0.1
    assert res.events == told
    assert untold and told and told[0].time > untold[0].time + 2.0
    pipe = Pipeline(defaults())
    pipe.tracker = BeatTracker(params, pipe.params)
    hops = y[:len(y) // FP.hop_length * FP.hop_length].reshape(-1, FP.hop_length)
    live = [ev for s in range(0, len(hops), 10)
            for _, ev in pipe.process_hops(hops[s:s + 10]) if ev is not None]
    assert [e.beat_index for e in live] == [e.beat_index for e in told]
    np.testing.assert_allclose([e.time for e in live], [e.time for e in told], atol=1e-6)


def test_the_network_restarts_after_a_long_silence_on_both_paths():
    """``[silence] network_reset_s``: where at least that much gated silence ends, the network
    starts again from the zero state, in ``analyze_signal`` and in the daemon's per-block path
    alike (blocks of 7 hops, so a restart falls inside a block). Pink noise at -25 dBFS after
    3 s of digital silence then gets no beat, as from a cold start, where a network that ran
    through the silence hears its onset as music and beats (the shipped model)."""
    from export.synth import no_beat_audio
    from realtime.analyze import load_network
    from realtime.config import defaults
    from realtime.frontend import Frontend
    from realtime.network import restart_points
    from realtime.pipeline import Pipeline
    from realtime.tracker import SilenceGate

    net = load_network(None)
    noise = no_beat_audio("pink noise", 20.0, seed=1000).astype(np.float32)
    y = np.r_[np.zeros(3 * SR, np.float32), noise]
    through = analyze_signal(y, net, tempo_hop_s=0.0, keep_activations=True)
    restarted = analyze_signal(y, net, tempo_hop_s=0.0, keep_activations=True,
                               network_reset_s=2.0)
    cold = analyze_signal(noise, net, tempo_hop_s=0.0, keep_activations=True)
    assert len(through.events) >= 5 and restarted.events == [] and cold.events == []
    gate = SilenceGate(FP.hop_length, FP.sample_rate, -50.0).process_signal(y, FP.hop_length)
    cuts, _ = restart_points(gate[:len(restarted.activations)], 200)
    assert len(cuts) == 1 and 0 <= cuts[0] - 3 * SR // FP.hop_length <= 3   # at the onset
    frames = Frontend(FP).process_signal(y)
    np.testing.assert_allclose(restarted.activations[cuts[0]:],
                               net.process_sequence(frames[cuts[0]:]), atol=1e-6)
    # the per-block path: the same restart, the same activations
    clicks, _ = click_audio(120.0, 12.0)
    y2 = np.r_[clicks[:4 * SR], np.zeros(3 * SR, np.float32), clicks[4 * SR:]].astype(np.float32)
    cfg = defaults()
    cfg.values["silence"]["network_reset_s"] = 2.0
    pipe = Pipeline(cfg)
    hops = y2[:len(y2) // FP.hop_length * FP.hop_length].reshape(-1, FP.hop_length)
    live_act, live = [], []
    for s in range(0, len(hops), 7):
        for i, ev in pipe.process_hops(hops[s:s + 7]):
            live_act.append(pipe.block_activations[i % pipe.network.max_frames].copy())
            if ev is not None:
                live.append(ev)
    file = analyze_signal(y2, net, tempo_hop_s=0.0, keep_activations=True, network_reset_s=2.0)
    np.testing.assert_allclose(np.array(live_act), file.activations[:len(live_act)], atol=1e-5)
    ran = analyze_signal(y2, net, tempo_hop_s=0.0, keep_activations=True)
    assert np.abs(ran.activations - file.activations).max() > 0.05    # it did restart
    assert [e.beat_index for e in live] == [e.beat_index for e in file.events]
