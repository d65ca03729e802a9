"""Frontend parity with librosa, hop-vs-signal identity, and metadata round trip."""
from __future__ import annotations

import numpy as np
import pytest

from realtime.frontend import (Frontend, FrontendParams, mel_filterbank, periodic_window,
                               reference_features)


def music_like(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    y = 0.1 * np.sin(2 * np.pi * 110 * t) + 0.05 * np.sin(2 * np.pi * 1760 * t)
    env = np.exp(-(np.arange(n) % (sr // 2)) / (0.02 * sr))
    y += 0.3 * env * rng.standard_normal(n)
    return y.astype(np.float32)


@pytest.mark.parametrize("params", [
    FrontendParams(),
    FrontendParams(sample_rate=22050, n_fft=1024, hop_length=220, n_mels=40, fmax=8000.0,
                   diff=False),
])
def test_matches_librosa_reference(params):
    y = music_like(params.sample_rate, 3.0)
    ours = Frontend(params).process_signal(y)
    ref = reference_features(y, params)
    assert ours.shape == ref.shape == (len(y) // params.hop_length, params.n_features)
    assert np.abs(ours - ref).max() <= 1e-4
    assert ref[:, :params.n_mels].max() > 1.0      # real signal, not a table of zeros


def test_hop_by_hop_equals_whole_signal():
    p = FrontendParams()
    y = music_like(p.sample_rate, 2.0, seed=3)
    whole = Frontend(p).process_signal(y)
    fe = Frontend(p)
    hops = np.stack([fe.process_hop(y[k * p.hop_length:(k + 1) * p.hop_length]).copy()
                     for k in range(len(y) // p.hop_length)])
    np.testing.assert_array_equal(hops, whole)
    # a stream split at an arbitrary hop boundary continues seamlessly
    fe2 = Frontend(p)
    cut = 37 * p.hop_length
    both = np.vstack([fe2.process_signal(y[:cut]), fe2.process_signal(y[cut:])])
    np.testing.assert_array_equal(both, whole)


def test_reset_forgets_the_past():
    p = FrontendParams()
    y = music_like(p.sample_rate, 1.0)
    fe = Frontend(p)
    first = fe.process_signal(y)
    fe.reset()
    np.testing.assert_array_equal(fe.process_signal(y), first)


def test_is_causal():
    """Changing future samples never changes past frames."""
    p = FrontendParams()
    y = music_like(p.sample_rate, 1.0)
    z = y.copy()
    cut = 50 * p.hop_length
    z[cut:] = 0.9
    a, b = Frontend(p).process_signal(y), Frontend(p).process_signal(z)
    np.testing.assert_array_equal(a[:50], b[:50])
    assert not np.array_equal(a[50], b[50])


def test_metadata_round_trip_and_missing_key():
    p = FrontendParams(n_mels=48, diff=False, fmax=12000.0)
    meta = p.to_metadata()
    assert FrontendParams.from_metadata(meta) == p
    del meta["beatd.frontend.hop_length"]
    with pytest.raises(ValueError, match="hop_length"):
        FrontendParams.from_metadata(meta)


def test_frame_time_convention():
    p = FrontendParams()
    assert p.frame_rate == 100.0
    k = np.arange(10)
    np.testing.assert_allclose(p.time_to_frame(p.frame_time(k)), k)
    assert p.frame_time(0) == pytest.approx((441 - 1024) / 44100)


def test_batches_of_hops_equal_hop_by_hop():
    """The live worker's batched call gives exactly the frames of one call per hop."""
    p = FrontendParams()
    rng = np.random.default_rng(3)
    hops = (0.3 * rng.standard_normal((61, p.hop_length))).astype(np.float32)
    a, b = Frontend(p), Frontend(p)
    ref = np.stack([a.process_hop(h).copy() for h in hops])
    out = np.zeros((len(hops), p.n_features), np.float32)
    for s in range(0, len(hops), 7):            # uneven last batch
        b.process_hops(hops[s:s + 7], out[s:])
    np.testing.assert_array_equal(out, ref)
    assert b.frames_done == a.frames_done == len(hops)


@pytest.mark.parametrize("params", [FrontendParams(),
                                    FrontendParams(sample_rate=22050, n_fft=1024, hop_length=220,
                                                   n_mels=80, fmin=0.0, fmax=11025.0)])
def test_window_and_filterbank_equal_librosa(params):
    """The frontend builds them without librosa.filters (its scipy.signal import costs ~2 s of
    start-up); they must stay bit-identical to librosa's."""
    import librosa.filters

    ref = librosa.filters.mel(sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels,
                              fmin=params.fmin, fmax=params.fmax).astype(np.float64)
    np.testing.assert_array_equal(mel_filterbank(params), ref)
    for name in ("hann", "hamming"):
        np.testing.assert_allclose(
            periodic_window(name, params.n_fft),
            librosa.filters.get_window(name, params.n_fft, fftbins=True), rtol=0, atol=1e-15)
