"""Music straight after sound without a beat: how much later does beatd lock?

Usage::

    .venv/bin/python bench/bench_after_noise.py [--model M] [--seconds 15] [--set KEY=V[,KEY=V]]

A lock that the music gate started on credit ends when the network stops hearing music, and
the next lock then needs ``[tracker] relock_gain``. So sound that briefly sounds like music to the
network (loud noise, babble) can leave beatd slow to start on the music that follows. This puts
``--seconds`` of each of a few no-beat signals (``export.synth.no_beat_audio``, seed 7) right
before every chart *validation* track (no pause; the log-mel frames are joined, so the network
and the tracker hear one stream) and reports, per signal and tracker setting, the beats emitted
on the signal and the median time to lock from the start of the music (first of four correct
beats in a row, as ``export.tune_tracker`` scores it), beside the track alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_false_beats import parse_set  # noqa: E402

from export import dataset as D  # noqa: E402
from export.synth import SR, no_beat_audio  # noqa: E402
from export.tune_tracker import in_span, track  # noqa: E402
from realtime.evaluate import score_file  # noqa: E402
from realtime.network import BeatNetwork, default_model_path  # noqa: E402
from realtime.tracker import TrackerParams  # noqa: E402

SIGNALS = ("talk", "claps out of time", "loud pink noise", "babble")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=V[,KEY=V]")
    a = ap.parse_args(argv)
    net = BeatNetwork(a.model)
    tracks = [t for t in D.chart_tracks(D.CHARTS_DIR, 1, False, lambda *_: None)
              if t.split == "val"]
    pre = {"(none)": np.zeros((0, D.N_MELS), np.float32)}
    pre.update({k: D.logmel_of(no_beat_audio(k, a.seconds, 7), SR) for k in SIGNALS})
    variants = [("defaults", TrackerParams())] + [(s, parse_set(s)) for s in a.set]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, model {Path(a.model).name}, "
          f"{len(tracks)} chart validation tracks, {a.seconds:g} s of each signal before each\n")
    print("| tracker | before the music | beats/min on it | median lock s from the music | "
          "locked | F (music) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, params in variants:
        for sig, lm0 in pre.items():
            off = len(lm0) / D.PARAMS.frame_rate
            n_pre, locks, fs = 0, [], []
            for tr in tracks:
                act = net.process_sequence(D.full_features(np.concatenate([lm0, tr.logmel])))
                est = np.array([e.time for e in track(params, act)])
                n_pre += int(np.sum(est < off))
                ref = D.PARAMS.frame_time(tr.beat_frames)
                music = est[est >= off] - off
                s = score_file(music[in_span(music, ref)], ref)
                locks.append(s.lock_time)
                fs.append(s.f_measure)
            locks = np.array(locks)
            bpm = n_pre / (off * len(tracks) / 60.0) if off > 0 else 0.0
            print(f"| {name} | {sig} | {bpm:.1f} | {np.median(locks):.2f} | "
                  f"{np.isfinite(locks).mean():.2f} | {np.mean(fs):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
