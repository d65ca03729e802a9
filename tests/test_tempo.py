"""Online tempo estimation on synthetic activations with known answers."""
import math

import numpy as np
import pytest

from realtime.tempo import TempoEstimator, TempoParams

FPS = 100.0


def impulses(bpm, seconds, start=0.3, fps=FPS):
    n = int(seconds * fps)
    act = np.zeros(n)
    fr = np.round(np.arange(start, seconds, 60.0 / bpm) * fps).astype(int)
    act[fr[fr < n]] = 1.0
    return act


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0, 100.0])
def test_tempo_of_impulse_train(bpm):
    est = TempoEstimator(TempoParams())
    est.process_sequence(impulses(bpm, 12))
    e = est.estimate()
    assert abs(e.bpm - bpm) < 0.015 * bpm, e
    assert e.score > 0.5
    assert e.candidates[0].bpm == e.bpm and e.candidates[0].factor == 1.0


def test_metrical_candidates_report_half_and_double():
    est = TempoEstimator(TempoParams())
    est.process_sequence(impulses(160.0, 12))
    e = est.estimate()
    # "80 or 160": whichever wins, the other level is reported with a high score of its own
    assert min(abs(e.bpm - 160), abs(e.bpm - 80)) < 2.5
    other = 2.0 if e.bpm < 120 else 0.5
    by_factor = {round(c.factor, 3): c for c in e.candidates}
    assert other in by_factor and abs(by_factor[other].bpm - (160 if other == 2 else 80)) < 3
    assert by_factor[other].score > 0.5
    # relatives outside the range (40 or 320 BPM) are not listed; 2/3 and 3/2 score low
    assert all(60.0 <= c.bpm <= 200.0 and 0.0 <= c.score <= 1.0 for c in e.candidates)
    assert all(c.score < 0.4 for c in e.candidates if c.factor in (1.5, 2.0 / 3.0))


def test_prior_chooses_the_octave():
    act = impulses(150.0, 12)  # also a perfect 75 BPM pulse
    fast = TempoEstimator(TempoParams(prior_bpm=140.0, prior_octaves=0.3))
    slow = TempoEstimator(TempoParams(prior_bpm=70.0, prior_octaves=0.3))
    fast.process_sequence(act)
    slow.process_sequence(act)
    assert abs(fast.estimate().bpm - 150) < 2
    assert abs(slow.estimate().bpm - 75) < 1.5


def test_recursive_autocorrelation_matches_direct_sum():
    rng = np.random.default_rng(1)
    p = TempoParams(window_s=2.0)
    est = TempoEstimator(p)
    x = rng.random(700)
    for a in x:  # per-frame path
        est.process(a)
    alpha = math.exp(-1.0 / (p.window_s * p.fps))
    beta = math.exp(-1.0 / (p.mean_window_s * p.fps))
    v = np.zeros(len(x))
    for t in range(len(x)):  # the bias-corrected EW mean of the frames so far
        wts = beta ** np.arange(t, -1, -1)
        v[t] = x[t] - np.dot(wts, x[:t + 1]) / wts.sum()
    for lag in (0, 7, 50, 133):
        direct = sum((1 - alpha) * alpha ** (len(x) - 1 - t) * v[t] * v[t - lag]
                     for t in range(lag, len(x)))
        assert est._r[lag] == pytest.approx(direct, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seconds", [1, 3, 10, 30])
def test_no_periodicity_in_a_flat_or_noisy_activation(seconds):
    # the running mean must not start at 0: its offset would correlate with itself at every lag
    # (before session 18 a flat 0.5 scored 0.88 after 5 s, noise around 0.5 scored 0.87)
    # A step of level (noise, then 0.3 more from 0.5 s on) still scores for a few seconds (0.40
    # after 3 s: its decaying offset is smooth, so it correlates at short lags), but is
    # forgotten with the window.
    rng = np.random.default_rng(seconds)
    n = seconds * 100
    acts = [np.full(n, 0.5), rng.uniform(0.45, 0.55, n), rng.uniform(0.0, 1.0, n) ** 4]
    if seconds >= 30:
        acts.append(rng.uniform(0.0, 0.1, n) + 0.3 * (np.arange(n) > 50))
    for act in acts:
        est = TempoEstimator()
        est.process_sequence(act)
        assert est.estimate().score < 0.15, (seconds, act[:3])


def test_sequence_equals_per_frame():
    act = impulses(110.0, 6) * 0.8 + 0.05
    a, b = TempoEstimator(), TempoEstimator()
    a.process_sequence(act)
    for x in act:
        b.process(x)
    assert np.array_equal(a._r, b._r)
    assert a.estimate() == b.estimate()


def test_follows_a_tempo_step():
    est = TempoEstimator(TempoParams(window_s=3.0))
    est.process_sequence(impulses(100.0, 10))
    assert abs(est.estimate().bpm - 100) < 2
    step = impulses(130.0, 8, start=0.0)
    est.process_sequence(step)
    assert abs(est.estimate().bpm - 130) < 2.5


def test_silence_has_no_tempo_and_reset_forgets():
    est = TempoEstimator()
    est.process_sequence(np.zeros(800))
    e = est.estimate()
    assert e.bpm == 0.0 and e.score == 0.0 and e.candidates == ()
    est.process_sequence(impulses(120, 8))
    assert est.estimate().bpm > 0
    est.reset()
    assert est.estimate().bpm == 0.0 and est.frames_done == 0


def test_invalid_params():
    with pytest.raises(ValueError):
        TempoParams(min_bpm=200, max_bpm=100)
    with pytest.raises(ValueError):
        TempoParams(window_s=0)
