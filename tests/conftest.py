"""Test-suite setup: one JACK server (dummy driver) for the whole session.

jackd starts in ``pytest_configure``, before any test module imports sounddevice, and stops
last, after PortAudio has been terminated in this process (see ../shared/audiostack/RECIPE.md).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from jack_server import JackServer  # noqa: E402

_server = JackServer(rate=48000, period=256)


def pytest_configure(config):
    _server.start()


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
    return _server


@pytest.fixture
def beatd_env() -> dict:
    """Environment for beatd subprocesses: JACK only, the test venv's python."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env
