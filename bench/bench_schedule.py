"""Replay of the worker's wake-up schedule: how many beats leave late, and by how much.

usage: python bench/bench_schedule.py [--model M] [--charts DIR] [--lag 0.03] [--interval S ...]
                                     [--track-every S ...]

The live worker only sees the audio when it wakes (:func:`realtime.daemon.worker_sleep` says
when), and the newest sample it can read was heard ``--lag`` seconds earlier. This replays that
schedule in stream time over the network's activations of the validation chart tracks (the
held-back split of the training sources; never the dev set): the tracker steps through each
frame whose audio is in at a wake-up, and every committed beat gets its lead, its time minus the
wake-up that sent it (negative: late). Rows: tracking at every wake-up (the daemon) for each
``--interval`` (``[service] worker_interval_ms`` / 1000; default: the configured default), and,
at the first interval, for each ``--track-every S``, tracking only when the next beat is due or
``S`` seconds after the last tracking (metering in between; an experiment, not the daemon). The last column counts the
beats the tracker itself commits after their own time (a phase switch to "now"), which no
schedule can send on time.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine, table  # noqa: E402


def replay(tracks, lag: float, interval: float, track_every: float | None) -> list:
    """Leads (s) of every committed beat, and how many were late at the tracker itself."""
    from realtime.daemon import audio_in_by, worker_sleep
    from realtime.tracker import BeatTracker, TrackerParams, TrackerState
    p = TrackerParams()
    leads, tracker_late = [], 0
    for _, act, _, _ in tracks:
        tr = BeatTracker(p)
        hop = tr.frontend.hop_length / tr.frontend.sample_rate
        k, now, last_track = 0, 0.0, -math.inf

        def due() -> float:
            t = tr.commit_due()
            return audio_in_by(t, lag, hop) if math.isfinite(t) else -math.inf
        while k < len(act):
            tracked = tr.state in (TrackerState.LOCKED, TrackerState.HOLDING)
            if (track_every is None or not tracked or now >= due() - 0.002
                    or now - last_track >= track_every):
                last_track = now
                while k < len(act) and (k + 1) * hop + lag <= now:
                    ev = tr.process(float(act[k, 0]), float(act[k, 1]), True,
                                    float(act[k, 2]) if act.shape[1] > 2 else math.nan)
                    if ev is not None:
                        leads.append(ev.time - now)
                        tracker_late += ev.time < (k + 1) * hop
                    k += 1
            now += worker_sleep(now, due(), interval, tr.state == TrackerState.LOCKING,
                                p.lookahead_ms / 1e3)
    return [np.array(leads), tracker_late]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "beatd_gru.onnx"))
    ap.add_argument("--charts", default=str(ROOT / ".cache" / "data" / "charts"))
    ap.add_argument("--lag", type=float, default=0.03,
                    help="input lag: seconds from hearing a sample to reading it (live: 25-40 ms)")
    from realtime.config import defaults
    ap.add_argument("--interval", type=float, nargs="+",
                    default=[defaults().section("service")["worker_interval_ms"] / 1e3],
                    help="[service] worker_interval_ms / 1000, one row each")
    ap.add_argument("--track-every", type=float, nargs="*", default=[0.5, 0.15])
    args = ap.parse_args()
    from export.tune_tracker import val_activations
    tracks = val_activations(args.model, args.charts)
    hours = sum(len(a) for _, a, _, _ in tracks) / 100.0 / 3600
    print(f"# worker schedule replay: {machine()}")
    print(f"# {len(tracks)} validation chart tracks ({hours:.2f} h), input lag "
          f"{args.lag * 1e3:.0f} ms")
    rows = []
    runs = [(iv, None) for iv in args.interval] + [(args.interval[0], te)
                                                   for te in args.track_every]
    for iv, te in runs:
        leads, tl = replay(tracks, args.lag, iv, te)
        name = (f"track at every wake-up (daemon), interval {iv * 1e3:.0f} ms" if te is None
                else f"track when due or every {te:.2f} s, interval {iv * 1e3:.0f} ms")
        rows.append([name, len(leads), int((leads < 0).sum()),
                     f"{100 * (leads < 0).mean():.2f}", f"{leads.min() * 1e3:.0f}",
                     f"{np.percentile(leads, 1) * 1e3:.0f}", f"{np.median(leads) * 1e3:.0f}", tl])
    print(table(["schedule", "beats", "late", "late %", "worst lead ms", "p1 lead ms",
                 "median lead ms", "late at the tracker"], rows))


if __name__ == "__main__":
    main()
