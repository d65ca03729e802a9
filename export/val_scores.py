"""Compare beat models on the validation split (never the dev set): where a model is chosen.

    python -m export.val_scores models/beatd_gru.onnx runs/beatd_gru_v3/beatd_gru.onnx

For each model: the network alone (causal peak picking at the model's own threshold, beat F) and
the full tracker with default settings (beat F, AMLt, median time to lock), on the validation
charts (all, and by rhythm game) and on the synthetic validation tracks of each curriculum
level (``--levels 5`` includes level 4, the classical-like ensembles), and on the validation
pieces of the rendered ASAP classical performances (``export/asap.py``). Synthetic tracks are
labelled everywhere; chart tracks and ASAP excerpts are scored inside their annotated span.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from export import dataset as D
from export.asap import asap_tracks
from export.metrics import beat_f_measure, causal_peaks
from export.tune_tracker import track_and_score
from realtime.network import BeatNetwork
from realtime.tracker import TrackerParams


def groups(charts: str, levels: int, per_level: int) -> dict[str, list[D.Track]]:
    """Validation tracks by group: ``charts``, ``charts <game>``, ``asap`` (rendered classical
    piano performances, if rendered) and ``synthetic L<n>``."""
    out: dict[str, list[D.Track]] = {}
    for tr in D.chart_tracks(Path(charts), 1, False, lambda *_: None):
        if tr.split == "val":
            out.setdefault("charts", []).append(tr)
    for tr in out.get("charts", []):           # and by rhythm game (FNF dominates the hours)
        out.setdefault(f"charts {D.game_of(tr)}", []).append(tr)
    for level in ("tactus", "annotated"):
        for tr in asap_tracks(workers=1, progress=False, beats=level):
            if tr.split == "val":
                out.setdefault(f"asap {level}", []).append(tr)
    for tr in D.synth_tracks(per_level, 100000, "val", 1, False, D.SYNTH_DURATION, levels):
        out.setdefault(f"synthetic L{tr.level}", []).append(tr)
    return out


def score_model(model: str, tracks: list[D.Track]) -> dict:
    """Network-alone F and tracker F / AMLt / median lock over ``tracks``."""
    net = BeatNetwork(model)
    f_net, f, amlt, lock = [], [], [], []
    for tr in tracks:
        feats, _, _ = D.track_arrays(tr)
        act = net.process_sequence(feats)
        ref = D.PARAMS.frame_time(tr.beat_frames)
        picks = D.PARAMS.frame_time(causal_peaks(act[:, 0], net.peak_threshold))
        if not tr.exact and len(ref):       # charts annotate only their own span
            picks = picks[(picks >= ref[0] - 1.0) & (picks <= ref[-1] + 1.0)]
        f_net.append(beat_f_measure(ref, picks, trim=False))
        s = track_and_score(TrackerParams(), act, ref, span_only=not tr.exact)
        f.append(s.f_measure)
        amlt.append(s.amlt)
        lock.append(s.lock_time)
    return {"net_f": float(np.nanmean(f_net)), "f": float(np.mean(f)),
            "amlt": float(np.mean(amlt)), "lock": float(np.median(lock))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--charts", default=str(D.CHARTS_DIR))
    ap.add_argument("--levels", type=int, default=5)
    ap.add_argument("--per-level", type=int, default=8)
    a = ap.parse_args()
    g = groups(a.charts, a.levels, a.per_level)
    print("| group | tracks | model | network F | tracker F | tracker AMLt | median lock s |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name, tracks in g.items():
        for m in a.models:
            r = score_model(m, tracks)
            lock = "never" if not math.isfinite(r["lock"]) else f"{r['lock']:.2f}"
            print(f"| {name} | {len(tracks)} | {m} | {r['net_f']:.3f} | {r['f']:.3f} | "
                  f"{r['amlt']:.3f} | {lock} |", flush=True)


if __name__ == "__main__":
    main()
