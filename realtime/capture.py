"""The capture process: PortAudio input stream -> shared-memory ring buffer. Nothing else.

The daemon runs PortAudio in this small child process so that a device that vanishes (a USB
microphone unplugged, the JACK server restarted) can never hang or abort the daemon: PortAudio
cannot re-initialise after its JACK server died (closing the stream hangs, ``Pa_Terminate``
aborts on an assertion), so the daemon kills this process and starts a fresh one instead.

Protocol (one JSON object per line): the child resolves the device and prints ``{"device":
{...}}`` (or ``{"error": ..., "kind": ...}`` and exits 3); the parent answers on stdin with the
shared ring's name and size; the child opens the stream and prints ``{"ready": ...}``. The
callback copies each block, stamped with its ADC time converted to ``time.monotonic()``, into
the ring. The child exits when its stdin closes (the parent is gone) or on SIGTERM, without
calling ``Pa_Terminate``.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time


def _say(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _leave(code: int, stream=None) -> None:
    """Exit, closing PortAudio's JACK client cleanly if that finishes within a second.

    A JACK client that just vanishes stalls a synchronous JACK server's graph for tens of
    seconds; after a server loss, on the other hand, closing hangs and ``Pa_Terminate`` aborts
    on an assertion. So: try to close, give up after a second, never run Python's exit handlers.
    """
    def close() -> None:
        if stream is not None:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
        sd = sys.modules.get("sounddevice")
        if sd is not None:
            sd._terminate()
    th = threading.Thread(target=close, daemon=True)
    th.start()
    th.join(1.0)
    sys.stdout.flush()
    os._exit(code)


def make_callback(ring):
    """The PortAudio callback: copy the block (PortAudio's raw float32 buffer) and its ADC time
    into ``ring``, nothing else.

    The ADC time is put on ``time.monotonic()``'s clock with the pair of readings PortAudio gives
    in the same callback: the block's first sample was captured ``currentTime -
    inputBufferAdcTime`` seconds before now. (The daemon's clock then filters out the callback's
    scheduling jitter.)
    """
    now = time.monotonic

    def callback(indata, frames, t, status) -> None:
        adc, cur = t.inputBufferAdcTime, t.currentTime
        age = cur - adc if adc > 0.0 and cur >= adc else 0.0
        ring.write(indata, now() - age)
        ring.count_callback(bool(status.input_overflow))
    return callback


def main() -> int:
    """Entry point: ``python -m realtime.capture '<json options>'``."""
    opts = json.loads(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *a: _leave(0))   # until the stream runs
    # the daemon decides when we stop (a Ctrl-C or a closed terminal reaches the whole process
    # group; this process then leaves when the daemon closes the pipe)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.environ.setdefault("JACK_NO_START_SERVER", "1")   # never spawn a jackd of our own
    from .audio_input import (AudioDeviceError, device_dict, open_stream, resolve_device,
                              set_jack_client_name)
    from .ringbuffer import RingBuffer
    try:
        if opts.get("jack_client_name"):
            set_jack_client_name(opts["jack_client_name"])
        dev = resolve_device(opts.get("device"))
    except AudioDeviceError as exc:
        _say({"error": str(exc), "kind": exc.kind})
        _leave(3)
    _say({"device": device_dict(dev)})
    reply = json.loads(sys.stdin.readline() or "{}")
    if "shm" not in reply:
        _leave(0)
    ring = RingBuffer.attach_shared(reply["shm"], reply["capacity"], reply["channels"],
                                    reply["max_blocks"])
    callback = make_callback(ring)

    try:
        stream = open_stream(dev, reply["channels"], reply["samplerate"],
                             opts.get("blocksize", 0), callback)
        stream.start()
    except AudioDeviceError as exc:
        _say({"error": str(exc), "kind": exc.kind})
        _leave(3)
    _say({"ready": True, "latency": float(stream.latency)})

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())

    def watch_parent() -> None:
        sys.stdin.read()          # returns at EOF: the parent closed the pipe or died
        stop.set()
    threading.Thread(target=watch_parent, daemon=True).start()

    # wake rarely (each wake-up costs CPU): the daemon's device timeout (1 s) is what detects a
    # silent device; this only notices a stream that PortAudio has stopped
    while not stop.wait(1.0):
        if not stream.active:
            break
    _leave(0, stream)

if __name__ == "__main__":
    sys.exit(main())
