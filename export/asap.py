"""Classical piano performances with annotated beats: the ASAP dataset, rendered to audio.

The chart data holds no classical music, and classical recordings are where the tracker is
weakest. ASAP (Foscarin et al., ISMIR 2020; github.com/fosfrancesco/asap-dataset, CC BY-NC-SA
4.0) has 1,067 expressive MIDI performances of 236 Western classical piano scores (from the
MAESTRO competition recordings) with beats and downbeats annotated *on the performance*, so
rubato, fermatas and ritardandi are in the labels. Its audio is not distributed; this module
renders each performance with ``export.synth``'s instruments (piano, or bowed strings / winds
for soft, orchestra-like onsets), sustain pedal honoured, then the synthetic recording chain
(room, microphone colour, level changes, noise), and caches the frontend features of one
excerpt per performance.

    python -m export.asap --mirror /work/.mirror/fosfrancesco+asap-dataset/repo

Data stays in ignored caches: ``.cache/data/asap`` (MIDI and annotations, extracted from the
mirror) and ``.cache/features/asap-v1`` (features). Pieces are split by (composer, title), so all
performances of a piece are on one side; about 12 % of pieces are validation.
"""
from __future__ import annotations

import argparse
import csv
import json
import zlib
from pathlib import Path

import numpy as np

from export import dataset as D
from export import synth as S

ASAP_DIR = D.ROOT / ".cache" / "data" / "asap"
ASAP_VERSION = "asap-v1"
EXCERPT_S = 30.0
VAL_PERCENT = 12


def extract(mirror: Path, dest: Path = ASAP_DIR) -> int:
    """Copy the MIDI performances, their annotations and ``metadata.csv`` out of a git mirror
    (objects the mirror lacks are skipped)."""
    from export.gather import Git

    def dest_of(name: str) -> Path | None:
        keep = name.endswith((".mid", "_annotations.txt")) or name == "metadata.csv"
        return dest / name if keep else None

    return Git(mirror).copy_out(dest_of)[0]


def read_annotations(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Beat times and downbeat flags of an ASAP ``*_annotations.txt`` (``t  t  db,4/4,2``)."""
    times, db = [], []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        times.append(float(parts[0]))
        db.append(parts[2].split(",")[0] == "db")
    t = np.asarray(times)
    order = np.argsort(t, kind="stable")
    return t[order], np.asarray(db, bool)[order]


def tactus(beats: np.ndarray, downbeat: np.ndarray, fastest: float = 0.3,
           slowest: float = 1.1) -> tuple[np.ndarray, np.ndarray]:
    """Beats at a tapping level, from ASAP's beats at the time signature's denominator.

    ASAP counts a 6/8 bar as six beats and 2/2 as two, so its "beats" run from 30 to 300 BPM;
    a listener (and the dev set's annotators) taps the tactus. Per bar: compound bars (6, 9 or
    12 beats) keep every third beat (the dotted-quarter pulse); beats still faster than
    ``fastest`` seconds keep every second beat while the bar divides evenly, else one per bar;
    beats slower than ``slowest`` seconds get the midpoint added. Downbeats are always kept.
    The beats before the first downbeat (a pickup) follow the first bar's rule, counted back.

    >>> b = np.arange(12) * 0.15; db = np.arange(12) % 6 == 0      # 6/8 at 400 eighths/min
    >>> tactus(b, db)[0]
    array([0.  , 0.45, 0.9 , 1.35])
    """
    beats = np.asarray(beats, np.float64)
    downbeat = np.asarray(downbeat, bool)
    starts = np.flatnonzero(downbeat)
    if starts.size == 0 or beats.size < 2:
        return beats, downbeat

    def step_of(n: int, ibi: float) -> int:
        k = 3 if n in (6, 9, 12) else 1
        while ibi * k < fastest and n % (2 * k) == 0:
            k *= 2
        return n if ibi * k < fastest else k

    keep = np.zeros(beats.size, bool)
    ends = np.append(starts[1:], beats.size)
    for i, (a, b) in enumerate(zip(starts, ends)):
        n = int(b - a)
        if b < beats.size:
            ibi = (beats[b] - beats[a]) / n
        elif n > 1:                        # the last bar: no next downbeat
            ibi = float(np.median(np.diff(beats[a:b])))
        else:
            keep[a] = True
            continue
        k = step_of(n, ibi)
        keep[a:b:k] = True
        if i == 0 and a - k >= 0:          # pickup: same step, counted back from the downbeat
            keep[a - k::-k] = True
    t, d = beats[keep], downbeat[keep]
    if t.size >= 2:                        # too slow: add midpoints
        gaps = np.diff(t)
        slow = np.flatnonzero(gaps > slowest)
        if slow.size:
            t = np.insert(t, slow + 1, t[slow] + gaps[slow] / 2)
            d = np.insert(d, slow + 1, False)
    return t, d


def read_notes(path: Path) -> np.ndarray:
    """Notes of a performance MIDI as rows (onset s, offset s, pitch, velocity), with the
    sustain pedal (CC 64 >= 64) holding released notes until the pedal lifts."""
    import mido

    mid = mido.MidiFile(str(path))
    t, pedal = 0.0, False
    on: dict[tuple[int, int], tuple[float, int]] = {}
    held: list[list[float]] = []   # released while the pedal is down: wait for pedal up
    notes: list[list[float]] = []
    for msg in mid:
        t += msg.time
        if msg.type == "control_change" and msg.control == 64:
            down = msg.value >= 64
            if pedal and not down:
                for n in held:
                    n[1] = t
                    notes.append(n)
                held = []
            pedal = down
        elif msg.type == "note_on" and msg.velocity > 0:
            on[(msg.channel, msg.note)] = (t, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            start = on.pop((msg.channel, msg.note), None)
            if start is None:
                continue
            n = [start[0], t, float(msg.note), float(start[1])]
            (held if pedal else notes).append(n)
    for n in held:
        n[1] = t
        notes.append(n)
    arr = np.asarray(notes, np.float64).reshape(-1, 4)
    return arr[np.argsort(arr[:, 0], kind="stable")]


def render(notes: np.ndarray, start: float, dur: float, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Audio of the notes sounding in ``[start, start + dur)`` with a randomly drawn ensemble."""
    kind = str(rng.choice(["piano", "strings", "split", "winds"], p=[0.55, 0.2, 0.15, 0.1]))
    split_at = float(rng.uniform(55, 64))
    buf = S.Buffer(int(dur * S.SR))
    vel_exp = rng.uniform(1.0, 2.0)
    sel = (notes[:, 1] > start) & (notes[:, 0] < start + dur)
    for on, off, pitch, vel in notes[sel]:
        v = (vel / 127.0) ** vel_exp
        f = S.midi_hz(pitch)
        length = max(off - on, 0.03)
        inst = kind if kind != "split" else ("strings" if pitch < split_at else "piano")
        if inst == "piano":
            x = S.piano_note(rng, f, length, v)
        else:
            x = S.bowed_note(rng, f, min(length, 4.0), "strings" if inst == "strings" else "wind", v)
        if on < start:                       # a note held over the excerpt's start
            x = x[int((start - on) * S.SR):]
            on = start
        buf.add(x, on - start, 0.25)
    y, info = S.recording_chain(rng, buf.y, 1)
    info["ensemble"] = kind
    return y.astype(np.float32), info


RENDER_SEED = 20261122


def _features_dir(seed: int) -> Path:
    """Feature cache of the excerpts rendered with ``seed`` (the default seed keeps the
    original folder name)."""
    return D.FEATURE_DIR / (ASAP_VERSION if seed == RENDER_SEED else f"{ASAP_VERSION}-seed{seed}")


def _one(args: tuple[str, str, str, int]) -> str:
    perf, ann, piece, seed = args
    key = f"{zlib.crc32(perf.encode()):08x}"
    path = _features_dir(seed) / f"{key}.npz"
    if path.exists():
        return str(path)
    t, db = read_annotations(ASAP_DIR / ann)
    if t.size < 16:
        return ""
    notes = read_notes(ASAP_DIR / perf)
    rng = np.random.default_rng([zlib.crc32(perf.encode()), seed])
    lo, hi = max(t[0] - 2.0, 0.0), max(t[-1] - EXCERPT_S + 1.0, t[0])
    start = float(rng.uniform(lo, hi)) if hi > lo else lo
    y, info = render(notes, start, EXCERPT_S, rng)
    lm = D.logmel_of(y, S.SR)
    keep = (t >= start) & (t < start + EXCERPT_S)
    D.save_npz(path, logmel=lm, beats=t[keep] - start, downbeat=db[keep],
               info=json.dumps({"performance": perf, "piece": piece, "start_s": start, **info}, default=str))
    return str(path)


def performances(root: Path = ASAP_DIR) -> list[tuple[str, str, str]]:
    """(performance MIDI, annotations, piece key) for every row of ``metadata.csv``."""
    rows = []
    with open(root / "metadata.csv", newline="") as f:
        for r in csv.DictReader(f):
            if (root / r["midi_performance"]).exists() and (root / r["performance_annotations"]).exists():
                rows.append((r["midi_performance"], r["performance_annotations"],
                             f"{r['composer']}/{r['title']}"))
    return rows


def piece_split(piece: str) -> str:
    """``"val"`` for about 12 % of the pieces (all their performances), else ``"train"``."""
    return "val" if zlib.crc32(piece.encode()) % 100 < VAL_PERCENT else "train"


def asap_tracks(root: Path = ASAP_DIR, workers: int = 2, progress: bool = True,
                beats: str = "tactus", seed: int = RENDER_SEED,
                split: str | None = None) -> list[D.Track]:
    """Rendered excerpts as tracks (source ``asap``), split by piece into train and val.
    ``beats``: ``"tactus"`` (see :func:`tactus`) or ``"annotated"`` (ASAP's own beats, as the
    version 7 and 8 candidates were trained). ``seed``: another seed renders other excerpts
    (start points, instruments, room) of the same performances, in their own cache folder;
    ``split``: render and return only that split."""
    if not (root / "metadata.csv").exists():
        return []
    jobs = [(*j, seed) for j in performances(root) if split is None or piece_split(j[2]) == split]
    paths = D.map_jobs(_one, jobs, workers, "asap", progress, chunksize=2)
    out = []
    for (perf, _, piece, _), p in zip(jobs, paths):
        if not p:
            continue
        z = np.load(p)
        t, db = z["beats"], z["downbeat"].astype(bool)
        if beats == "tactus":
            t, db = tactus(t, db)
        if t.size < 8:
            continue
        out.append(D.Track(f"asap/{perf}", "asap", z["logmel"], D.PARAMS.time_to_frame(t),
                           db, True, False, -1, piece_split(piece),
                           {"licence": "CC BY-NC-SA 4.0", "piece": piece}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, help="git directory of fosfrancesco/asap-dataset (from fetch)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=RENDER_SEED,
                    help="render seed; another one gives other excerpts of the same performances")
    ap.add_argument("--split", choices=["train", "val"], help="render only this split")
    a = ap.parse_args()
    if a.mirror:
        print(f"extracted {extract(a.mirror)} files to {ASAP_DIR}")
    tr = asap_tracks(workers=a.workers, seed=a.seed, split=a.split)
    n_val = sum(t.split == "val" for t in tr)
    print(f"{len(tr)} excerpts ({n_val} validation), {D.hours(tr)} h")


if __name__ == "__main__":
    main()
