"""A JACK client process that plays a WAV file into given input ports (test feeder).

usage: python jack_feeder.py FILE.wav PORT [PORT...] [--lead-in 0.2] [--tail 0.3]

It connects its output to the given ports (disconnecting the system capture ports from them),
outputs zeros for the lead-in, plays the file sample-exactly, then zeros for the tail, and
exits. The file's rate must equal the server's (JACK never resamples).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

import jack
import numpy as np
import soundfile as sf
from procs import wait_for_term


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("wav")
    ap.add_argument("ports", nargs="+")
    ap.add_argument("--lead-in", type=float, default=0.2)
    ap.add_argument("--tail", type=float, default=0.3)
    ap.add_argument("--name", default="feeder")
    ap.add_argument("--timing", metavar="OUT.json",
                    help="write [file sample index, time.monotonic()] at each cycle's start")
    args = ap.parse_args()

    y, sr = sf.read(args.wav, dtype="float32", always_2d=True)
    client = jack.Client(args.name, no_start_server=True)
    if client.samplerate != sr:
        print(f"feeder: file rate {sr} != server rate {client.samplerate}", file=sys.stderr)
        return 2
    lead = int(args.lead_in * sr)
    tail = int(args.tail * sr)
    sig = np.concatenate([np.zeros((lead, y.shape[1]), np.float32), y,
                          np.zeros((tail, y.shape[1]), np.float32)])
    outs = [client.outports.register(f"out_{i}") for i in range(y.shape[1])]
    pos = [0]
    timing = np.zeros((int(len(sig) / 16) + 16, 2))   # preallocated: no lists in the callback
    n_timing = [0]
    done = threading.Event()
    started = threading.Event()

    @client.set_process_callback
    def process(frames):
        if not started.is_set():
            for p in outs:
                p.get_array()[:] = 0.0
            return
        i = pos[0]
        if n_timing[0] < len(timing):
            # the file sample at the start of this cycle, and when the cycle started
            timing[n_timing[0]] = (i - lead, time.monotonic() - client.frames_since_cycle_start
                                   / sr)
            n_timing[0] += 1
        chunk = sig[i:i + frames]
        for c, p in enumerate(outs):
            buf = p.get_array()
            buf[:len(chunk)] = chunk[:, c]
            buf[len(chunk):] = 0.0
        pos[0] = i + frames
        if pos[0] >= len(sig):
            done.set()

    stopped = threading.Event()
    server_gone = threading.Event()

    @client.set_shutdown_callback
    def shutdown(status, reason):
        server_gone.set()
        done.set()

    with client:
        for k, target in enumerate(args.ports):
            for src in client.get_all_connections(target):
                client.disconnect(src, target)
            client.connect(outs[k % len(outs)], target)
        started.set()
        # SIGTERM/SIGINT: leave the JACK graph cleanly (a vanished client stalls a -S server)
        if wait_for_term(len(sig) / sr * 3 + 10, also=done,
                         signals=(signal.SIGTERM, signal.SIGINT)):
            stopped.set()
        elif not done.is_set():
            print("feeder: timed out", file=sys.stderr)
            return 1
        if server_gone.is_set():      # closing a client of a dead server would hang
            print("feeder: the JACK server went away", file=sys.stderr)
            sys.stderr.flush()
            os._exit(3)
    if args.timing:
        import json
        with open(args.timing, "w") as fh:
            json.dump(timing[:n_timing[0]].tolist(), fh)
    if stopped.is_set():
        print("feeder: stopped", file=sys.stderr)
        return 0
    print(f"feeder: played {len(y)} frames", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
