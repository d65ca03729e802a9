"""Score tracker settings on the chart *validation* split (never the dev set).

The network's activations for every validation chart track (cached features, the ONNX sequence
graph) are tracked with :class:`realtime.tracker.BeatTracker` under each setting given, and scored
with ``realtime.evaluate`` (F-measure ±70 ms, AMLt, time to lock) inside the span the chart
annotates. This is where tracker defaults may be chosen; the dev set only reports the result.

Usage::

    python -m export.tune_tracker --model models/beatd_gru.onnx \\
        --set lock_threshold=0.5,0.4,0.3 --set restart_prob=0.001,0.003

Every combination of the ``--set`` values is run (the first value of each is the baseline).
Each row also counts the beats emitted where there is none: on random activations
(:func:`noise_activations`, must be 0) and on audio without a beat run through the network
(:func:`no_beat_activations`: noise, hum, talk, claps and clicks at random times; per minute).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from export import dataset as D
from realtime.evaluate import FileScore, score_file, tempo_from_beats
from realtime.network import BeatNetwork, process_with_restarts
from realtime.tracker import BeatTracker, TrackerParams


def parse_value(text: str):
    """A ``--set`` value: int, else float, else the text."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _run(net: BeatNetwork, feats: np.ndarray, lead_s: float = 0.0,
         reset_s: float = 0.0) -> np.ndarray:
    """The network's activations of ``feats``; with ``lead_s`` > 0, after that much digital
    silence (zero frames, as the frontend gives for it), whose rows come back with a NaN beat
    activation: silent frames, which :func:`track` hands to the tracker as gated. ``reset_s``
    (``[silence] network_reset_s``): the daemon's restart rule over those gated frames
    (:func:`realtime.network.process_with_restarts`)."""
    fr = D.PARAMS.frame_rate
    k = int(round(lead_s * fr))
    if k <= 0:
        return net.process_sequence(feats)
    frames = np.concatenate([np.zeros((k, feats.shape[1]), feats.dtype), feats])
    active = np.arange(len(frames)) >= k
    act = process_with_restarts(net, frames, active, int(round(reset_s * fr)))
    act[:k, 0] = np.nan
    return act


def val_activations(model: str, charts: str, excerpt_s: float = 0.0,
                    lead_s: float = 0.0, reset_s: float = 0.0) -> list[tuple]:
    """(name, activations [T, 2 or 3], annotated beat times, beat_in_bar or None) of every
    validation chart track (bar positions where the chart gives them).

    With ``excerpt_s`` > 0, each track instead gives up to two excerpts of that length, cut
    from the music at 30 % and 60 % of its annotated span, each run through a fresh network
    from its first frame: like a 30 s clip, or like starting the daemon in the middle of a
    song, so the time to lock is measured from a cold start inside the music.
    """
    net = BeatNetwork(model)
    fr = D.PARAMS.frame_rate
    out = []
    for tr in D.chart_tracks(Path(charts), 1, False, lambda *_: None):
        if tr.split != "val":
            continue
        feats, _, _ = D.track_arrays(tr)
        ref = D.PARAMS.frame_time(tr.beat_frames)
        ref_bib = None
        if tr.has_downbeats:      # 1 at each downbeat, then counting up
            ref_bib = np.zeros(len(tr.downbeat), np.int64)   # 0 before the first downbeat
            n = 0
            for i, d in enumerate(tr.downbeat):
                n = 1 if d else (n + 1 if n else 0)
                ref_bib[i] = n
        if excerpt_s <= 0:
            out.append((tr.name, _run(net, feats, lead_s, reset_s), ref + lead_s, ref_bib))
            continue
        if len(ref) < 2:
            continue
        for j, at in enumerate((0.3, 0.6)):
            t0 = ref[0] + at * (ref[-1] - ref[0])
            t1 = t0 + excerpt_s
            if t1 > ref[-1]:
                continue
            k0, k1 = int(round(t0 * fr)), int(round(t1 * fr))
            keep = (ref >= t0) & (ref < t1)
            out.append((f"{tr.name}@{j}", net.process_sequence(feats[k0:k1]),
                        ref[keep] - k0 / fr, None if ref_bib is None else ref_bib[keep]))
    return out


def track_and_score(params: TrackerParams, act: np.ndarray, ref: np.ndarray,
                    ref_bib: np.ndarray | None = None, span_only: bool = True) -> FileScore:
    """Track activations [T, 2 or 3] with ``params`` and score against ``ref`` (beat times);
    ``span_only`` keeps the beats within 1 s of the annotated span (charts annotate only their
    own span)."""
    evs = track(params, act)
    est = np.array([e.time for e in evs])
    bib = np.array([e.beat_in_bar for e in evs], np.int64)
    if span_only:
        keep = in_span(est, ref)
        est, bib = est[keep], bib[keep]
    return score_file(est, ref, est_bib=bib, ref_bib=ref_bib)


def track(params: TrackerParams, act: np.ndarray) -> list:
    """The tracker's beats on activations [T, 2 or 3] (beat, downbeat[, music]); rows with a NaN
    beat activation are silent frames (see :func:`_run`)."""
    silent = np.isnan(act[:, 0])
    beat, active = act[:, 0], None
    if silent.any():
        beat, active = np.where(silent, 0.0, beat), ~silent
    return BeatTracker(params).process_sequence(beat, act[:, 1], active,
                                                music=act[:, 2] if act.shape[1] > 2 else None)


def in_span(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Mask of the beats ``est`` within 1 s of the annotated span of ``ref`` (all of them when
    either is empty)."""
    if not len(est) or not len(ref):
        return np.ones(len(est), bool)
    return (est >= ref[0] - 1.0) & (est <= ref[-1] + 1.0)


def score(params: TrackerParams, tracks) -> dict:
    """Mean F, AMLt, median time to lock, locked share and mean downbeat F (tracks with bar
    positions) over ``tracks``; ``per_track``: name -> (F, AMLt, time to lock; inf: never)
    (``export.compare_tracks`` compares two models with it)."""
    per_track, down = {}, []
    for name, act, ref, ref_bib in tracks:
        s = track_and_score(params, act, ref, ref_bib)
        per_track[name] = (s.f_measure, s.amlt, s.lock_time)
        if math.isfinite(s.downbeat_f):
            down.append(s.downbeat_f)
    if len(per_track) != len(tracks):
        raise ValueError("validation track names are not unique")
    f, amlt, lock = np.array(list(per_track.values()), np.float64).reshape(-1, 3).T
    return {"f": float(np.mean(f)), "amlt": float(np.mean(amlt)),
            "lock_median": float(np.median(lock)),
            "locked": float(np.isfinite(lock).mean()),
            "downbeat_f": float(np.mean(down)) if down else math.nan, "downbeat_n": len(down),
            "per_track": per_track}


def synth_val(model: str, levels: list[int], n: int, lead_s: float = 0.0,
              reset_s: float = 0.0) -> list[list[tuple]]:
    """``n`` synthetic validation tracks of each curriculum level in ``levels`` (4 =
    classical-like), one list per level, as (name, activations [T, 2 or 3], beat times, None) like
    :func:`val_activations`."""
    tracks = D.synth_tracks(n, 100000, "val", 2, False, D.SYNTH_DURATION, levels)
    return [_activations(model, [tr for tr in tracks if tr.level == level], lead_s, reset_s)
            for level in levels]


def _activations(model: str, tracks: list[D.Track], lead_s: float = 0.0,
                 reset_s: float = 0.0) -> list[tuple]:
    """(name, activations [T, 2 or 3], beat times, None) of whole ``tracks`` (after ``lead_s``
    of digital silence: :func:`_run`)."""
    net = BeatNetwork(model)
    return [(tr.name, _run(net, D.track_arrays(tr)[0], lead_s, reset_s),
             D.PARAMS.frame_time(tr.beat_frames) + lead_s, None) for tr in tracks]


def asap_val(model: str, beats: str = "tactus", seed: int | None = None,
             lead_s: float = 0.0, reset_s: float = 0.0) -> list[tuple]:
    """The validation pieces of the rendered ASAP classical piano excerpts (``export/asap.py``)
    as (name, activations [T, 2 or 3], beat times, None), like :func:`val_activations`; ``seed``:
    the excerpts of another render seed (rendered on first use)."""
    from export.asap import RENDER_SEED, asap_tracks

    return _activations(model, asap_tracks(workers=1, progress=False, beats=beats,
                                           seed=RENDER_SEED if seed is None else seed,
                                           split="val"), lead_s, reset_s)


def groove_val(model: str, lead_s: float = 0.0, reset_s: float = 0.0) -> list[tuple]:
    """The validation grooves of the rendered Groove MIDI Dataset (``export/groove.py``: the
    ``eval_session`` folders, human drum performances at their notated tempo) as (name,
    activations [T, 2 or 3], beat times, None), like :func:`val_activations`."""
    from export.groove import groove_tracks

    return _activations(model, groove_tracks(workers=1, progress=False, split="val"), lead_s,
                        reset_s)


def level_counts(params: TrackerParams, tracks, below_bpm: float = 100.0) -> tuple[int, int, int]:
    """(at the annotated level, at twice its tempo, all) over the ``tracks`` annotated slower
    than ``below_bpm``: the median tracked beat interval within 15 % of the annotated one, or
    within 15 % of half of it."""
    right = double = n = 0
    for _, act, ref, _ in tracks:
        ref_bpm = tempo_from_beats(ref)
        if not 0 < ref_bpm < below_bpm:
            continue
        n += 1
        est = np.array([e.time for e in track(params, act)])
        est = est[in_span(est, ref)]
        if len(est) < 8:
            continue
        r = ref_bpm / tempo_from_beats(est)
        right += 0.85 < r < 1.18
        double += 0.42 < r < 0.59
    return right, double, n


def noise_activations():
    """Yield 24 beat-activation sequences without any beat (24 minutes at 100 frames/s, six
    seeds x four kinds): low (a steady noise floor above the silence gate), higher, spiky
    (unpitched noise), and flat around 0.5. A tracker must not lock on any of them
    (tests/test_tracker.py)."""
    for seed in range(6):
        r = np.random.default_rng(100 + seed)
        yield from (r.uniform(0.0, 0.12, 6000), r.uniform(0.0, 0.3, 6000),
                    r.uniform(0.0, 1.0, 6000) ** 4, r.uniform(0.45, 0.55, 3000))


def noise_beats(params: TrackerParams) -> int:
    """Beats emitted on :func:`noise_activations`; any beat there is a false one."""
    return sum(len(BeatTracker(params).process_sequence(b, np.zeros_like(b)))
               for b in noise_activations())


def no_beat_activations(model: str, seconds: float = 60.0, seeds: int = 3,
                        first_seed: int = 100, steady_seeds: int = 1) -> list[np.ndarray]:
    """The network's activations [T, 2 or 3] of :func:`export.synth.no_beat_audio`: every kind with
    ``seeds`` seeds from ``first_seed`` (the noises and the hum with ``steady_seeds``),
    ``seconds`` each. Other seeds than ``bench/bench_false_beats.py`` uses (0, 1, 2), so that the
    bench reports on signals no setting was chosen on."""
    from export.synth import SR, no_beat_set
    from realtime.frontend import Frontend

    assert SR == D.PARAMS.sample_rate
    net = BeatNetwork(model)
    return [net.process_sequence(Frontend(net.params).process_signal(y))
            for y in no_beat_set(seconds, seeds, first_seed, steady_seeds=steady_seeds).values()]


def beats_per_minute(params: TrackerParams, acts: list[np.ndarray]) -> float:
    """Mean beats per minute the tracker emits on ``acts`` (all false: there is no beat)."""
    n = sum(len(track(params, a)) for a in acts)
    return n / (sum(len(a) for a in acts) / D.PARAMS.frame_rate / 60.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/beatd_gru.onnx")
    ap.add_argument("--charts", default=str(D.CHARTS_DIR))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...")
    ap.add_argument("--lead-silence", type=float, default=0.0, metavar="SECONDS",
                    help="put this much digital silence before every validation track (gated "
                         "frames, the network running through them, as in the daemon)")
    ap.add_argument("--network-reset-s", type=float, default=None, metavar="SECONDS",
                    help="with --lead-silence: [silence] network_reset_s (default: the "
                         "configuration default)")
    ap.add_argument("--excerpt", type=float, default=0.0, metavar="SECONDS",
                    help="score excerpts of this length from inside each track (cold starts) "
                         "instead of whole tracks")
    ap.add_argument("--synth-level", type=int, nargs="*", default=[], metavar="L",
                    help="also score synthetic validation tracks of these curriculum levels "
                         "(4: classical-like ensembles; several: the mean over the levels)")
    ap.add_argument("--synth-n", type=int, default=32, help="how many (default 32)")
    ap.add_argument("--asap", action="store_true",
                    help="also score the ASAP validation excerpts (classical piano, tactus beats)")
    ap.add_argument("--asap-seed", type=int,
                    help="with --asap: the excerpts of this render seed (export.asap --seed)")
    ap.add_argument("--groove", action="store_true",
                    help="also score the Groove MIDI Dataset validation grooves (export/groove.py) "
                         "and count the slow ones (< 100 BPM) at their level and at twice it")
    ap.add_argument("--per-track", metavar="OUT.json",
                    help="write each track's F, AMLt and time to lock (null: never) under the "
                         "first setting, by group, for export.compare_tracks")
    ap.add_argument("--no-beat-seeds", type=int, default=None, metavar="N",
                    help="draw every kind of sound without a beat N times, the noises included "
                         "(default: 3 seeds, the noises once; single signals vary by tens of "
                         "beats per minute, so compare models with 10)")
    a = ap.parse_args()
    grid = {}
    for item in a.set:
        key, values = item.split("=", 1)
        grid[key.strip()] = [parse_value(v) for v in values.split(",")]
    if a.lead_silence > 0 and a.excerpt > 0:
        ap.error("--lead-silence is for whole tracks")
    lead = a.lead_silence
    rs = a.network_reset_s
    if rs is None:
        from realtime.config import defaults
        rs = defaults().section("silence")["network_reset_s"]
    tracks = val_activations(a.model, a.charts, a.excerpt, lead, rs)
    hours = sum(t[1].shape[0] for t in tracks) / D.PARAMS.frame_rate / 3600
    what = f"{a.excerpt:g} s excerpts" if a.excerpt > 0 else "tracks"
    what += f" after {lead:g} s of digital silence" if lead > 0 else ""
    what += f" (network restart after {rs:g} s)" if lead > 0 and rs > 0 else ""
    print(f"# tracker settings on the chart validation split: {len(tracks)} {what}, "
          f"{hours:.2f} h, model {a.model}\n")
    synth = synth_val(a.model, a.synth_level, a.synth_n, lead, rs) if a.synth_level else []
    lv = "+".join(map(str, a.synth_level))
    if synth:
        print(f"# and {sum(map(len, synth))} synthetic level-{lv} validation tracks\n")
    asap = asap_val(a.model, seed=a.asap_seed, lead_s=lead, reset_s=rs) if a.asap else []
    if asap:
        print(f"# and {len(asap)} ASAP validation excerpts\n")
    groove = groove_val(a.model, lead, rs) if a.groove else []
    if groove:
        print(f"# and {len(groove)} Groove MIDI Dataset validation grooves\n")
    nb = a.no_beat_seeds
    no_beat = (no_beat_activations(a.model) if nb is None
               else no_beat_activations(a.model, seeds=nb, steady_seeds=nb))
    keys = list(grid)
    cols = ["F", "AMLt", "median lock s", "locked", "downbeat F"]
    if synth:
        cols += [f"L{lv} F", f"L{lv} AMLt", f"L{lv} lock s"]
    if asap:
        cols += ["ASAP F", "ASAP AMLt", "ASAP locked"]
    if groove:
        cols += ["groove F", "groove AMLt", "slow grooves right / doubled"]
    print("| " + " | ".join(keys + cols + ["beats on noise", "beats/min on no-beat audio"]) + " |")
    print("|" + "---|" * (len(keys) + len(cols) + 2))
    fmt_lock = lambda x: "never" if not math.isfinite(x) else f"{x:.2f}"
    per_track: dict[str, dict] = {}
    for combo in itertools.product(*(grid[k] for k in keys)) if keys else [()]:
        params = replace(TrackerParams(), **dict(zip(keys, combo)))
        r = score(params, tracks)
        per_track.setdefault("charts", r["per_track"])
        down = f"{r['downbeat_f']:.3f} ({r['downbeat_n']} tracks)"
        row = [str(v) for v in combo] + [f"{r['f']:.3f}", f"{r['amlt']:.3f}",
                                         fmt_lock(r["lock_median"]), f"{r['locked']:.2f}", down]
        if synth:       # mean over the levels of each level's mean (median lock: of all)
            q = [score(params, tr) for tr in synth]
            per_track.setdefault("synthetic", {k: v for x in q for k, v in x["per_track"].items()})
            lock = float(np.median([t[2] for r_level in q for t in r_level["per_track"].values()]))
            row += [f"{np.mean([x['f'] for x in q]):.3f}",
                    f"{np.mean([x['amlt'] for x in q]):.3f}", fmt_lock(lock)]
        if asap:
            q = score(params, asap)
            per_track.setdefault("asap", q["per_track"])
            row += [f"{q['f']:.3f}", f"{q['amlt']:.3f}", f"{q['locked']:.2f}"]
        if groove:
            q = score(params, groove)
            per_track.setdefault("groove", q["per_track"])
            right, double, n = level_counts(params, groove)
            row += [f"{q['f']:.3f}", f"{q['amlt']:.3f}", f"{right} / {double} of {n}"]
        row.append(str(noise_beats(params)))
        row.append(f"{beats_per_minute(params, no_beat):.1f}")
        print("| " + " | ".join(row) + " |", flush=True)
    if a.per_track:
        row = lambda f, amlt, lock: [f, amlt, lock if math.isfinite(lock) else None]
        Path(a.per_track).write_text(json.dumps(
            {g: {n: row(*v) for n, v in t.items()} for g, t in per_track.items()}, indent=1))


if __name__ == "__main__":
    main()
