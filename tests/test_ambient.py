"""Recorded negatives for the music head (export/ambient.py) and its augmentations
(export/music_head): which files are taken, their features from a git mirror, the low-pass that
keeps a band limit from telling music apart, and the quiet stretch before an example."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from export import ambient as A
from export import dataset as D
from export.dataset import quiet_beds
from export.music_head import _lowpass, _with_quiet


@pytest.mark.parametrize("path, taken", [
    ("wind/Soft Wind.wav", True),
    ("kitchen/Boiling Soup.wav", True),
    ("rain/Heavy rain.wav", False),                  # folder not taken (evaluation-only kind)
    ("voice/Female opera.wav", False),               # folder not taken (songs in it)
    ("wind/Solitudo Winds loop.wav", False),         # a loop
    ("wind/wooden chimes.wav", False),               # tuned chimes
    ("transport/Train wheels.wav", False),           # rhythmic
    ("transport/Light Traffic.wav", False),          # evaluation-only kind
    ("bathroom/bathroom fan.wav", False),            # evaluation-only kind
    ("kitchen/Drain.wav", True),                     # "rain" only as a word
    ("bathroom/Rain shower.wav", False),
    ("kitchen/Boiling Soup.flac", False),            # not a wav
])
def test_noise_dataset_classes_and_exclusions(path: str, taken: bool) -> None:
    assert A.keep("ruiiwang/noise_dataset", path) is taken


def test_only_listed_sources_and_paths() -> None:
    assert A.keep("PhilippMatthes/dc_tts", "LJSpeech-1.1/wavs/LJ001-0001.wav")
    assert not A.keep("PhilippMatthes/dc_tts", "samples/LJ001-0001.wav")
    assert not A.keep("someone/else", "wind/Soft Wind.wav")
    assert A.mirror_repo(A.AMBIENT_DIR / "ruiiwang+noise_dataset" / "repo") == "ruiiwang/noise_dataset"


def test_extract_and_features_from_a_mirror(tmp_path, monkeypatch) -> None:
    """A git mirror named like fetch's: the kept files are copied out, the others not; their
    features are cached log-mel frames at the frontend's rate, whatever the file's rate."""
    work = tmp_path / "work"
    (work / "wind").mkdir(parents=True)
    (work / "rain").mkdir()
    rng = np.random.default_rng(0)
    sf.write(work / "wind" / "Soft Wind.wav", rng.normal(0, 0.1, 32000).astype(np.float32), 16000)
    sf.write(work / "wind" / "wind loop.wav", rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    sf.write(work / "rain" / "Rain.wav", rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    mirror = tmp_path / "mirror" / "ruiiwang+noise_dataset" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror)], check=True)
    dest = tmp_path / "ambient"
    assert A.extract(mirror, dest) == (1, 0)
    assert [p.name for p in A.ambient_files(dest)] == ["Soft Wind.wav"]
    monkeypatch.setattr(D, "FEATURE_DIR", tmp_path / "features")
    (tr,) = A.ambient_tracks(dest, workers=1, progress=False)
    assert tr.meta["class"] == "wind" and tr.meta["sample_rate"] == 16000
    assert tr.beat_frames.size == 0 and tr.exact
    assert abs(tr.n_frames - 2.0 * D.PARAMS.frame_rate) <= 2
    assert np.isfinite(tr.logmel).all() and tr.logmel.max() > 0


def test_lowpass_silences_the_bands_above_a_cutoff() -> None:
    lm = np.ones((10, D.N_MELS), np.float32)
    assert _lowpass(np.random.default_rng(0), lm, 0.0) is lm
    cut = [_lowpass(np.random.default_rng(s), lm, 1.0) for s in range(20)]
    kept = sorted({int((c[0] > 0).sum()) for c in cut})
    assert len(kept) > 3                                   # the cutoff varies
    for c in cut:
        k = int((c[0] > 0).sum())
        assert (c[:, :k] == 1).all() and (c[:, k:] == 0).all()
    # 5.5-11 kHz on a 30 Hz-16 kHz mel scale: the top bands always go, the lower half never
    assert max(kept) < D.N_MELS - 2 and min(kept) > D.N_MELS // 2


def test_quiet_beds_and_the_quiet_prefix() -> None:
    """Digital silence and faint white and pink noise at four levels, rising; a prefix of 1-5 s
    of one of them before a share of the examples, the example itself unchanged after it."""
    beds = quiet_beds(seconds=1.0, seed=3)
    assert len(beds) == 9 and all(np.isfinite(b).all() for b in beds)
    assert not beds[0].any()                                   # digital silence: all zero
    for noise in (beds[1:5], beds[5:9]):                       # -100 ... -55 dBFS
        means = [b.mean() for b in noise]
        assert means == sorted(means) and means[0] < 0.02 < 1.0 < means[-1]
    lm = np.full((50, D.N_MELS), 2.0, np.float32)
    assert _with_quiet(np.random.default_rng(0), lm, beds, 0.0) == (lm, 0)
    fr = D.PARAMS.frame_rate
    ks = []
    for seed in range(30):
        out, k = _with_quiet(np.random.default_rng(seed), lm, beds, 1.0)
        assert fr <= k <= 5 * fr and len(out) == k + len(lm)
        assert np.array_equal(out[k:], lm)
        assert any(np.array_equal(out[:len(b)], b) for b in beds)      # tiled from one bed
        ks.append(k)
    assert len(set(ks)) > 10
    n = sum(_with_quiet(np.random.default_rng(s), lm, beds, 0.3)[1] > 0 for s in range(400))
    assert 80 <= n <= 160
