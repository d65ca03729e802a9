"""Scoring beat trackers against annotations (``beatd eval DIR...``).

Annotations are the dev set's ``.beats`` files (``time<TAB>beat_in_bar`` per line) next to the
audio. Per file, with mir_eval (no trimming of the first seconds: an online tracker is also
judged on how it starts):

* F-measure (+-70 ms), CMLt, AMLt, P-score, Cemgil accuracy (``mir_eval.beat``);
* tempo Acc1 (within 4 % of the reference tempo, 60 / median annotated inter-beat interval) and
  Acc2 (also at x2, x1/2, x3, x1/3); the estimate is the tracker's own tempo (beatd: median of
  the emitted beats' tempi) or, when a tracker gives none, 60 / median of its inter-beat intervals;
* time to lock: the first emitted beat from which the next 4 emitted beats all lie within
  +-70 ms of annotated beats, minus the first annotated beat (>= 0; infinite if never);
* beats in silence: emitted beats where the audio's RMS over +-100 ms is below -60 dBFS;
* downbeat F-measure (+-70 ms) of the emitted beats with ``beat_in_bar == 1`` against the
  annotated downbeats, where the annotation has bar positions and the tracker gives them (the
  peers' cached outputs are beat times only: "-" in their rows).

:func:`evaluate_dirs` applies this to any predictor (``audio path -> Prediction``), so beatd and
the peers are scored identically; :meth:`Evaluation.markdown` and :func:`compare_markdown` give
the tables (per folder, overall, and without GTZAN classical).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

TOLERANCE_S = 0.07
LOCK_BEATS = 4
SILENCE_DB = -60.0
AUDIO_EXTS = (".flac", ".wav", ".ogg", ".mp3")


class Prediction(NamedTuple):
    """What a tracker returns for one file: beat ``times`` (s), optionally its ``bpm`` and each
    beat's position in the bar (1 = downbeat)."""

    times: np.ndarray
    bpm: float | None = None
    beat_in_bar: np.ndarray | None = None


@dataclass
class FileScore:
    """Scores of one file (see the module docstring)."""

    folder: str
    track: str
    duration: float
    n_ref: int
    n_est: int
    f_measure: float
    cmlt: float
    amlt: float
    p_score: float
    cemgil: float
    acc1: float
    acc2: float
    lock_time: float
    silence_beats: int
    ref_bpm: float
    est_bpm: float
    downbeat_f: float = math.nan   # nan: no bar positions in the annotation or the estimate

    @property
    def classical(self) -> bool:
        """GTZAN classical (reported separately: the hardest case for any tracker)."""
        return "classical" in self.track


def load_beats(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``.beats`` file: (times, beat_in_bar; 0 where the column is absent)."""
    times, pos = [], []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        times.append(float(parts[0]))
        pos.append(int(float(parts[1])) if len(parts) > 1 else 0)
    return np.asarray(times, np.float64), np.asarray(pos, np.int64)


def tempo_from_beats(times: np.ndarray) -> float:
    """60 / median inter-beat interval (0 with fewer than 2 beats)."""
    times = np.asarray(times, np.float64)
    if len(times) < 2:
        return 0.0
    ibi = np.median(np.diff(np.sort(times)))
    return float(60.0 / ibi) if ibi > 0 else 0.0


def tempo_accuracy(est_bpm: float, ref_bpm: float, tol: float = 0.04) -> tuple[float, float]:
    """(Acc1, Acc2): within ``tol`` of the reference; Acc2 also at x2, x1/2, x3, x1/3."""
    if est_bpm <= 0 or ref_bpm <= 0:
        return 0.0, 0.0
    acc1 = float(abs(est_bpm - ref_bpm) <= tol * ref_bpm)
    acc2 = float(any(abs(est_bpm - f * ref_bpm) <= tol * f * ref_bpm
                     for f in (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)))
    return acc1, acc2


def time_to_lock(est: np.ndarray, ref: np.ndarray, n: int = LOCK_BEATS,
                 tol: float = TOLERANCE_S) -> float:
    """Seconds from the first annotated beat until the first emitted beat from which ``n``
    consecutive emitted beats all match annotations within ``tol`` (inf if never)."""
    est = np.sort(np.asarray(est, np.float64))
    ref = np.sort(np.asarray(ref, np.float64))
    if len(ref) == 0 or len(est) < n:
        return math.inf
    idx = np.searchsorted(ref, est)
    lo = np.abs(est - ref[np.clip(idx - 1, 0, len(ref) - 1)])
    hi = np.abs(est - ref[np.clip(idx, 0, len(ref) - 1)])
    ok = np.minimum(lo, hi) <= tol
    for i in range(len(est) - n + 1):
        if ok[i:i + n].all():
            return max(0.0, float(est[i] - ref[0]))
    return math.inf


def silent_mask_times(path: str | Path, times: np.ndarray, silence_db: float = SILENCE_DB,
                      half_window_s: float = 0.1) -> np.ndarray:
    """For each time, whether the audio's RMS over ``+-half_window_s`` is below ``silence_db``."""
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1).astype(np.float64)
    c = np.concatenate([[0.0], np.cumsum(y * y)])
    out = np.zeros(len(times), bool)
    h = int(half_window_s * sr)
    for j, t in enumerate(np.asarray(times, np.float64)):
        s = int(round(t * sr))
        a, b = max(0, s - h), min(len(y), s + h)
        if b <= a:  # outside the audio: no sound there
            out[j] = True
            continue
        ms = (c[b] - c[a]) / (b - a)
        out[j] = 10.0 * math.log10(ms + 1e-20) < silence_db
    return out


def p_score(reference: np.ndarray, estimated: np.ndarray, threshold: float = 0.2) -> float:
    """P-score exactly as ``mir_eval.beat.p_score`` computes it (10 ms impulse trains, their
    cross-correlation summed over lags within ``threshold`` x the median annotated interval,
    divided by the larger beat count), but by counting beat pairs instead of correlating the
    trains: mir_eval's ``np.correlate`` is quadratic in the song's length (over two minutes for a
    7-minute song on this machine); this takes milliseconds.

    >>> round(p_score(np.arange(1.0, 10.0, 0.5), np.arange(1.02, 10.0, 0.5)), 3)
    1.0
    """
    ref = np.asarray(reference, np.float64)
    est = np.asarray(estimated, np.float64)
    if est.size <= 1 or ref.size <= 1:
        return 0.0
    offset = min(est.min(), ref.min())
    r = np.unique(np.ceil((ref - offset) * 100).astype(np.int64))
    e = np.unique(np.ceil((est - offset) * 100).astype(np.int64))
    win = int(np.round(threshold * np.median(np.diff(r)))) if r.size > 1 else 0
    lo = np.searchsorted(r, e - win, "left")
    hi = np.searchsorted(r, e + win, "right")
    return float((hi - lo).sum() / max(est.size, ref.size))


def score_file(est: np.ndarray, ref: np.ndarray, est_bpm: float | None = None,
               audio: str | Path | None = None, folder: str = "", track: str = "",
               duration: float = 0.0, est_bib: np.ndarray | None = None,
               ref_bib: np.ndarray | None = None) -> FileScore:
    """All metrics of one file (``audio`` is needed for the beats-in-silence count; the
    beat-in-bar arrays, aligned with ``est`` and ``ref``, for the downbeat F-measure)."""
    import mir_eval

    est = np.asarray(est, np.float64)
    ref = np.asarray(ref, np.float64)
    down_f = math.nan
    if (est_bib is not None and ref_bib is not None and len(ref_bib) == len(ref)
            and len(est_bib) == len(est) and np.any(np.asarray(ref_bib) == 1)):
        est_down = np.sort(est[(np.asarray(est_bib) == 1) & (est >= 0.0)])
        ref_down = np.sort(ref[np.asarray(ref_bib) == 1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            down_f = float(mir_eval.beat.f_measure(ref_down, est_down,
                                                   f_measure_threshold=TOLERANCE_S))
    est = np.sort(est)
    est = est[est >= 0.0]
    ref = np.sort(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = mir_eval.beat.f_measure(ref, est, f_measure_threshold=TOLERANCE_S)
        _, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
        p = p_score(ref, est)
        cem, _ = mir_eval.beat.cemgil(ref, est)
    ref_bpm = tempo_from_beats(ref)
    e_bpm = float(est_bpm) if est_bpm else tempo_from_beats(est)
    acc1, acc2 = tempo_accuracy(e_bpm, ref_bpm)
    sil = int(silent_mask_times(audio, est).sum()) if audio is not None and len(est) else 0
    return FileScore(folder, track, float(duration), len(ref), len(est), float(f), float(cmlt),
                     float(amlt), float(p), float(cem), acc1, acc2, time_to_lock(est, ref),
                     sil, ref_bpm, e_bpm, down_f)


def annotated_files(dirs) -> list[tuple[Path, Path]]:
    """(audio, .beats) pairs in the given folders (non-recursive), sorted."""
    pairs = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: not a folder")
        for b in sorted(d.glob("*.beats")):
            for ext in AUDIO_EXTS:
                a = b.with_suffix(ext)
                if a.is_file():
                    pairs.append((a, b))
                    break
    return pairs


def _duration(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


# ------------------------------------------------------------------------------ summaries

METRICS = ("f_measure", "cmlt", "amlt", "p_score", "cemgil", "acc1", "acc2")
_HEAD = ("| tracker | files | F-measure | CMLt | AMLt | P-score | Cemgil | Acc1 | Acc2 | "
         "median lock s (all / locked files) | locked files | beats in silence | downbeat F |")
_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def summarize(files: list[FileScore]) -> dict:
    """Means of the metrics, median time to lock (files that never lock count as infinite; also
    over the files that lock), the number of files that locked, and the total of beats in
    silence."""
    if not files:
        return {}
    s = {m: float(np.mean([getattr(f, m) for f in files])) for m in METRICS}
    locks = np.array([f.lock_time for f in files])
    s["median_lock"] = float(np.median(locks))
    fin = locks[np.isfinite(locks)]
    s["median_lock_locked"] = float(np.median(fin)) if len(fin) else math.inf
    s["locked"] = int(np.isfinite(locks).sum())
    s["n"] = len(files)
    s["silence_beats"] = int(sum(f.silence_beats for f in files))
    down = [f.downbeat_f for f in files if math.isfinite(f.downbeat_f)]
    s["downbeat_f"] = float(np.mean(down)) if down else math.nan
    s["downbeat_n"] = len(down)
    return s


def _row(name: str, s: dict) -> str:
    def fmt(x):
        return "never" if not math.isfinite(x) else f"{x:.2f}"
    lock = f"{fmt(s['median_lock'])} / {fmt(s['median_lock_locked'])}"
    down = "-" if not math.isfinite(s["downbeat_f"]) else f"{s['downbeat_f']:.3f}"
    if math.isfinite(s["downbeat_f"]) and s["downbeat_n"] < s["n"]:
        down += f" ({s['downbeat_n']} files)"
    return (f"| {name} | {s['n']} | {s['f_measure']:.3f} | {s['cmlt']:.3f} | {s['amlt']:.3f} | "
            f"{s['p_score']:.3f} | {s['cemgil']:.3f} | {s['acc1']:.2f} | {s['acc2']:.2f} | "
            f"{lock} | {s['locked']}/{s['n']} | {s['silence_beats']} | {down} |")


@dataclass
class Evaluation:
    """Per-file scores of one tracker over some folders."""

    name: str
    files: list[FileScore] = field(default_factory=list)

    def groups(self) -> dict[str, list[FileScore]]:
        """Folder name -> files, then ``overall`` and ``non-classical``."""
        g: dict[str, list[FileScore]] = {}
        for f in self.files:
            g.setdefault(f.folder, []).append(f)
        g["overall"] = list(self.files)
        g["non-classical"] = [f for f in self.files if not f.classical]
        return g

    def markdown(self) -> str:
        """One table: a row per folder, then overall and non-classical."""
        lines = [_HEAD.replace("| tracker |", "| folder |"), _RULE]
        for gname, fl in self.groups().items():
            if fl:
                lines.append(_row(gname, summarize(fl)))
        return "\n".join(lines)

    def per_file_markdown(self) -> str:
        """A row per file (diagnostics)."""
        lines = ["| file | ref BPM | est BPM | F | CMLt | AMLt | lock s | silence | downbeat F |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for f in self.files:
            down = f"{f.downbeat_f:.3f}" if math.isfinite(f.downbeat_f) else "-"
            lines.append(f"| {f.folder}/{f.track} | {f.ref_bpm:.1f} | {f.est_bpm:.1f} | "
                         f"{f.f_measure:.3f} | {f.cmlt:.3f} | {f.amlt:.3f} | {f.lock_time:.2f} | "
                         f"{f.silence_beats} | {down} |")
        return "\n".join(lines)

    __str__ = markdown


def compare_markdown(evals: list[Evaluation]) -> str:
    """One table per group (each folder, overall, non-classical) with a row per tracker."""
    out = []
    order: list[str] = []
    for ev in evals:
        for g in ev.groups():
            if g not in order:
                order.append(g)
    for g in order:
        rows = []
        for ev in evals:
            fl = ev.groups().get(g, [])
            if fl:
                rows.append(_row(ev.name, summarize(fl)))
        if rows:
            out += [f"### {g}", "", _HEAD, _RULE, *rows, ""]
    return "\n".join(out).rstrip() + "\n"


def evaluate_dirs(dirs, predictor: Callable[[Path], Prediction], name: str | None = None,
                  progress: Callable[[str], None] | None = None) -> Evaluation:
    """Score ``predictor`` (audio path -> :class:`Prediction`, or an array of beat times) on
    every annotated file in ``dirs``; ``str()`` of the result is the markdown table."""
    return evaluate_files(annotated_files(dirs), predictor, name, progress)


def evaluate_files(pairs, predictor: Callable[[Path], Prediction], name: str | None = None,
                   progress: Callable[[str], None] | None = None) -> Evaluation:
    """Like :func:`evaluate_dirs` for explicit ``(audio, .beats)`` pairs."""
    ev = Evaluation(name or getattr(predictor, "__name__", "tracker"))
    for audio, beats in pairs:
        audio, beats = Path(audio), Path(beats)
        ref, ref_bib = load_beats(beats)
        pred = predictor(audio)
        if not isinstance(pred, Prediction):
            pred = Prediction(np.asarray(pred, np.float64), None)
        fs = score_file(pred.times, ref, pred.bpm, audio, audio.parent.name, audio.stem,
                        _duration(audio), pred.beat_in_bar, ref_bib)
        ev.files.append(fs)
        if progress:
            progress(f"{ev.name} {fs.folder}/{fs.track}: F {fs.f_measure:.3f} "
                     f"AMLt {fs.amlt:.3f} lock {fs.lock_time:.2f}")
    return ev


def beatd_predictor(model_path: str | Path | None = None, tracker_params=None,
                    tempo_params=None, gate_db: float | None = -50.0, network=None,
                    network_reset_s: float = 0.0):
    """beatd's predictor for :func:`evaluate_dirs`: :func:`realtime.analyze.analyze_file` with
    one network loaded once (or ``network``, anything :func:`realtime.analyze.analyze_signal`
    accepts); the tempo is the median of the emitted beats' tempi."""
    from realtime.analyze import analyze_file, load_network
    from realtime.tracker import TrackerParams

    net = network if network is not None else load_network(model_path)
    tp = tracker_params if tracker_params is not None else TrackerParams()

    def predict(audio: Path) -> Prediction:
        res = analyze_file(audio, tracker_params=tp, tempo_params=tempo_params, network=net,
                           gate_db=gate_db, tempo_hop_s=0.0, network_reset_s=network_reset_s)
        bib = np.array([e.beat_in_bar for e in res.events], np.int64)
        return Prediction(res.times, res.bpm or None, bib)
    predict.__name__ = "beatd"
    return predict
