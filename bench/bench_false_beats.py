"""Beats that beatd emits on sound without a beat, through the whole analyze pipeline.

Usage::

    .venv/bin/python bench/bench_false_beats.py [--seconds 60] [--seeds 3] [--first-seed 0]
        [--steady-seeds 1] [--unseen] [--after-silence S] [--set KEY=V[,KEY=V]] [--model M]
        [--peer madmom-online]

Signals: :func:`export.synth.no_beat_audio`: white and pink noise, mains hum, unrhythmic talk
(synthetic syllables), one to four people clapping at random times, and random clicks (typing,
footsteps); the event kinds with ``--seeds`` seeds from ``--first-seed`` (the steady kinds with
``--steady-seeds``, one by default; other seeds than the default 0 give signals no setting was
chosen on).
``--unseen``: the kinds of :data:`export.synth.UNSEEN_NO_BEAT_KINDS` instead (brown noise, loud
pink noise, swelling noise, a fan, babble, rain), which nothing was trained on; ``--unseen 2``:
a second such set (loud hiss, a vacuum cleaner, traffic, applause, a crowd, fast typing). For
each: beats per minute and the confidence of those beats (percentiles), with the default
tracker and with every ``--set`` variant (e.g. ``--set unlock_gain=0.0``), then the mean per
kind (with the default seeds, a kind is one to three draws of chance locks that differ by tens
of beats per minute: use ``--seeds 10 --steady-seeds 10`` for figures to compare). Every beat
here is a false one.

``--after-silence S``: every signal is preceded by S seconds of digital silence (an idle input
before the sound starts; the network runs through the silence, as in the daemon), and the
beats per minute are over the sound only (there are none in the silence: the gate is closed).

``--peer NAME`` adds rows for a reference tracker of ``../shared/peers`` on the same signals
(written as 16-bit WAV under ``.cache/false_beats/``; the peer's beats are cached next to the
dev set's, in ``.cache/peers/NAME/false_beats-<seconds>s/``): the same question asked of a
tracker that has no start gate.

The tests' random activations (``export.tune_tracker.noise_activations``) stand in for the
network's output on such sound; this runs the real network on audio.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from export.synth import SR, no_beat_set
from export.tune_tracker import parse_value
from realtime.analyze import analyze_signal, load_network
from realtime.config import defaults
from realtime.tracker import TrackerParams


def parse_set(text: str) -> TrackerParams:
    """``KEY=V[,KEY=V]`` -> default TrackerParams with those fields replaced."""
    kw = {}
    for item in text.split(","):
        k, v = item.split("=", 1)
        kw[k.strip()] = parse_value(v)
    return replace(TrackerParams(), **kw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--steady-seeds", type=int, default=1,
                    help="seeds of the steady kinds (noises, hum, a fan); one draw of a noise can "
                         "lock by chance where another does not")
    ap.add_argument("--unseen", type=int, nargs="?", const=1, default=0, choices=(1, 2),
                    help="the evaluation-only kinds: 1 (default) "
                         "export.synth.UNSEEN_NO_BEAT_KINDS, 2 UNSEEN_NO_BEAT_KINDS_2")
    ap.add_argument("--after-silence", type=float, default=0.0, metavar="S",
                    help="precede every signal with S seconds of digital silence")
    ap.add_argument("--network-reset-s", type=float, default=None, metavar="S",
                    help="[silence] network_reset_s (default: the configuration default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=V[,KEY=V]")
    ap.add_argument("--model", default=None, help="streaming ONNX model (default: the shipped one)")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME",
                    help="also run this reference tracker of ../shared/peers (e.g. madmom-online)")
    args = ap.parse_args(argv)
    net = load_network(args.model)
    sigs = no_beat_set(args.seconds, args.seeds, args.first_seed, unseen=args.unseen,
                       steady_seeds=args.steady_seeds)
    if args.after_silence > 0:
        if args.peer:
            ap.error("--after-silence is for beatd only")
        pad = np.zeros(int(round(args.after_silence * SR)), np.float32)
        sigs = {k: np.concatenate([pad, y.astype(np.float32)]) for k, y in sigs.items()}
    reset_s = (defaults().section("silence")["network_reset_s"] if args.network_reset_s is None
               else args.network_reset_s)
    variants = [("defaults", TrackerParams())] + [(s, parse_set(s)) for s in args.set]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.processor() or platform.machine()}, {args.seconds:.0f} s per signal"
          + (f" after {args.after_silence:g} s of digital silence" if args.after_silence else "")
          + f", network restart after {reset_s:g} s of gated silence" * (reset_s > 0))
    print("| tracker | signal | beats per minute | confidence 10 / 50 / 90 % |")
    print("|---|---|---:|---|")
    per_kind: dict[tuple[str, str], list[float]] = {}
    for name, params in variants:
        total = 0
        for sig, y in sigs.items():
            ev = analyze_signal(y, net, tracker_params=params, tempo_hop_s=0.0,
                                network_reset_s=reset_s).events
            total += len(ev)
            kind = sig.split(" #")[0]
            per_kind.setdefault((name, kind), []).append(len(ev) * 60.0 / args.seconds)
            c = np.array([e.confidence for e in ev])
            pct = " / ".join(f"{np.percentile(c, q):.2f}" for q in (10, 50, 90)) if len(c) else "-"
            print(f"| {name} | {sig} | {len(ev) * 60.0 / args.seconds:.0f} | {pct} |")
        print(f"| {name} | **mean** | {total * 60.0 / args.seconds / len(sigs):.1f} | |",
              flush=True)
    for peer in args.peer:
        beats = peer_beats(peer, sigs, args.seconds)
        for sig, times in beats.items():
            print(f"| {peer} | {sig} | {len(times) * 60.0 / args.seconds:.0f} | - |")
        total = sum(map(len, beats.values()))
        print(f"| {peer} | **mean** | {total * 60.0 / args.seconds / len(sigs):.1f} | |",
              flush=True)
    print("\nPer kind (the mean above weighs each signal, so event kinds with several seeds "
          "weigh more):\n")
    print("| tracker | kind | signals | beats per minute, mean (min … max) |")
    print("|---|---|---:|---|")
    for (name, kind), v in per_kind.items():
        print(f"| {name} | {kind} | {len(v)} | {np.mean(v):.1f} ({min(v):.0f} … {max(v):.0f}) |")
    return 0


def peer_beats(peer: str, sigs: dict[str, np.ndarray], seconds: float) -> dict[str, np.ndarray]:
    """Beat times of reference tracker ``peer`` on each signal, through ``compare_peers``'
    batch runner (one process, a fresh estimator per signal, cached)."""
    from compare_peers import peer_beats_on_signals
    from export.synth import SR

    named = {sig: (sig.replace(" ", "_").replace("#", "") + ".wav", y) for sig, y in sigs.items()}
    folder = ROOT / ".cache" / "false_beats" / f"false_beats-{seconds:g}s"
    return peer_beats_on_signals(peer, named, folder, SR)


if __name__ == "__main__":
    sys.exit(main())
