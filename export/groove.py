"""Human drum performances at their notated tempo: the Groove MIDI Dataset, rendered to audio.

The slow songs of the dev set (a waltz, rock at 95 BPM, GTZAN ballads) are tracked at twice
their tempo, and the slow rhythm-game charts carry their level inconsistently. The Groove MIDI
Dataset (Gillick et al., ICML 2019; magenta.tensorflow.org/datasets/groove, CC BY 4.0) has
503 "beat" performances (13.6 h) by ten drummers on an electronic kit, played to a metronome
at a stated tempo (``<n>_<style>_<bpm>_beat_<meter>.mid``), 173 of them below 100 BPM: real
grooves whose beat level is the drummer's, with ghost notes, hats in 8ths or 16ths and the
backbeat that tells the slow level from its double. This module renders one excerpt of each
with ``export.synth``'s drum voices (the kit's MIDI notes mapped to kick, snare, rim, hats,
toms, crash and ride, velocity kept), adds in most excerpts a bass, chords, pads or a melody
that change on the bar of that grid, then the synthetic recording chain, and caches the
frontend features.

Labels: the metronome grid of the file's tempo from time 0 (the files start on a downbeat),
shifted by the performance's mean offset from its 16th-note grid (so the beat sits where the
drums are heard, not on the unheard click); above 200 BPM every second beat is kept, counted
from the first downbeat (all such files are in 4/4, so every downbeat stays).

    python -m export.groove --mirror /work/.mirror/zharry29+drums-with-llm/repo

Data stays in ignored caches: ``.cache/data/groove`` (MIDI, extracted from the mirror) and
``.cache/features/groove-v1`` (features). The drummers' ``eval_session`` folders (the same ten
grooves played by four drummers) are the validation split.
"""
from __future__ import annotations

import argparse
import json
import re
import zlib
from pathlib import Path

import numpy as np

from export import dataset as D
from export import synth as S
from export.asap import read_notes

GROOVE_DIR = D.ROOT / ".cache" / "data" / "groove"
GROOVE_VERSION = "groove-v1"
EXCERPT_S = 60.0
RENDER_SEED = 20261125
FASTEST_BPM = 200.0
NAME = re.compile(r"(?P<style>[a-z-]+)\d*_(?P<bpm>\d+)_beat_(?P<num>\d+)-(?P<den>\d+)\.mid$")

# Roland TD-11 notes of the dataset -> voice
VOICES = {36: "kick", 38: "snare", 40: "snare", 37: "rim", 48: "tom1", 50: "tom1", 45: "tom2",
          47: "tom2", 43: "tom3", 58: "tom3", 46: "hat_open", 26: "hat_open", 42: "hat",
          22: "hat", 44: "pedal", 49: "crash", 55: "crash", 57: "crash", 52: "crash",
          51: "ride", 59: "ride", 53: "bell"}


def extract(mirror: Path, dest: Path = GROOVE_DIR) -> int:
    """Copy ``groove/**.mid`` and the licence out of a git mirror that holds the dataset."""
    from export.gather import Git

    def dest_of(name: str) -> Path | None:
        keep = name.startswith("groove/") and name.endswith((".mid", "LICENSE"))
        return dest / name[len("groove/"):] if keep else None

    return Git(mirror).copy_out(dest_of)[0]


def performances(root: Path = GROOVE_DIR) -> list[Path]:
    """The "beat" performances (fills left out), sorted."""
    return sorted(p for p in root.rglob("*_beat_*.mid") if NAME.search(p.name))


def split_of(path: Path) -> str:
    """``"val"`` for the ``eval_session`` folders, else ``"train"``."""
    return "val" if path.parent.name == "eval_session" else "train"


def grid(notes: np.ndarray, bpm: float, meter: int, length: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(beat times, downbeat flags, offset s) of a performance: the metronome grid from 0,
    moved by the velocity-weighted circular mean of the onsets' offset from the 16th grid.

    >>> n = np.array([[0.01 + 0.15 * i, 0.1, 36, 100] for i in range(16)])   # 16ths at 100 BPM
    >>> t, db, off = grid(n, 100.0, 4, 3.0)
    >>> round(off, 3), t[:3].round(3).tolist(), db[:5].tolist()
    (0.01, [0.01, 0.61, 1.21], [True, False, False, False, True])
    """
    six = 60.0 / bpm / 4
    z = np.sum(notes[:, 3] * np.exp(2j * np.pi * notes[:, 0] / six))
    off = float(np.angle(z) / (2 * np.pi) * six)
    k = np.arange(int(np.floor((length - off) * bpm / 60.0)) + 1)
    t = off + k * 60.0 / bpm
    db = k % meter == 0
    keep = t >= -1e-6                 # a beat at 0 less rounding error stays
    t, db = t[keep], db[keep]
    if bpm > FASTEST_BPM:             # a tapping level: every second beat (from a downbeat)
        first = int(np.flatnonzero(db)[0]) if db.any() else 0
        sel = (np.arange(t.size) - first) % 2 == 0
        t, db = t[sel], db[sel]
    return t, db, off


def _kit(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, float]]:
    """One drum kit: a sound and a gain per voice."""
    toms = [S.tom(rng, p) for p in sorted(rng.uniform(80, 300, 3))[::-1]]
    ride = S._bandpass(S.hat(rng, True), 3000, 9000) * 1.5
    return {"kick": (S.kick(rng), rng.uniform(0.7, 1.0)), "snare": (S.snare(rng), rng.uniform(0.5, 0.9)),
            "rim": (S.block(rng), 0.3), "hat": (S.hat(rng), rng.uniform(0.15, 0.35)),
            "hat_open": (S.hat(rng, True), rng.uniform(0.15, 0.35)),
            "pedal": (S.hat(rng), 0.1), "tom1": (toms[0], 0.6), "tom2": (toms[1], 0.6),
            "tom3": (toms[2], 0.6), "crash": (S.hat(rng, True), rng.uniform(0.4, 0.7)),
            "ride": (ride, rng.uniform(0.15, 0.3)), "bell": (S.block(rng), 0.2)}


def render(notes: np.ndarray, beats: np.ndarray, downbeat: np.ndarray, start: float, dur: float,
           rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Audio of the performance in ``[start, start + dur)``: the drums, in 75 % of excerpts
    with bass / chords / pads / melody on the bar grid of ``beats``, through the recording chain."""
    buf = S.Buffer(int(dur * S.SR))
    kit = _kit(rng)
    vel_exp = rng.uniform(1.0, 2.0)
    sel = (notes[:, 0] >= start - 0.05) & (notes[:, 0] < start + dur)
    for on, _, pitch, vel in notes[sel]:
        voice = VOICES.get(int(pitch))
        if voice is None:
            continue
        x, g = kit[voice]
        buf.add(x, on - start, g * (vel / 127.0) ** vel_exp)
    info: dict = {"parts": []}
    if rng.random() < 0.75:
        parts = {p for p in ("bass", "pad", "stab", "mel") if rng.random() < 0.5} or {"bass"}
        first = int(np.searchsorted(beats, start - 1e-9))
        starts = np.flatnonzero(downbeat)
        if beats.size - first >= 2 and starts.size:
            meter = int(np.median(np.diff(starts))) if starts.size > 1 else int(beats.size)
            sc = S.Scene(beats=beats[first:] - start, meter=meter,
                         first_pos=(first - int(starts[0])) % meter, swing=0.0, humanize=0.004)
            S.render_harmony(rng, buf, sc, dur, parts, lambda bar: True)
            info["parts"] = sorted(parts)
    y, chain = S.recording_chain(rng, buf.y, 2)
    return y.astype(np.float32), {**info, **chain}


def _one(args: tuple[str, int]) -> str:
    rel, seed = args
    key = f"{zlib.crc32(rel.encode()):08x}"
    folder = D.FEATURE_DIR / (GROOVE_VERSION if seed == RENDER_SEED else f"{GROOVE_VERSION}-seed{seed}")
    path = folder / f"{key}.npz"
    if path.exists():
        return str(path)
    m = NAME.search(rel)
    bpm, meter = float(m["bpm"]), int(m["num"])
    notes = read_notes(GROOVE_DIR / rel)
    if notes.shape[0] < 16:
        return ""
    length = float(notes[-1, 0]) + 0.5
    t, db, off = grid(notes, bpm, meter, length)
    rng = np.random.default_rng([zlib.crc32(rel.encode()), seed])
    hi = max(length - EXCERPT_S, 0.0)
    start = float(rng.uniform(0.0, hi)) if hi > 0 else 0.0
    dur = min(EXCERPT_S, length - start)
    y, info = render(notes, t, db, start, dur, rng)
    keep = (t >= start) & (t < start + dur)
    D.save_npz(path, logmel=D.logmel_of(y, S.SR), beats=t[keep] - start, downbeat=db[keep],
               info=json.dumps({"performance": rel, "bpm": bpm, "meter": meter, "offset_s": off,
                                "start_s": start, **info}, default=str))
    return str(path)


def groove_tracks(root: Path = GROOVE_DIR, workers: int = 2, progress: bool = True,
                  seed: int = RENDER_SEED, split: str | None = None) -> list[D.Track]:
    """Rendered excerpts as tracks (source ``groove``), split train / val by session folder."""
    perfs = [p for p in performances(root) if split is None or split_of(p) == split]
    jobs = [(str(p.relative_to(root)), seed) for p in perfs]
    paths = D.map_jobs(_one, jobs, workers, "groove", progress)
    out = []
    for p, (rel, _), f in zip(perfs, jobs, paths):
        if not f:
            continue
        z = np.load(f)
        t, db = z["beats"], z["downbeat"].astype(bool)
        if t.size < 8:
            continue
        out.append(D.Track(f"groove/{rel}", "groove", z["logmel"], D.PARAMS.time_to_frame(t),
                           db, True, False, -1, split_of(p), {"licence": "CC BY 4.0"}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, help="git directory of a repository holding groove/ (from fetch)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=RENDER_SEED)
    ap.add_argument("--out-wav", type=Path, help="also write the first N excerpts' audio here (listening)")
    ap.add_argument("--n-wav", type=int, default=4)
    a = ap.parse_args()
    if a.mirror:
        print(f"extracted {extract(a.mirror)} files to {GROOVE_DIR}")
    if a.out_wav:                     # listening: 20 s with clicks on the labels
        from realtime.analyze import write_click
        from realtime.tracker import BeatEvent

        a.out_wav.mkdir(parents=True, exist_ok=True)
        for p in performances()[: a.n_wav]:
            m = NAME.search(p.name)
            notes = read_notes(p)
            t, db, _ = grid(notes, float(m["bpm"]), int(m["num"]), float(notes[-1, 0]) + 0.5)
            y, _ = render(notes, t, db, 0.0, 20.0, np.random.default_rng(0))
            events = [BeatEvent(float(bt), i, 1 if d else 2, float(m["bpm"]), 1.0)
                      for i, (bt, d) in enumerate(zip(t[t < 20.0], db[t < 20.0]))]
            write_click(a.out_wav / (p.stem + ".wav"), y / (np.abs(y).max() + 1e-9) * 0.5, S.SR,
                        events)
    tr = groove_tracks(workers=a.workers, seed=a.seed)
    n_val = sum(t.split == "val" for t in tr)
    print(f"{len(tr)} excerpts ({n_val} validation), {D.hours(tr)} h")


if __name__ == "__main__":
    main()
