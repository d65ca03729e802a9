"""Training data: synthetic tracks and rhythm-game chart audio -> cached frontend features.

Features are made with exactly the daemon's code path: ``soxr.resample`` to 44.1 kHz, then
``realtime.frontend.Frontend(FrontendParams()).process_signal(y)``. The cache
(``.cache/features/<source>/<id>.npz``) stores only the log-mel half of each frame; the
positive-difference half is recomputed after augmentation with the frontend's own formula
(``max(v[k] - v[k-1], 0)``, ``v[-1] = 0``), so an unaugmented crop equals the frontend output
up to float32 rounding.

Augmentation (training crops only), all in the feature domain:

* gain and EQ: exact for the log-mel half, because mel magnitudes are linear in the signal:
  ``v' = log1p(g_band(t) * expm1(v))`` (per-band smooth EQ curve, overall gain, slow level
  changes over time);
* added noise: approximate -- a noise floor added to the mel magnitudes (magnitudes do not add
  exactly for incoherent signals);
* time stretch: linear interpolation of log-mel frames at a rate ``s`` in [0.8, 1.25] with the
  beat positions scaled by ``1/s`` (tempo changes, timbre is kept); with ``tempo_stretch`` > 0,
  that share of chart crops is instead stretched to a tempo drawn log-uniformly from
  :data:`STRETCH_BPM` (rate clipped to :data:`STRETCH_RATE`), so slow tempos, rare in the
  charts, are seen as often as fast ones (the hop-size augmentation of Böck et al. 2019);
* song changes: some crops join two tracks mid-crop (the daemon hears playlists).

Never reads /work/shared/data/dev; tracks matching /work/shared/data/heldout.md are skipped.
"""
from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from realtime.evaluate import tempo_from_beats
from realtime.frontend import Frontend, FrontendParams

ROOT = Path(__file__).resolve().parent.parent
CHARTS_DIR = ROOT / ".cache" / "data" / "charts"
FEATURE_DIR = Path(os.environ.get("BEATD_FEATURE_DIR", ROOT / ".cache" / "features"))
HELDOUT_MD = Path("/work/shared/data/heldout.md")
DEV_DIR = Path("/work/shared/data/dev")
SYNTH_VERSION = "synth-v1"
SYNTH_DURATION = 30.0
PARAMS = FrontendParams()
N_MELS = PARAMS.n_mels


@dataclass
class Track:
    name: str
    source: str
    logmel: np.ndarray            # [T, n_mels] float32
    beat_frames: np.ndarray       # fractional frame index of each beat
    downbeat: np.ndarray          # bool per beat
    has_downbeats: bool
    exact: bool                   # synthetic: labels valid everywhere (also before/after grid)
    level: int = -1
    split: str = "train"
    meta: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return self.logmel.shape[0]

    @cached_property
    def tempo(self) -> float:
        """Median annotated tempo (BPM; 0 without beats)."""
        return tempo_from_beats(PARAMS.frame_time(self.beat_frames))


# ----------------------------------------------------------------------------------- features

def logmel_of(y: np.ndarray, sr: int) -> np.ndarray:
    """Frontend features of mono audio ``y`` at ``sr`` (log-mel half only)."""
    import soxr

    y = np.asarray(y, np.float32)
    if sr != PARAMS.sample_rate:
        y = soxr.resample(y, sr, PARAMS.sample_rate)
    fe = Frontend(PARAMS)
    return fe.process_signal(y)[:, :N_MELS].copy()


def full_features(logmel: np.ndarray) -> np.ndarray:
    """[T, n_mels] log-mel -> [T, 2*n_mels] frontend frame (log-mel, positive difference)."""
    d = np.diff(logmel, axis=0, prepend=np.zeros((1, logmel.shape[1]), logmel.dtype))
    return np.concatenate([logmel, np.maximum(d, 0)], axis=1).astype(np.float32)


def full_features_batch(logmel: np.ndarray) -> np.ndarray:
    """[B, T, n_mels] -> [B, T, 2*n_mels]."""
    d = np.diff(logmel, axis=1, prepend=np.zeros_like(logmel[:, :1]))
    return np.concatenate([logmel, np.maximum(d, 0)], axis=2).astype(np.float32)


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    times, bib = [], []
    for line in Path(path).read_text().splitlines():
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        try:
            times.append(float(parts[0]))
        except ValueError:
            continue
        bib.append(int(float(parts[1])) if len(parts) > 1 else 0)
    t = np.asarray(times, np.float64)
    b = np.asarray(bib, np.int64)
    order = np.argsort(t)
    t, b = t[order], b[order]
    has_db = bool(b.size and (b == 1).any() and (b > 0).all())
    return t, b, has_db


def save_npz(path: Path, **arrays) -> None:
    """Write a cache file atomically (a temporary name, then rename), so parallel workers and
    interrupted runs never leave a half-written file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.rename(path)


def map_jobs(fn, jobs: list, workers: int, desc: str, progress: bool, chunksize: int = 1) -> list:
    """``[fn(j) for j in jobs]`` in order, over ``workers`` processes when more than one."""
    if workers > 1:
        with Pool(workers) as pool:
            return list(_progress(pool.imap(fn, jobs, chunksize=chunksize), len(jobs), desc, progress))
    return list(_progress(map(fn, jobs), len(jobs), desc, progress))


# ------------------------------------------------------------------------------------ synthetic

def _synth_dir(duration: float) -> Path:
    return FEATURE_DIR / (SYNTH_VERSION if duration == SYNTH_DURATION else f"{SYNTH_VERSION}-{duration:g}s")


def _synth_one(args: tuple[int, int, float]) -> str:
    from export.synth import generate_track

    level, seed, duration = args
    path = _synth_dir(duration) / f"L{level}_{seed:05d}.npz"
    if path.exists():
        return str(path)
    tr = generate_track(seed, level, duration)
    lm = logmel_of(tr.audio, 44100)
    save_npz(path, logmel=lm.astype(np.float32), beats=tr.beats, bib=tr.beat_in_bar,
             info=json.dumps(tr.info, default=str))
    return str(path)


def level_list(levels: int | Sequence[int]) -> list[int]:
    """Curriculum levels: an int ``N`` means levels ``0 .. N-1``; a sequence names them."""
    return list(range(levels)) if isinstance(levels, int) else [int(v) for v in levels]


def synth_tracks(n_per_level: int, seed0: int, split: str, workers: int = 2,
                 progress: bool = True, duration: float = SYNTH_DURATION,
                 levels: int | Sequence[int] = 4) -> list[Track]:
    """Generate (or load from cache) ``n_per_level`` tracks for each curriculum level in
    ``levels`` (an int: the first ``levels``; level 4, the classical-like ensembles, came with
    the version-3 candidate, level 5, rock and metal bands, with session 21's)."""
    sdir = _synth_dir(duration)
    jobs = [(lvl, seed0 + i, duration) for lvl in level_list(levels) for i in range(n_per_level)]
    todo = [j for j in jobs if not (sdir / f"L{j[0]}_{j[1]:05d}.npz").exists()]
    if todo:
        map_jobs(_synth_one, todo, workers, f"synth {split}", progress, chunksize=4)
    out = []
    for lvl, seed, _ in jobs:
        z = np.load(sdir / f"L{lvl}_{seed:05d}.npz")
        beats, bib = z["beats"], z["bib"]
        out.append(Track(f"synth_L{lvl}_{seed:05d}", f"synth_L{lvl}", z["logmel"],
                         PARAMS.time_to_frame(beats), bib == 1, True, True, lvl, split,
                         json.loads(str(z["info"]))))
    return out


NO_BEAT_VERSION = "no-beat-v1"
NO_BEAT_FIRST_SEED = 1000   # the benches use seeds 0-2, export.tune_tracker 100-102


def _no_beat_one(args: tuple[str, int, float]) -> str:
    from export.synth import SR, no_beat_audio

    kind, seed, duration = args
    path = FEATURE_DIR / NO_BEAT_VERSION / f"{kind.replace(' ', '_')}_{seed:05d}_{duration:g}s.npz"
    if not path.exists():
        save_npz(path, logmel=logmel_of(no_beat_audio(kind, duration, seed), SR).astype(np.float32))
    return str(path)


def no_beat_tracks(n_per_kind: int, workers: int = 2, progress: bool = True,
                   duration: float = SYNTH_DURATION) -> list[Track]:
    """Negatives: :func:`export.synth.no_beat_audio` of every kind (noise, hum, unrhythmic talk,
    claps and clicks at random times) with no beat in it, ``n_per_kind`` seeds from
    :data:`NO_BEAT_FIRST_SEED` for the event kinds and a quarter as many for the steady ones.
    Their targets are zero everywhere (``exact``), so the network learns to stay quiet on sound
    that has onsets but no beat."""
    from export.synth import NO_BEAT_KINDS, STEADY_NO_BEAT_KINDS

    jobs = [(k, NO_BEAT_FIRST_SEED + i, duration) for k in NO_BEAT_KINDS
            for i in range(max(1, n_per_kind // 4) if k in STEADY_NO_BEAT_KINDS else n_per_kind)]
    paths = map_jobs(_no_beat_one, jobs, workers, "no-beat audio", progress, chunksize=4)
    empty = np.zeros(0, np.float64)
    return [Track(Path(pth).stem, "no_beat", np.load(pth)["logmel"], empty, np.zeros(0, bool),
                  True, True, -1, "train", {"kind": k, "seed": sd}) for pth, (k, sd, _) in zip(paths, jobs)]


# --------------------------------------------------------------------------------------- charts

def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def heldout_filter() -> tuple[set[str], list[str], set[str]]:
    """(held-out repos, held-out title strings, FNF song names) from heldout.md + dev set ids."""
    repos: set[str] = set()
    titles: list[str] = []
    fnf: set[str] = set()
    if HELDOUT_MD.exists():
        text = HELDOUT_MD.read_text()
        repos = {r.lower() for r in re.findall(r"\b([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)\b", text)}
        for line in text.splitlines():
            m = re.match(r"^- (.+?) — (.*)$", line.strip())
            if m:
                titles.append(_norm(m.group(1)))
        m = re.search(r"Friday Night Funkin'.*?\n\n(.+?)\n\n", text, re.S)
        if m:
            fnf = {_norm(x) for x in m.group(1).split(",")}
    if DEV_DIR.exists():  # names only (never the data): same song under another source
        for man in DEV_DIR.glob("*/manifest.json"):
            try:
                for t in json.loads(man.read_text()).get("tracks", []):
                    for k in ("title", "song"):
                        if t.get(k):
                            titles.append(_norm(str(t[k])))
            except Exception:
                pass
    titles = [t for t in titles if len(t) >= 4]
    return repos, titles, fnf


def is_heldout(track: dict, source: str, filt) -> str | None:
    repos, titles, fnf = filt
    blob = json.dumps(track, default=str).lower()
    for r in repos:
        if r in blob:
            return f"held-out repository {r}"
    name = _norm(" ".join(str(track.get(k, "")) for k in ("title", "song", "name", "id")))
    for t in titles:
        if t and t in name:
            return f"held-out title {t}"
    if "fnf" in blob or "funkin" in blob or "fnf" in source.lower():
        for k in ("song", "title", "id", "name"):
            v = _norm(str(track.get(k, "")))
            for f in fnf:
                if v == f or v.endswith(f) or v.startswith(f):
                    return f"held-out FNF song {f}"
    return None


def _chart_one(args) -> tuple[str, str | None]:
    src_dir, tr = args
    import soundfile as sf

    audio = Path(src_dir) / tr["audio"]
    st = audio.stat()
    key = f"{tr['id']}_{zlib.crc32(f'{audio.name}:{st.st_size}:{int(st.st_mtime)}'.encode()):08x}"
    path = FEATURE_DIR / "charts" / Path(src_dir).name / f"{key}.npz"
    if path.exists():
        return str(path), None
    try:
        try:
            y, sr = sf.read(str(audio), dtype="float32", always_2d=True)
        except Exception:
            import librosa
            y, sr = librosa.load(str(audio), sr=None, mono=False)
            y = np.atleast_2d(y).T
        y = y.mean(axis=1)
        lm = logmel_of(y, sr)
    except Exception as e:  # unreadable audio: skip, report
        return "", f"{audio}: {e}"
    save_npz(path, logmel=lm)
    return str(path), None


def chart_splits(tracks: Sequence[tuple[str, str, str]]) -> list[str]:
    """Split of each chart track ``(source, title, id)``: "train", "val" or "none".

    A track goes to "val" when the CRC32 of its normalised title (or ``source/id`` without a title)
    falls below 12 of 100, so duplicate charts of one song stay on one side. A "val" track whose
    title extends, or is extended by, the title of a "train" track of the same source (at least 5
    characters: "faucet" / "faucet-(hq)", "atelophobia" / "atelophobia-b", a song and its mix)
    is a variant of a training song; it becomes "none", in neither split, so validation never
    scores a song the network was trained on and the training set stays as it was.

    >>> chart_splits([("fnf_a", "faucet", "faucet"), ("fnf_a", "faucet-(hq)", "faucet_hq")])
    ['train', 'none']
    """
    keys = [_norm(title) or f"{src}/{tid}" for src, title, tid in tracks]
    splits = ["val" if zlib.crc32(k.encode()) % 100 < 12 else "train" for k in keys]
    train_keys: dict[str, list[str]] = {}
    for (src, _, _), k, sp in zip(tracks, keys, splits):
        if sp == "train":
            train_keys.setdefault(src, []).append(k)
    def variant(a: str, b: str) -> bool:
        return min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a))
    for i, ((src, _, _), k) in enumerate(zip(tracks, keys)):
        if splits[i] == "val" and any(variant(k, t) for t in train_keys.get(src, [])):
            splits[i] = "none"
    return splits


def chart_tracks(root: Path = CHARTS_DIR, workers: int = 2, progress: bool = True,
                 log=print) -> list[Track]:
    """Every readable, non-held-out chart track under ``root/<source>/manifest.json``."""
    if not root.exists():
        log(f"[data] no chart data at {root}")
        return []
    filt = heldout_filter()
    jobs, metas = [], []
    for man in sorted(root.glob("*/manifest.json")):
        src_dir = man.parent
        try:
            manifest = json.loads(man.read_text())
        except Exception as e:
            log(f"[data] skip {man}: {e}")
            continue
        for tr in manifest.get("tracks", []):
            if "id" not in tr or "audio" not in tr:
                continue
            audio = src_dir / tr["audio"]
            beats = src_dir / tr.get("beats", f"{tr['id']}.beats")
            if not audio.exists() or not beats.exists():
                continue
            why = is_heldout(tr, src_dir.name, filt)
            if why:
                log(f"[data] excluded {src_dir.name}/{tr['id']}: {why}")
                continue
            jobs.append((str(src_dir), tr))
            metas.append((src_dir.name, tr, beats, audio))
    if not jobs:
        return []
    res = map_jobs(_chart_one, jobs, workers, "chart features", progress)
    splits = chart_splits([(src, str(tr.get("title") or ""), tr["id"]) for src, tr, _, _ in metas])
    out = []
    for (path, err), (src, tr, beats, audio), split in zip(res, metas, splits):
        if err:
            log(f"[data] unreadable: {err}")
            continue
        t, bib, has_db = read_beats(beats)
        if t.size < 8:
            continue
        lm = np.load(path)["logmel"]
        out.append(Track(f"{src}/{tr['id']}", src, lm, PARAMS.time_to_frame(t), bib == 1, has_db,
                         False, -1, split, {"licence": tr.get("license", tr.get("licence", "")),
                                                    "audio": str(audio)}))
    return out


def _progress(it, total, desc, progress):
    try:
        from tqdm import tqdm
        return tqdm(it, total=total, desc=desc, disable=not progress, mininterval=5)
    except ImportError:
        return it


# ------------------------------------------------------------------------------------- batches

def targets(beat_frames: np.ndarray, downbeat: np.ndarray, n: int) -> np.ndarray:
    """[n, 2] soft targets: 1 at the nearest frame, 0.5 at its neighbours (madmom widening)."""
    y = np.zeros((n, 2), np.float32)
    r = np.round(beat_frames).astype(np.int64)
    for ch, sel in ((0, slice(None)), (1, downbeat)):
        rr = r[sel]
        for off, val in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            k = rr + off
            k = k[(k >= 0) & (k < n)]
            y[k, ch] = np.maximum(y[k, ch], val)
    return y


@dataclass
class Crop:
    logmel: np.ndarray
    target: np.ndarray
    mask: np.ndarray  # [n, 2] loss weights
    tempo: np.ndarray | None = None   # [n] local annotated tempo (BPM; 0 = unknown), on request


def local_tempo(beat_frames: np.ndarray, n: int) -> np.ndarray:
    """[n] the annotated tempo (BPM) at each of ``n`` frames: from the interval between the
    two beats around it, linearly between the intervals' midpoints, held beyond the first and
    last (0 everywhere with fewer than two beats).

    >>> local_tempo(np.array([0.0, 50.0, 100.0]), 3).tolist()
    [120.0, 120.0, 120.0]
    """
    if len(beat_frames) < 2:
        return np.zeros(n, np.float32)
    ibi = np.diff(beat_frames)
    mid = 0.5 * (beat_frames[1:] + beat_frames[:-1])
    period = np.interp(np.arange(n, dtype=np.float64), mid, ibi)
    return (60.0 * PARAMS.frame_rate / np.maximum(period, 1e-6)).astype(np.float32)


STRETCH_BPM = (60.0, 200.0)     # tempo range of the tempo-stretched chart crops
STRETCH_RATE = (0.5, 1.6)       # limits of their stretch rate (source frames per frame)


def _stretch_rate(rng: np.random.Generator, tr: Track, augment: bool,
                  tempo_stretch: float) -> float:
    """Source frames per output frame of a crop: 1 unaugmented; else, for a chart track and with
    probability ``tempo_stretch``, the rate that moves its tempo to one drawn log-uniformly from
    :data:`STRETCH_BPM`; else a rate in [0.8, 1.25] (60 % of crops). The extra draw is made only
    when ``tempo_stretch`` > 0, so runs without it get the same batches as before."""
    if not augment:
        return 1.0
    if tempo_stretch > 0 and not tr.exact and tr.tempo > 0 and rng.random() < tempo_stretch:
        target = np.exp(rng.uniform(np.log(STRETCH_BPM[0]), np.log(STRETCH_BPM[1])))
        return float(np.clip(target / tr.tempo, *STRETCH_RATE))
    return float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))) if rng.random() < 0.6 else 1.0


def _crop(rng: np.random.Generator, tr: Track, n: int, augment: bool,
          offbeat_weight: float = 1.0, beat_weight: float = 1.0, tempo: bool = False,
          tempo_stretch: float = 0.0) -> Crop:
    s = _stretch_rate(rng, tr, augment, tempo_stretch)
    src_len = int(np.ceil(n * s)) + 1
    T = tr.n_frames
    if T > src_len:
        start = 0 if rng.random() < 0.1 else int(rng.integers(0, T - src_len))
    else:
        start = 0
    pos = start + np.arange(n) * s
    i0 = np.floor(pos).astype(np.int64)
    w = (pos - i0)[:, None].astype(np.float32)
    valid = i0 + 1 < T
    i0c = np.minimum(i0, T - 2)
    lm = tr.logmel[i0c] * (1 - w) + tr.logmel[i0c + 1] * w
    lm[~valid] = 0.0  # past the end: silence
    bf = (tr.beat_frames - start) / s
    keep = (bf > -2) & (bf < n + 2)
    tgt = targets(bf[keep], tr.downbeat[keep], n)
    mask = np.ones((n, 2), np.float32)
    if not tr.has_downbeats:
        mask[:, 1] = 0.0
    if not tr.exact and tr.beat_frames.size:
        # chart grids: trust labels only from 1 s before the first to 1 s after the last beat
        fr = PARAMS.frame_rate / s
        lo = (tr.beat_frames[0] - start) / s - fr
        hi = (tr.beat_frames[-1] - start) / s + fr
        idx = np.arange(n)
        mask[(idx < lo) | (idx > hi)] = 0.0
    mask[~valid] = 0.0 if not tr.exact else mask[~valid]
    if offbeat_weight != 1.0:
        offbeat_mask(mask, bf[keep], offbeat_weight)
    if beat_weight != 1.0:
        mask[tgt[:, 0] > 0, 0] *= beat_weight   # the beat frames and their neighbours
    bpm = None
    if tempo:   # the tempo after the time stretch, where the beat labels count
        bpm = np.where(mask[:, 0] > 0, local_tempo(bf, n), 0.0).astype(np.float32)
    return Crop(lm.astype(np.float32), tgt, mask, bpm)


OFFBEAT_HALF_WIDTH = 3  # frames either side of the midpoint between two beats


def offbeat_mask(mask: np.ndarray, beat_frames: np.ndarray, weight: float) -> None:
    """Multiply the beat column's loss weights by ``weight`` within ``OFFBEAT_HALF_WIDTH``
    frames of each midpoint between consecutive beats (in place; masked frames stay 0).

    The midpoints are where the next faster metrical level would put its beats. A network
    that fires there (eighth-note hi-hats, an off-beat snare) makes the tracker run at
    double tempo or on the off-beat; weighting those negatives more teaches it the annotated
    level without changing the targets.
    """
    if len(beat_frames) < 2:
        return
    mids = np.round(0.5 * (beat_frames[:-1] + beat_frames[1:])).astype(np.int64)
    k = (mids[:, None] + np.arange(-OFFBEAT_HALF_WIDTH, OFFBEAT_HALF_WIDTH + 1)[None, :]).ravel()
    k = np.unique(k[(k >= 0) & (k < len(mask))])
    mask[k, 0] *= weight


def _augment_levels(rng: np.random.Generator, lm: np.ndarray) -> np.ndarray:
    """Gain / EQ / level changes (exact in the log-mel domain) and an approximate noise floor."""
    n, m = lm.shape
    mag = np.expm1(np.maximum(lm, 0))
    gain_db = rng.uniform(-30, 10)
    b = np.linspace(0, 1, m)
    eq_db = sum(rng.uniform(-4, 4) * np.cos(np.pi * k * b + rng.uniform(0, np.pi)) for k in (1, 2, 3))
    g = 10 ** ((gain_db + eq_db) / 20)[None, :]
    if rng.random() < 0.3:
        k = int(rng.integers(2, 5))
        env = np.interp(np.arange(n), np.sort(rng.uniform(0, n, k)), rng.uniform(-10, 4, k))
        g = g * 10 ** (env / 20)[:, None]
    mag = mag * g
    if rng.random() < 0.3:
        floor = np.median(mag) * 10 ** (rng.uniform(-30, 0) / 20)
        prof = 10 ** (rng.uniform(-6, 6) * np.linspace(-1, 1, m) / 20)
        mag = mag + floor * prof[None, :] * (1 + 0.5 * np.abs(rng.standard_normal((n, m))))
    return np.log1p(mag).astype(np.float32)


def game_of(track: Track) -> str:
    """The rhythm game a chart track comes from (its source's prefix: fnf, stepmania, clonehero)."""
    return track.source.split("_", 1)[0]


def chart_weights(charts: list[Track], game_balance: float = 0.0,
                  tempo_balance: float = 0.0) -> np.ndarray:
    """Probability of drawing each chart track: proportional to its length, or, with
    ``game_balance`` = 1, every game equally likely (length-proportional within a game);
    values between mix the two. (FNF mods are ~80 % of the chart hours: balancing shows the
    network more of the other games' music.)

    ``tempo_balance`` B > 0 then divides each track's probability by ``f ** B``, ``f`` the
    probability of its tempo band (:func:`tempo_band`), so B = 1 draws every band equally
    often. (Rhythm-game music is fast: 7 % of the training charts' hours are at 107 BPM or
    slower, where the network's output at the 8th notes pulls the tracker to twice the tempo.)"""
    w = np.array([t.n_frames for t in charts], np.float64)
    p = w / w.sum()
    if game_balance > 0.0:
        games = np.array([game_of(t) for t in charts])
        q = np.zeros_like(p)
        names = sorted(set(games))
        for g in names:
            m = games == g
            q[m] = w[m] / w[m].sum() / len(names)
        p = (1.0 - game_balance) * p + game_balance * q
    if tempo_balance > 0.0:
        bands = np.array([tempo_band(t) for t in charts])
        f = {b: p[bands == b].sum() for b in set(bands.tolist())}
        p = p / np.array([f[b] for b in bands]) ** tempo_balance
        p /= p.sum()
    return p


TEMPO_BANDS_BPM = (90.0, 107.5, 140.0, 180.0)


def tempo_band(track: Track) -> int:
    """Index of a track's median annotated tempo among :data:`TEMPO_BANDS_BPM` (0: 90 BPM or
    slower .. 4: above 180 BPM; 2 without beats)."""
    return int(np.searchsorted(TEMPO_BANDS_BPM, track.tempo)) if track.tempo > 0 else 2


def quiet_beds(seconds: float = 5.0, seed: int = 0) -> list[np.ndarray]:
    """Log-mel frames of quiet stretches: digital silence, and white and pink noise at
    -100 .. -55 dBFS (what an idle input gives before sound starts)."""
    from export.synth import no_beat_audio

    rng = np.random.default_rng(seed)
    n = int(seconds * PARAMS.sample_rate)
    beds = [logmel_of(np.zeros(n, np.float32), PARAMS.sample_rate)]
    for kind in ("white noise", "pink noise"):
        for db in (-100.0, -85.0, -70.0, -55.0):
            y = no_beat_audio(kind, seconds, int(rng.integers(1 << 30)))
            y = y / (np.sqrt(np.mean(y ** 2)) + 1e-12) * 10 ** (db / 20)
            beds.append(logmel_of(y.astype(np.float32), PARAMS.sample_rate))
    return beds


def quiet_start(lm: np.ndarray, crop: Crop, bed: np.ndarray, k: int) -> tuple[np.ndarray, Crop]:
    """The first ``k`` frames of a training sequence (log-mel ``lm`` and its ``crop``'s labels)
    replaced by the quiet ``bed`` (tiled): no beat there, full loss weight, tempo unknown."""
    lm = lm.copy()
    lm[:k] = np.resize(bed, (k, bed.shape[1]))
    target, mask = crop.target.copy(), crop.mask.copy()
    target[:k] = 0.0
    mask[:k] = 1.0
    tempo = None
    if crop.tempo is not None:
        tempo = crop.tempo.copy()
        tempo[:k] = 0.0
    return lm, Crop(crop.logmel, target, mask, tempo)


class Sampler:
    """Deterministic batches: batch ``i`` depends only on (seed, i), so resume reproduces them."""

    def __init__(self, synth: list[Track], charts: list[Track], seed: int, crop: int,
                 batch: int, p_charts: float = 0.5, p_join: float = 0.15,
                 levels: int | Sequence[int] = 4,
                 game_balance: float = 0.0, extra: list[Track] | None = None,
                 p_extra: float = 0.0, negatives: list[Track] | None = None,
                 p_negative: float = 0.0, offbeat_weight: float = 1.0,
                 beat_weight: float = 1.0, tempo_labels: bool = False,
                 tempo_balance: float = 0.0, tempo_stretch: float = 0.0,
                 pools: Sequence[tuple[list[Track], float]] = (), quiet_p: float = 0.0,
                 quiet: list[np.ndarray] | None = None) -> None:
        self.synth = synth
        self.levels = level_list(levels)
        self.by_level = {l: [t for t in synth if t.level == l] for l in self.levels}
        self.charts = charts
        self.chart_p = chart_weights(charts, game_balance, tempo_balance) if charts else None
        self.seed, self.crop, self.batch = seed, crop, batch
        self.p_charts = p_charts if charts else 0.0
        self.p_join = p_join
        self.loss_weights = (offbeat_weight, beat_weight)   # _crop's extra loss weights
        self.tempo_labels = tempo_labels    # batches also give each frame's tempo
        self.tempo_stretch = tempo_stretch  # share of chart crops stretched to a random tempo
        # optional pools (audio without a beat with zero targets, e.g. rendered ASAP excerpts),
        # each drawn from with its share before the charts/synthetic choice; unused ones are
        # left out, so they cost no random draw and older runs' batches are unchanged;
        # ``pools``: more such (tracks, share) pairs (e.g. rendered drum performances)
        self.pools = [(pool, p) for pool, p in ((negatives, p_negative), (extra, p_extra), *pools)
                      if pool and p > 0.0]
        # share of sequences that begin with 1-5 s of a quiet bed (:func:`quiet_beds`; no beat
        # there), so the network also learns sound that starts after an idle input; drawn from
        # its own random stream, so the other draws are those of a run without it
        self.quiet_p = quiet_p if quiet else 0.0
        self.quiet = quiet or []

    def level_weights(self, progress: float) -> np.ndarray:
        """Curriculum: early training favours single pulses and plain kits."""
        p = float(np.clip(progress, 0, 1))
        per_level = [1.5 - 1.0 * p, 1.2, 0.8 + 0.7 * p, 0.6 + 0.9 * p, 0.6 + 1.2 * p,
                     0.6 + 0.9 * p]
        w = np.array([per_level[lvl] for lvl in self.levels])
        return w / w.sum()

    def _pick(self, rng, progress: float) -> Track:
        for pool, p in self.pools:
            if rng.random() < p:
                return pool[int(rng.integers(len(pool)))]
        if rng.random() < self.p_charts:
            return self.charts[rng.choice(len(self.charts), p=self.chart_p)]
        lvl = self.levels[int(rng.choice(len(self.levels), p=self.level_weights(progress)))]
        pool = self.by_level[lvl]
        return pool[int(rng.integers(len(pool)))]

    def batch_at(self, step: int, progress: float) -> tuple[np.ndarray, ...]:
        """(features [B, T, F], targets [B, T, 2], loss weights [B, T, 2]) of batch ``step``,
        and with ``tempo_labels`` each frame's tempo [B, T] (BPM; 0 = unknown) as well."""
        rng = np.random.default_rng([self.seed, step, 17])
        rng_q = np.random.default_rng([self.seed, step, 29])
        n = self.crop
        lms, tg, mk, tp = [], [], [], []
        for _ in range(self.batch):
            if rng.random() < self.p_join:
                cut = int(rng.integers(n // 4, 3 * n // 4))
                a = _crop(rng, self._pick(rng, progress), cut, True, *self.loss_weights,
                          self.tempo_labels, self.tempo_stretch)
                b = _crop(rng, self._pick(rng, progress), n - cut, True, *self.loss_weights,
                          self.tempo_labels, self.tempo_stretch)
                c = Crop(np.concatenate([a.logmel, b.logmel]), np.concatenate([a.target, b.target]),
                         np.concatenate([a.mask, b.mask]),
                         np.concatenate([a.tempo, b.tempo]) if self.tempo_labels else None)
            else:
                c = _crop(rng, self._pick(rng, progress), n, True, *self.loss_weights,
                          self.tempo_labels, self.tempo_stretch)
            lm = _augment_levels(rng, c.logmel)
            if self.quiet_p > 0.0 and rng_q.random() < self.quiet_p:
                k = min(int(rng_q.uniform(1.0, 5.0) * PARAMS.frame_rate), n // 2)
                bed = self.quiet[int(rng_q.integers(len(self.quiet)))]
                lm, c = quiet_start(lm, c, bed, k)
            lms.append(lm)
            tg.append(c.target)
            mk.append(c.mask)
            tp.append(c.tempo)
        x = full_features_batch(np.stack(lms))
        if self.tempo_labels:
            return x, np.stack(tg), np.stack(mk), np.stack(tp)
        return x, np.stack(tg), np.stack(mk)


def track_arrays(tr: Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unaugmented whole-track features, targets, mask (validation)."""
    c = _crop(np.random.default_rng(0), tr, tr.n_frames, False)
    return full_features(tr.logmel), c.target, c.mask


def hours(tracks: list[Track]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in tracks:
        key = t.source if not t.source.startswith("synth") else "synthetic"
        out[key] = out.get(key, 0.0) + t.n_frames / PARAMS.frame_rate / 3600
    return {k: round(v, 3) for k, v in sorted(out.items())}
