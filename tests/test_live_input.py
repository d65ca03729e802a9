"""End to end through the real audio stack: JACK (dummy driver) -> PortAudio -> beatd run.

A feeder process plays a WAV into the daemon's JACK input port. The daemon records what it
captured and dumps the feature frames it computed live. The captured audio must equal the WAV
sample for sample, and the live frames must equal the frames the file path computes from the
same samples (compared in sample frames, not wall time).
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from jack_server import wait_for_port
from realtime.file_source import read_audio
from realtime.frontend import Frontend, FrontendParams

HERE = Path(__file__).parent


def make_test_signal(sr: int, seconds: float, bpm: float = 120.0, seed: int = 1) -> np.ndarray:
    """Clicks at ``bpm`` over low noise and a tone; starts with a non-zero sample."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    y = 0.02 * rng.standard_normal(n) + 0.05 * np.sin(2 * np.pi * 220 * t)
    period = int(sr * 60 / bpm)
    click = np.exp(-np.arange(int(0.03 * sr)) / (0.004 * sr)) * rng.standard_normal(int(0.03 * sr))
    for start in range(0, n - len(click), period):
        y[start:start + len(click)] += 0.5 * click
    y[0] = 0.25
    return np.clip(y, -1, 1).astype(np.float32)


def start_daemon(tmp_path: Path, env: dict, model: str, extra: list[str] | None = None,
                 config: str = "") -> subprocess.Popen:
    cfg = tmp_path / "beatd.toml"
    cfg.write_text('[input]\ndevice = "default"\nchannel = 0\njack_client_name = "beatd"\n'
                   f'[model]\npath = "{model}"\n[midi]\nenabled = false\n'
                   '[osc]\nenabled = false\ncontrol_port = 0\n' + config)
    return subprocess.Popen(
        [sys.executable, "-m", "realtime.cli", "run", "--config", str(cfg),
         "--record", str(tmp_path / "rec.wav"), "--dump-features", str(tmp_path / "live.npy"),
         *(extra or [])],
        stderr=subprocess.PIPE, text=True, env=env, cwd=HERE.parent)


def wait_ready(proc: subprocess.Popen, timeout: float = 60.0) -> list[str]:
    lines = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.strip() == "READY":
            return lines
    raise AssertionError("daemon never became ready:\n" + "".join(lines))


def stop_daemon(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError("daemon did not stop within 15 s of SIGTERM:\n" + err)
    return err


def test_live_frames_equal_file_frames(tmp_path, jack_server, beatd_env, model_path):
    sr = jack_server.rate
    y = make_test_signal(sr, 4.0)
    wav = tmp_path / "in.wav"
    sf.write(wav, y, sr, subtype="FLOAT")

    proc = start_daemon(tmp_path, beatd_env, model_path)
    try:
        wait_ready(proc)
        wait_for_port("beatd:in_0")
        feeder = subprocess.run([sys.executable, str(HERE / "jack_feeder.py"), str(wav),
                                 "beatd:in_0"], capture_output=True, text=True, timeout=60,
                                env=beatd_env)
        assert feeder.returncode == 0, feeder.stderr
        time.sleep(0.3)
    finally:
        err = stop_daemon(proc)
    assert proc.returncode == 0, err

    rec, rec_sr = sf.read(tmp_path / "rec.wav", dtype="float32")
    assert rec_sr == sr
    nz = np.flatnonzero(rec)
    assert nz.size, "the daemon captured only silence"
    offset = int(nz[0])
    assert len(rec) >= offset + len(y), "the daemon stopped before the file was played"
    # the real audio path is bit-exact
    np.testing.assert_array_equal(rec[offset:offset + len(y)], y)

    # file path on the same samples: the file preceded by the silence the daemon heard first
    same = tmp_path / "same.wav"
    sf.write(same, np.concatenate([np.zeros(offset, np.float32), y]), sr, subtype="FLOAT")
    params = FrontendParams()
    file_frames = Frontend(params).process_signal(read_audio(same, params.sample_rate))
    live = np.load(tmp_path / "live.npy")
    n = len(file_frames) - 2   # the last frames of the file path see the resampler's flush
    assert len(live) >= n
    assert n > 300
    np.testing.assert_allclose(live[:n], file_frames[:n], rtol=0, atol=1e-5)
