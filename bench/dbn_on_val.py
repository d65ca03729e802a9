"""Tracker or network? beatd's tracker beside madmom's online DBN on *beatd's own* activations.

Usage::

    .venv/bin/python bench/dbn_on_val.py [--model M] [--set KEY=V[,KEY=V]] [--out FILE]

Both trackers get the same beat activation: the shipped network's, on the validation data that
``export.tune_tracker`` uses (the chart validation split, the 170 rendered ASAP classical piano
excerpts, 8 synthetic validation tracks of each level 0-3). madmom 0.16.1's
``DBNBeatTrackingProcessor(online=True, fps=100)`` (the tracker of madmom online in
``bench/compare_peers.py``) runs in the peers' interpreter on the beat column, one fresh
processor per track; beatd's tracker runs with its defaults (or ``--set``), with the music column
where the network has one. Both are scored alike (beats within 1 s of the annotated span; F at
±70 ms, AMLt, median time to lock), with the share of emitted beats per annotated beat, the
precision, and the share of inter-beat intervals near half the annotated one (a faster metrical
level). Session 20 found the observation model this way: madmom's DBN scored ASAP F 0.326
against beatd's 0.252 on the same activations. Validation data only; the dev set is not used.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_false_beats import parse_set  # noqa: E402
from common import emit, machine, table  # noqa: E402
from compare_peers import peer_python  # noqa: E402

from export import dataset as D  # noqa: E402
from export import tune_tracker as TT  # noqa: E402
from realtime.evaluate import score_file  # noqa: E402
from realtime.tracker import TrackerParams  # noqa: E402

_DBN = """
import sys, numpy as np
from madmom.features.beats import DBNBeatTrackingProcessor
acts = np.load(sys.argv[1])
out = {}
for k in acts.files:
    dbn = DBNBeatTrackingProcessor(online=True, fps=100)
    out[k] = np.asarray(dbn.process_online(acts[k].astype(np.float32), reset=True), float)
np.savez(sys.argv[2], **out)
"""


def madmom_dbn(groups: dict[str, list[tuple]]) -> dict[str, list[np.ndarray]]:
    """madmom's online DBN beats (seconds) of every track's beat activation, in the peers'
    interpreter (arrays go through .npz files: the two interpreters' numpy versions differ)."""
    py, env = peer_python("madmom-online")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "acts.npz", Path(tmp) / "beats.npz"
        np.savez(src, **{f"{g}|{i}": np.ascontiguousarray(t[1][:, 0], np.float32)
                         for g, tracks in groups.items() for i, t in enumerate(tracks)})
        subprocess.run([str(py), "-c", _DBN, str(src), str(dst)], env=env, check=True)
        beats = np.load(dst)
        return {g: [beats[f"{g}|{i}"] for i in range(len(tracks))]
                for g, tracks in groups.items()}


def summary(ests: list[np.ndarray], tracks: list[tuple]) -> list[str]:
    """Table cells: F, AMLt, median lock, beats per annotated beat, precision, half-IBI share."""
    f, amlt, lock, ratio, prec, half = [], [], [], [], [], []
    for est, (_, _, ref, _) in zip(ests, tracks):
        est = est[TT.in_span(est, ref)]
        s = score_file(est, ref)
        f.append(s.f_measure)
        amlt.append(s.amlt)
        lock.append(s.lock_time)
        ratio.append(len(est) / max(len(ref), 1))
        if len(est):
            near = np.abs(est[:, None] - ref[None, :]).min(axis=1) <= 0.07
            prec.append(near.mean())
        if len(est) > 2 and len(ref) > 1:
            r = np.diff(est) / np.median(np.diff(ref))
            half.append(np.mean((r > 0.4) & (r < 0.6)))
    med = float(np.median(lock))
    return [f"{np.mean(f):.3f}", f"{np.mean(amlt):.3f}",
            "never" if not np.isfinite(med) else f"{med:.2f}", f"{np.mean(ratio):.2f}",
            f"{np.mean(prec):.3f}", f"{np.mean(half):.2f}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/beatd_gru.onnx")
    ap.add_argument("--set", default="", metavar="KEY=V[,KEY=V]",
                    help="beatd tracker settings instead of the defaults")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    params = parse_set(a.set) if a.set else TrackerParams()
    groups = {"charts": TT.val_activations(a.model, str(D.CHARTS_DIR)),
              "asap": TT.asap_val(a.model)}
    for level, tracks in zip(range(4), TT.synth_val(a.model, list(range(4)), 8)):
        groups[f"synthetic L{level}"] = tracks
    dbn = madmom_dbn(groups)
    rows = []
    for g, tracks in groups.items():
        ours = [np.array([e.time for e in TT.track(params, t[1])]) for t in tracks]
        for name, ests in (("beatd", ours), ("madmom DBN (online)", dbn[g])):
            rows.append([g, len(tracks), name] + summary(ests, tracks))
    header = ["group", "tracks", "tracker", "F", "AMLt", "median lock s",
              "beats per annotated beat", "precision (±70 ms)",
              "intervals near half the annotated"]
    emit(f"# {machine()}; model {a.model}; beatd tracker: {a.set or 'defaults'}\n\n"
         + table(header, rows), a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
