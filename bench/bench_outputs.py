"""MIDI clock (through JACK MIDI at period 64) and OSC (loopback) timing benchmarks.

usage: python bench/bench_outputs.py [--seconds 30]

MIDI: a steady 120 BPM beat stream drives :class:`MidiClock`; a receiver in another process
stamps every message. Reported: sender-side deviation of pulse intervals from 20.833 ms, the
same at the receiver, tempo wobble (std/mean of 24-pulse intervals) and the distance between
the clock's quarter notes (every 24th pulse, as sent) and the beats.
OSC: beats at 120 BPM to three targets plus /phase at 60 Hz; reported: |send time - scheduled
beat time| at the sender and arrival - scheduled at the receivers, and messages lost.
Send cost: thread CPU of one clock message sent through a mido port and through
:class:`~realtime.midi_clock.MidiOutput` (raw bytes), warm and after a 15 ms sleep (cold: as
each pulse is sent), on the same JACK server.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from common import machine, table  # noqa: E402
from jack_server import JackServer, jack_ports  # noqa: E402
from realtime.events import Beat, Status  # noqa: E402

PULSE_MS = 60000 / 120 / 24


def feed(sink, seconds: float, bpm: float = 120.0, lookahead: float = 0.08) -> list[Beat]:
    t0 = time.monotonic() + 0.3
    period = 60.0 / bpm
    beats = []
    for k in range(int(seconds / period)):
        b = Beat(when=t0 + k * period, beat_index=k, beat_in_bar=k % 4 + 1, bpm=bpm,
                 confidence=1.0)
        while time.monotonic() < b.when - lookahead:
            time.sleep(0.002)
        sink(b)
        beats.append(b)
    return beats


def bench_midi(seconds: float, tmp: Path, spin_us: float) -> list[list]:
    from realtime.midi_clock import MidiClock, MidiClockParams, open_output
    # as on a music machine: the JACK server and the receiving "DAW" run at real-time priority
    srv = JackServer(rate=48000, period=64, realtime=True)
    srv.start()
    rows = []
    try:
        out = tmp / "midi.json"
        rec = subprocess.Popen(["chrt", "-f", "30", sys.executable,
                                str(ROOT / "tests" / "midi_receiver.py"),
                                "clock_in", str(out)], stdout=subprocess.PIPE, text=True)
        assert rec.stdout.readline().strip() == "READY"
        port = open_output("", "clock", "beatd-bench")
        ports = jack_ports()
        subprocess.run(["jack_connect", next(p for p in ports if "beatd-bench" in p),
                        next(p for p in ports if "midisink" in p)], check=True)
        clock = MidiClock(port, MidiClockParams(spin_us=spin_us), record_intervals=True)
        clock.start()
        beats = feed(clock.beat, seconds)
        time.sleep(0.6)
        clock.close()
        port.close()
        send_rows = bench_send_cost()     # on the same JACK server
        time.sleep(0.2)
        rec.send_signal(signal.SIGTERM)
        rec.wait(10)
        got = json.loads(out.read_text())
    finally:
        srv.stop()
    sent = clock.sent_times[:clock.n_sent]
    recv = np.array([g[0] for g in got if g[1] == "clock"])
    beat_t = np.array([b.when for b in beats])
    for name, t in (("sender", sent), ("receiver", recv)):
        d = np.diff(t) * 1e3
        dev = np.abs(d - PULSE_MS)
        q = t[::24]
        qi = np.diff(q)
        wobble = float(np.std(qi) / np.mean(qi) * 100)
        rows.append([name, len(t), float(np.median(d)), float(np.percentile(dev, 99)),
                     float(dev.max()), wobble])
    q_sent = sent[::24]
    dist = np.array([np.min(np.abs(q_sent - t)) for t in beat_t[1:-1]]) * 1e3
    return rows, float(np.median(dist)), float(np.percentile(dist, 99)), send_rows


def bench_send_cost() -> list[list]:
    """Thread-CPU microseconds per clock message: a mido port vs raw bytes, warm and cold."""
    import mido

    from realtime.midi_clock import CLOCK, open_output
    rows = []
    raw = open_output("", "clock", "beatd-bench-raw", "UNIX_JACK")
    try:
        port = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True).open_output(
            "clock", virtual=True, client_name="beatd-bench-mido")
        msg = mido.Message("clock")
        tt = time.thread_time_ns
        for name, send in (("mido port.send(Message('clock'))", lambda: port.send(msg)),
                           ("MidiOutput.send_bytes(b'\\xf8')", lambda: raw.send_bytes(CLOCK))):
            row = [name]
            for sleep_s, n in ((0.0, 2000), (0.015, 200)):
                cost = 0
                for i in range(n + 10):
                    if sleep_s:
                        time.sleep(sleep_s)
                    t = tt()
                    send()
                    if i >= 10:
                        cost += tt() - t
                row.append(cost / n / 1e3)
            rows.append(row)
        port.close()
    finally:
        raw.close()
    return rows


def bench_osc(seconds: float, tmp: Path):
    from realtime.osc_out import OscOutput, OscTarget
    import socket
    receivers = []
    for i in range(3):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        out = tmp / f"osc{i}.json"
        p = subprocess.Popen(["chrt", "-f", "30", sys.executable,
                              str(ROOT / "tests" / "osc_receiver.py"), str(port),
                              str(out)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "READY"
        receivers.append((p, out, port))
    osc = OscOutput([OscTarget(port=port) for _, _, port in receivers], phase_rate=60.0)
    osc.start()
    t_start = time.monotonic()
    osc.publish(Status(state="locked", bpm=120.0, confidence=1.0, last_beat_when=t_start,
                       period=0.5))
    beats = feed(osc.schedule, seconds)
    time.sleep(0.3)
    osc.close()
    sent = sum(s.sent for s in osc.sinks)
    failed = sum(s.failed for s in osc.sinks)
    received = 0
    arrivals = []
    when = {b.beat_index: b.when for b in beats}
    for p, out, _ in receivers:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        got = json.loads(out.read_text())
        received += len(got)
        arrivals += [(g[0] - when[g[2]]) * 1e3 for g in got if g[1] == "/beatd/beat"]
    late = np.abs(np.array(osc.late_ms))
    arr = np.array(arrivals)
    return [["send - scheduled (sender)", len(late), float(np.median(late)),
             float(np.percentile(late, 99)), float(late.max())],
            ["arrival - scheduled (receiver)", len(arr), float(np.median(arr)),
             float(np.percentile(arr, 99)), float(arr.max())]], sent, failed, received


def main() -> None:
    from realtime.daemon import SWITCH_INTERVAL_S
    sys.setswitchinterval(SWITCH_INTERVAL_S)   # as the daemon runs
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--spin-us", type=float, default=0.0,
                    help="MIDI clock spin before each pulse (config [midi] spin_us)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print(f"# outputs benchmark: {machine()}")
    rows, qmed, q99, send_rows = bench_midi(args.seconds, tmp, args.spin_us)
    print(f"\n## MIDI clock, 120 BPM for {args.seconds:.0f} s, JACK dummy driver, period 64 "
          f"(1.33 ms), spin {args.spin_us:.0f} us\n")
    print(table(["side", "pulses", "median interval ms", "p99 |dev| ms", "max |dev| ms",
                 "tempo wobble %"], rows))
    print(f"\nclock quarter note vs beat: median {qmed:.3f} ms, p99 {q99:.3f} ms")
    print("\n## MIDI send cost (same JACK server)\n")
    print(table(["send", "warm us", "cold us (15 ms sleep before)"], send_rows))
    orows, sent, failed, received = bench_osc(args.seconds, tmp)
    print("\n## OSC, beats at 120 BPM + /phase at 60 Hz + status, to 3 targets on loopback\n")
    print(table(["measure", "n", "median ms", "p99 ms", "max ms"], orows))
    print(f"\nmessages sent {sent}, send failures {failed}, received {received}, "
          f"lost {sent - received}")


if __name__ == "__main__":
    main()
