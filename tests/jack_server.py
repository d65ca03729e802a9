"""Start and stop a JACK server on the dummy driver for the test suite (real PortAudio path).

Caveats measured in ../shared/audiostack/RECIPE.md: start jackd before anything imports
sounddevice; run it synchronous (-S) so that no sample is lost on a loaded machine; stop every
client before the server; clean stale shared-memory files left by a killed server.
"""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import time

JACK_ENV = {"JACK_NO_START_SERVER": "1", "JACK_NO_AUDIO_RESERVATION": "1",
            "MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK"}
LOG = "/tmp/beatd-test-jackd.log"


def _clean_shm(name: str) -> None:
    """Remove what a killed server of this name left behind (other servers are untouched)."""
    patterns = [f"/dev/shm/jack-*-{name}*", f"/dev/shm/jack_{name}_*", f"/dev/shm/jack_sem.*{name}*"]
    if subprocess.run(["pgrep", "-x", "jackd"], capture_output=True).returncode != 0:
        patterns += ["/dev/shm/jack-shm-registry", "/dev/shm/jack_db-*"]
    for pattern in patterns:
        for path in glob.glob(pattern):
            try:
                os.remove(path)
            except OSError:
                pass


class JackServer:
    """A jackd process: ``start()``, ``stop()``; ``rate`` and ``period`` as given.

    The server gets its own name (``JACK_DEFAULT_SERVER`` is set for this process and its
    children), so test runs in parallel never share or kill each other's server.
    """

    def __init__(self, rate: int = 48000, period: int = 256, name: str | None = None,
                 realtime: bool = False) -> None:
        self.rate = rate
        self.period = period
        self.realtime = realtime
        self.name = name or f"beatd-test-{os.getpid()}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start jackd and wait until it accepts clients."""
        os.environ.update(JACK_ENV)
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        _clean_shm(self.name)
        with open(LOG, "ab") as logf:
            self.proc = subprocess.Popen(
                ["jackd", "-n", self.name, "--realtime" if self.realtime else "--no-realtime",
                 "-S", "-t", "5000", "-d", "dummy",
                 "-r", str(self.rate), "-p", str(self.period), "-C", "2", "-P", "2"],
                stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        rc = subprocess.run(["jack_wait", "-w", "-t", "10"], capture_output=True).returncode
        if rc != 0 or self.proc.poll() is not None:
            raise RuntimeError(f"jackd did not start (see {LOG})")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; remove stale state."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        time.sleep(0.2)
        _clean_shm(self.name)

    def restart(self) -> None:
        """Stop and start again (a 'device vanished and came back' event for clients)."""
        self.stop()
        self.start()


def jack_ports() -> list[str]:
    """Names of all JACK ports now."""
    out = subprocess.run(["jack_lsp"], capture_output=True, text=True, timeout=10).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def wait_for_port(name: str, timeout: float = 15.0) -> None:
    """Poll ``jack_lsp`` until port ``name`` exists."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if name in jack_ports():
            return
        time.sleep(0.1)
    raise TimeoutError(f"JACK port {name!r} did not appear; ports: {jack_ports()}")
