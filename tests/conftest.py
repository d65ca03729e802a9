"""Test-suite setup: one JACK server (dummy driver) for the whole session, started on first use.

The tests talk to PortAudio only through beatd subprocesses, so the server can start lazily.
It stops last, after PortAudio (if this process loaded it) has been terminated (see
../shared/audiostack/RECIPE.md for why the order matters).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from jack_server import JackServer  # noqa: E402

_server = JackServer(rate=48000, period=256)


def pytest_unconfigure(config):
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        try:
            sd._terminate()
        except Exception:
            pass
    _server.stop()


@pytest.fixture(scope="session")
def jack_server() -> JackServer:
    """The running JACK server (rate 48 kHz, period 256)."""
    if _server.proc is None or _server.proc.poll() is not None:
        _server.start()
    return _server


@pytest.fixture
def beatd_env(jack_server) -> dict:
    """Environment for beatd subprocesses, pointing at the test's JACK server."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def model_path() -> str:
    """The model the daemon tests run: the shipped one (``BEATD_MODEL`` overrides it)."""
    from realtime.network import default_model_path
    return os.environ.get("BEATD_MODEL") or str(default_model_path())
