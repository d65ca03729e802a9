"""Helper processes for the tests: free UDP ports and receivers that report READY."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
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
