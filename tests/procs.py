"""Helper processes for the tests: free UDP ports and receivers that report READY."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent


def free_port() -> int:
    """A UDP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ReadyProc:
    """``python tests/<script> ARGS... OUT.json``: waits for READY; ``stop()`` returns the JSON."""

    def __init__(self, script: str, args: list[str], out: Path, env: dict | None = None) -> None:
        self.out = out
        self.p = subprocess.Popen([sys.executable, str(HERE / script), *args, str(out)],
                                  stdout=subprocess.PIPE, text=True, env=env)
        assert self.p.stdout.readline().strip() == "READY"

    def stop(self) -> list:
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(15)
        return json.loads(self.out.read_text())


def osc_receiver(tmp: Path, name: str, env: dict | None = None) -> tuple[int, ReadyProc]:
    """A python-osc server process on a free port: (port, process)."""
    port = free_port()
    return port, ReadyProc("osc_receiver.py", [str(port)], tmp / f"{name}.json", env)


def wait_for_term(timeout: float, also: threading.Event | None = None,
                  signals: tuple = (signal.SIGTERM,)) -> bool:
    """Block until one of ``signals`` arrives (or ``also`` is set): True if a signal came.

    The handler only flips a flag: calling ``Event.set()`` from a signal handler can deadlock
    when the signal lands while the main thread holds that Event's lock (seen once in CI).
    """
    hit = [False]

    def on_signal(*_):
        hit[0] = True
    for s in signals:
        signal.signal(s, on_signal)
    end = time.monotonic() + timeout
    while not hit[0] and time.monotonic() < end and not (also is not None and also.is_set()):
        time.sleep(0.02)
    return hit[0]
