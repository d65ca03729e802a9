"""Offline use of the causal pipeline: a file in, beats (and a tempo curve) out, fast.

:func:`analyze_file` runs exactly what the daemon runs, only as fast as it can:
:func:`~realtime.file_source.read_audio` -> :meth:`Frontend.process_signal
<realtime.frontend.Frontend.process_signal>` (identical to hop-by-hop) -> the network's
sequence graph (identical to streaming) -> :class:`~realtime.tracker.BeatTracker` frame by frame
(the same per-frame code as live, including the silence gate). So the beats of ``beatd analyze``
are the beats the daemon would have emitted for that input.

Writers (one function per action, for the CLI ``beatd analyze FILE [--format text|csv|json]
[--click OUT.wav] [--tempo]``): :func:`format_events` / :func:`write_events` (text, CSV, JSON with
``time beat_in_bar bpm confidence``), :func:`write_click` (the audio with clicks on the beats,
downbeats accented), :func:`format_tempo` (the tempo curve with its metrical candidates).
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from realtime.file_source import read_audio
from realtime.frontend import Frontend, FrontendParams
from realtime.tempo import TempoParams
from realtime.network import process_with_restarts
from realtime.tracker import BeatEvent, BeatTracker, SilenceGate, TrackerParams

FORMATS = ("text", "csv", "json")


class TempoPoint(NamedTuple):
    """One reading of the tempo curve.

    ``time`` (stream s), ``bpm`` (the tracker's tempo, 0 when not tracking), ``state`` (tracker
    state name), ``acf_bpm`` / ``acf_score`` (the online autocorrelation's best tempo and its
    score in [0, 1]) and ``candidates``: ``(bpm, factor, score)`` for the best tempo and its
    metrical relatives (x1/2, x2, x2/3, x3/2, x1/3, x3 within the range).
    """

    time: float
    bpm: float
    state: str
    acf_bpm: float
    acf_score: float
    candidates: tuple


@dataclass
class AnalysisResult:
    """Everything :func:`analyze_file` computed."""

    path: str
    events: list[BeatEvent]
    duration: float
    sample_rate: int
    frame_rate: float
    tempo_curve: list[TempoPoint] = field(default_factory=list)
    activations: np.ndarray | None = None
    timings: dict = field(default_factory=dict)  # seconds: wall (*_s) and CPU (*_cpu_s)
    audio: np.ndarray | None = None  # the decoded samples, with ``keep_audio=True``

    @property
    def times(self) -> np.ndarray:
        """Beat times (stream seconds)."""
        return np.array([e.time for e in self.events], np.float64)

    @property
    def bpm(self) -> float:
        """Global tempo: median of the beats' tempi (0 without beats)."""
        return float(np.median([e.bpm for e in self.events])) if self.events else 0.0


def load_network(model_path: str | Path | None = None):
    """The product activation model: :class:`realtime.network.BeatNetwork`."""
    from realtime.network import BeatNetwork, default_model_path

    return BeatNetwork(model_path if model_path is not None else default_model_path())


def warm_up(network) -> None:
    """Run every stage once on half a second of silence, so that the one-time costs (numba's
    start-up and compiled-kernel cache, onnxruntime's first run) are paid before a timed
    analysis; the network's state is reset afterwards."""
    y = np.zeros(int(0.5 * network.params.sample_rate), np.float32)
    analyze_signal(y, network, tempo_hop_s=0.0)
    network.reset()


def analyze_signal(y: np.ndarray, network, tracker_params: TrackerParams = TrackerParams(),
                   tempo_params: TempoParams | None = None, gate_db: float | None = -50.0,
                   tempo_hop_s: float = 0.5, keep_activations: bool = False,
                   path: str = "", network_reset_s: float = 0.0) -> AnalysisResult:
    """Run the causal pipeline on mono samples ``y`` at ``network.params.sample_rate``.

    ``network`` is anything with ``.params`` (:class:`FrontendParams`), ``reset()`` and
    ``process_sequence(frames) -> [T, 2 or 3]`` activations (beat, downbeat[, music]); normally
    :class:`realtime.network.BeatNetwork`. ``gate_db`` is the silence gate's floor in dBFS
    (``None``: no gate). ``network_reset_s``: the network restarts where that much gated
    silence ends (``[silence] network_reset_s``; the daemon's rule,
    :func:`realtime.network.restart_points`).
    """
    fp: FrontendParams = network.params
    timings = {}
    pt = time.process_time
    t0, c0 = time.perf_counter(), pt()
    frames = Frontend(fp).process_signal(y)
    t1, c1 = time.perf_counter(), pt()
    if gate_db is not None:
        active = SilenceGate(fp.hop_length, fp.sample_rate, gate_db).process_signal(
            y, fp.hop_length)
    else:
        active = np.ones(len(frames), bool)
    network.reset()
    act = process_with_restarts(network, frames, active,
                                int(round(network_reset_s * fp.frame_rate)))
    t2, c2 = time.perf_counter(), pt()
    tracker = BeatTracker(tracker_params, fp, tempo_params)
    events: list[BeatEvent] = []
    curve: list[TempoPoint] = []
    beat = np.ascontiguousarray(act[:, 0]) if len(act) else np.zeros(0)
    down = np.ascontiguousarray(act[:, 1]) if len(act) else np.zeros(0)
    music = np.ascontiguousarray(act[:, 2]) if act.ndim == 2 and act.shape[1] > 2 else None
    gate = active[:len(beat)]
    # the tracker runs in blocks (one kernel call each); with a tempo curve, one block per
    # reading, so each reading sees the state after exactly the frames before it
    hop = int(round(tempo_hop_s * fp.frame_rate)) if tempo_hop_s > 0 else len(beat)
    hop = max(hop, 1)
    for s in range(0, len(beat), hop):
        e = min(s + hop, len(beat))
        events += tracker.process_sequence(beat[s:e], down[s:e], gate[s:e],
                                           None if music is None else music[s:e])
        if tempo_hop_s > 0 and e - s == hop:
            k = e - 1
            est = tracker.tempo.estimate()
            tracking = tracker.state.name in ("LOCKED", "HOLDING")
            curve.append(TempoPoint(float(fp.frame_time(k)), tracker.bpm if tracking else 0.0,
                                    tracker.state.name, est.bpm, est.score,
                                    tuple((c.bpm, c.factor, c.score) for c in est.candidates)))
    t3, c3 = time.perf_counter(), pt()
    timings.update(frontend_s=t1 - t0, network_s=t2 - t1, tracker_s=t3 - t2,
                   frontend_cpu_s=c1 - c0, network_cpu_s=c2 - c1, tracker_cpu_s=c3 - c2)
    return AnalysisResult(path=path, events=events, duration=len(y) / fp.sample_rate,
                          sample_rate=fp.sample_rate, frame_rate=fp.frame_rate,
                          tempo_curve=curve, activations=act if keep_activations else None,
                          timings=timings)


def analyze_file(path: str | Path, model_path: str | Path | None = None,
                 tracker_params: TrackerParams = TrackerParams(),
                 tempo_params: TempoParams | None = None, network=None,
                 gate_db: float | None = -50.0, tempo_hop_s: float = 0.5,
                 keep_activations: bool = False, channel: int | None = None,
                 keep_audio: bool = False, network_reset_s: float = 0.0) -> AnalysisResult:
    """Beats of an audio file through the causal pipeline, as fast as possible.

    Parameters
    ----------
    path : audio file (see :func:`realtime.file_source.read_audio`).
    model_path : ONNX model (default: the shipped model); ignored when ``network`` is given.
    tracker_params, tempo_params : tracker / tempo settings (config ``[tracker]``, ``[tempo]``).
    network : a loaded network to reuse across files (see :func:`analyze_signal`).
    gate_db : silence gate floor (dBFS), ``None`` to disable.
    tempo_hop_s : spacing of the tempo curve readings (0: no curve).
    keep_activations : keep the [T, 2 or 3] activations in the result.
    channel : analyse this channel instead of the mix.
    keep_audio : keep the decoded samples in ``result.audio`` (for :func:`write_click`).
    network_reset_s : the network restarts where that much gated silence ends (config
        ``[silence] network_reset_s``; see :func:`analyze_signal`).

    Raises :class:`realtime.file_source.AudioFileError` for unreadable files.
    """
    if network is None:
        network = load_network(model_path)
    t0, c0 = time.perf_counter(), time.process_time()
    y = read_audio(path, network.params.sample_rate, channel)
    t_read = time.perf_counter() - t0
    res = analyze_signal(y, network, tracker_params, tempo_params, gate_db, tempo_hop_s,
                         keep_activations, str(path), network_reset_s)
    res.timings["read_s"] = t_read
    res.timings["total_s"] = time.perf_counter() - t0
    res.timings["cpu_s"] = time.process_time() - c0
    if keep_audio:
        res.audio = y
    return res


# ------------------------------------------------------------------------------ writers

def format_events(events: list[BeatEvent], fmt: str = "text") -> str:
    """Beats as text (``time<TAB>beat_in_bar<TAB>bpm<TAB>confidence`` per line; the first two
    columns are the dev set's ``.beats`` format), CSV with a header, or a JSON list of objects
    with the keys ``time``, ``beat_in_bar``, ``bpm``, ``confidence``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    rows = [(round(e.time, 4), int(e.beat_in_bar), round(e.bpm, 2), round(e.confidence, 3))
            for e in events]
    if fmt == "text":
        return "".join(f"{t:.4f}\t{b}\t{bpm:.2f}\t{c:.3f}\n" for t, b, bpm, c in rows)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["time", "beat_in_bar", "bpm", "confidence"])
        w.writerows(rows)
        return buf.getvalue()
    return json.dumps([{"time": t, "beat_in_bar": b, "bpm": bpm, "confidence": c}
                       for t, b, bpm, c in rows], indent=1) + "\n"


def write_events(events: list[BeatEvent], out: str | Path | IO[str], fmt: str = "text") -> None:
    """Write :func:`format_events` to a path or an open text stream."""
    text = format_events(events, fmt)
    if hasattr(out, "write"):
        out.write(text)
    else:
        Path(out).write_text(text)


def format_tempo(curve: list[TempoPoint], fmt: str = "text") -> str:
    """The tempo curve: per reading the time, the tracker's BPM and state, and the online
    autocorrelation's candidates (``bpm:score``, best first)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps([{"time": round(p.time, 3), "bpm": round(p.bpm, 2), "state": p.state,
                            "candidates": [{"bpm": round(b, 2), "factor": round(f, 4),
                                            "score": round(s, 3)} for b, f, s in p.candidates]}
                           for p in curve], indent=1) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["time", "bpm", "state", "acf_bpm", "acf_score", "candidates"])
        for p in curve:
            w.writerow([f"{p.time:.3f}", f"{p.bpm:.2f}", p.state, f"{p.acf_bpm:.2f}",
                        f"{p.acf_score:.3f}",
                        " ".join(f"{b:.1f}:{s:.2f}" for b, _, s in p.candidates)])
        return buf.getvalue()
    lines = []
    for p in curve:
        cands = "  ".join(f"{b:6.1f} ({s:.2f})" for b, _, s in p.candidates)
        lines.append(f"{p.time:8.2f} s  {p.bpm:6.1f} BPM  {p.state:<9s}  candidates: {cands}")
    return "\n".join(lines) + ("\n" if lines else "")


def click_track(n_samples: int, sr: int, events: list[BeatEvent], freq: float = 1000.0,
                accent_freq: float = 1600.0, length_s: float = 0.04, gain: float = 0.5,
                accent_gain: float = 0.9) -> np.ndarray:
    """Clicks (decaying sine bursts) at the beat times; downbeats higher and louder."""
    out = np.zeros(n_samples, np.float32)
    n = max(1, int(length_s * sr))
    t = np.arange(n) / sr
    env = np.exp(-t / (length_s / 5.0))
    clicks = {False: (gain * env * np.sin(2 * np.pi * freq * t)).astype(np.float32),
              True: (accent_gain * env * np.sin(2 * np.pi * accent_freq * t)).astype(np.float32)}
    for e in events:
        s = int(round(e.time * sr))
        if s >= n_samples or s + n <= 0:
            continue
        c = clicks[e.beat_in_bar == 1]
        a, b = max(s, 0), min(s + n, n_samples)
        out[a:b] += c[a - s:b - s]
    return out


def write_click(path_out: str | Path, y: np.ndarray, sr: int, events: list[BeatEvent],
                mix: float = 0.6) -> None:
    """Write ``y`` (scaled by ``mix``) with clicks on the beats; the format follows the file
    extension (soundfile: WAV, FLAC, OGG)."""
    import soundfile as sf

    y = np.asarray(y, np.float32)
    out = mix * y + click_track(len(y), sr, events)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 1.0:
        out /= peak
    sf.write(str(path_out), out, sr)
