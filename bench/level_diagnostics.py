"""Where the tracker's metrical-level and bar errors come from, on the *validation* data.

Usage::

    .venv/bin/python bench/level_diagnostics.py [--model ONNX] [--synth-n 8]

Three tables:

1. **Tempo level** per set (chart validation tracks, synthetic levels 0-3, ASAP validation
   excerpts): how many tracks beatd (default tracker) follows at the annotated tempo, at twice or
   half of it, at 3:2 or 2:3, emits nothing, or other; mean F of each group.
2. **Alternate-beat contrast**: over windows of 8 emitted beats, the mean peak beat activation of
   the weaker parity (odd or even beats) divided by the stronger. If double-tempo tracks showed
   clearly weaker alternate beats, a tracker rule could halve the tempo; they do not when the
   network marks the 8ths as beats too.
3. **Downbeat output**: the mean peak downbeat activation at annotated downbeats and at the other
   annotated beats (charts with bar positions; synthetic tracks, whose bars are exact), and on the
   ASAP excerpts where beatd emits nothing, the tracked grid's information gain per beat
   (:attr:`BeatTracker.gain_per_beat`: above 0 when the grid predicts the activation better than
   beats at random times).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from export import dataset as D  # noqa: E402
from export.tune_tracker import asap_val, track, track_and_score, val_activations  # noqa: E402
from realtime.network import BeatNetwork  # noqa: E402
from realtime.tracker import BeatTracker, TrackerParams  # noqa: E402

LEVELS = {"x1": (1.0, 0.06), "x2": (2.0, 0.06), "x1/2": (0.5, 0.06), "x3/2": (1.5, 0.06),
          "x2/3": (2.0 / 3.0, 0.06), "x3": (3.0, 0.06), "x1/3": (1.0 / 3.0, 0.06)}


def level_of(est_bpm: float, ref_bpm: float) -> str:
    """The metrical relation of a tracked tempo to the annotated one (relative tolerance 6 %)."""
    if est_bpm <= 0:
        return "nothing"
    r = est_bpm / ref_bpm
    for name, (f, tol) in LEVELS.items():
        if abs(r - f) <= tol * f:
            return name
    return "other"


def peak(act: np.ndarray, frame: float, ch: int) -> float:
    """The largest activation of channel ``ch`` within +-3 frames of ``frame``."""
    k = int(round(frame))
    seg = act[max(0, k - 3):k + 4, ch]
    return float(seg.max()) if len(seg) else 0.0


def parity_ratios(act: np.ndarray, params: TrackerParams, window: int = 8) -> np.ndarray:
    """Weaker / stronger parity's mean peak beat activation over each ``window`` emitted beats."""
    evs = track(params, act)
    pk = np.array([peak(act, D.PARAMS.time_to_frame(e.time), 0) for e in evs])
    odd = np.array([e.beat_index % 2 for e in evs])
    out = []
    for s in range(len(pk) - window + 1):
        w, o = pk[s:s + window], odd[s:s + window]
        a, b = w[o == 0].mean(), w[o == 1].mean()
        out.append(min(a, b) / max(a, b, 1e-6))
    return np.array(out)


def gain_trace(act: np.ndarray, params: TrackerParams) -> tuple[np.ndarray, int]:
    """The tracked grid's gain per beat after every frame, and the number of beats emitted."""
    tr = BeatTracker(params)
    g = np.empty(len(act))
    n = 0
    for k in range(len(act)):
        n += len(tr.process_sequence(act[k:k + 1, 0], act[k:k + 1, 1],
                                     music=act[k:k + 1, 2] if act.shape[1] > 2 else None))
        g[k] = tr.gain_per_beat
    return g, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "beatd_gru.onnx"))
    ap.add_argument("--synth-n", type=int, default=8, help="synthetic tracks per level (0-3)")
    a = ap.parse_args()
    params = TrackerParams()
    net = BeatNetwork(a.model)
    charts = val_activations(a.model, str(D.CHARTS_DIR))
    synth_tr = D.synth_tracks(a.synth_n, 100000, "val", 2, False, D.SYNTH_DURATION, 4)
    synth = [(tr.name, net.process_sequence(D.track_arrays(tr)[0]),
              D.PARAMS.frame_time(tr.beat_frames), tr.downbeat) for tr in synth_tr]
    asap = asap_val(a.model)
    sets = {"charts": charts, "synthetic L0-3": synth, "ASAP": asap}

    print(f"# Tempo level and alternate-beat contrast (model {a.model}, tracker defaults)\n")
    cols = ["x1", "x2", "x1/2", "x3/2", "x2/3", "x3", "x1/3", "nothing", "other"]
    print("| set | tracks | " + " | ".join(cols) + " | contrast x1 | contrast x2 |")
    print("|---|---:|" + "---:|" * len(cols) + "---:|---:|")
    for name, tracks in sets.items():
        groups: dict[str, list[float]] = {c: [] for c in cols}
        contrast: dict[str, list[float]] = {"x1": [], "x2": []}
        for _, act, ref, _ in tracks:
            s = track_and_score(params, act, ref)
            lv = level_of(s.est_bpm, s.ref_bpm)
            groups[lv].append(s.f_measure)
            if lv in contrast:
                r = parity_ratios(act, params)
                if len(r):
                    contrast[lv].append(float(np.median(r)))
        cells = [f"{len(v)} (F {np.mean(v):.2f})" if v else "0" for v in groups.values()]
        med = [f"{np.median(v):.2f}" if v else "-" for v in contrast.values()]
        print(f"| {name} | {len(tracks)} | " + " | ".join(cells) + " | " + " | ".join(med) + " |")
    print("\n(contrast: median over tracks of the median over 8-beat windows of weaker / stronger "
          "parity's peak beat activation; 1 = alternate beats equally strong)\n")

    print("# Downbeat output at annotated beats\n")
    print("| set | tracks | mean downbeat activation at downbeats | at other beats |")
    print("|---|---:|---:|---:|")
    for name, tracks, flags in (("charts (with bars)", charts, lambda t: None if t[3] is None else t[3] == 1),
                                ("synthetic L0-3", synth, lambda t: np.asarray(t[3], bool))):
        at_d, at_o, n = [], [], 0
        for t in tracks:
            fl = flags(t)
            if fl is None:
                continue
            n += 1
            act, ref = t[1], t[2]
            for time, d in zip(ref, fl):
                (at_d if d else at_o).append(peak(act, D.PARAMS.time_to_frame(time), 1))
        print(f"| {name} | {n} | {np.mean(at_d):.3f} | {np.mean(at_o):.3f} |")

    print("\n# ASAP excerpts where beatd emits nothing: the tracked grid's gain per beat\n")
    rows = []
    for _, act, _, _ in asap:
        g, n = gain_trace(act, params)
        if n == 0:
            rows.append((np.percentile(g, 90), g.max()))
    if rows:
        r = np.array(rows)
        print(f"{len(rows)} of {len(asap)} excerpts; over them, the 90th percentile of the gain "
              f"per beat is {np.median(r[:, 0]):+.3f} nats (median; highest {r[:, 0].max():+.3f}), "
              f"its maximum {np.median(r[:, 1]):+.3f} (median; highest {r[:, 1].max():+.3f}); "
              f"lock_gain is {params.lock_gain}")


if __name__ == "__main__":
    main()
