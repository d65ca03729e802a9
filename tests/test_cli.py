"""The beatd command: devices, missing devices, no audio at all, config errors (real PortAudio)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def beatd(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realtime.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_devices_lists_the_jack_input(jack_server, beatd_env):
    r = beatd("devices", env=beatd_env)
    assert r.returncode == 0, r.stderr
    assert "system" in r.stdout and "JACK" in r.stdout
    line = next(l for l in r.stdout.splitlines() if "system" in l)
    assert line.startswith("*")                 # the default input
    assert " 2 " in line and "48000" in line    # channels and default rate


def model_config(tmp_path, model_path: str) -> str:
    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[model]\npath = "{model_path}"\n[midi]\nenabled = false\n'
                   '[osc]\ncontrol_port = 0\n')
    return str(cfg)


def test_unknown_device_lists_the_devices_that_exist(jack_server, beatd_env, tmp_path,
                                                     model_path):
    r = beatd("run", "--config", model_config(tmp_path, model_path), "--device",
              "Focusrite 18i20", "--duration", "1", env=beatd_env)
    assert r.returncode == 69
    assert "no input device 'Focusrite 18i20'" in r.stderr
    assert "system" in r.stderr                 # the list of what exists


def test_no_audio_device_at_all_points_at_analyze(beatd_env, tmp_path, model_path):
    env = dict(beatd_env, JACK_DEFAULT_SERVER="no-such-server")
    for cmd in (["run", "--config", model_config(tmp_path, model_path), "--duration", "1"],
                ["devices"],
                ["monitor", "--config", model_config(tmp_path, model_path), "--local",
                 "--seconds", "1"]):
        r = beatd(*cmd, env=env)
        assert r.returncode == 69, r.stderr
        assert "no audio input" in r.stderr and "beatd analyze" in r.stderr
        assert "Traceback" not in r.stderr


def test_config_error_exit_code_and_message(tmp_path, beatd_env):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[input]\nblocksize = "big"\n')
    r = beatd("run", "--config", str(cfg), env=beatd_env)
    assert r.returncode == 78
    assert f"{cfg}:2: input.blocksize must be an integer" in r.stderr
    assert "Traceback" not in r.stderr


def test_device_that_refuses_the_rate_or_channels(jack_server, beatd_env, tmp_path, model_path):
    cfg = tmp_path / "rate.toml"
    base = f'[model]\npath = "{model_path}"\n[midi]\nenabled = false\n[osc]\ncontrol_port = 0\n'
    cfg.write_text(base + "[input]\nsamplerate = 44100\n")
    r = beatd("run", "--config", str(cfg), "--duration", "1", env=beatd_env)
    assert r.returncode == 69, r.stderr
    assert "does not accept" in r.stderr and "44100 Hz" in r.stderr and "48000" in r.stderr
    cfg.write_text(base + "[input]\nchannels = 8\n")
    r = beatd("run", "--config", str(cfg), "--duration", "1", env=beatd_env)
    assert r.returncode == 69, r.stderr
    assert "has 2 input channel(s); cannot open 8" in r.stderr
    cfg.write_text(base + "[input]\nchannel = 5\n")
    r = beatd("run", "--config", str(cfg), "--duration", "1", env=beatd_env)
    assert r.returncode == 69 and "input.channel = 5" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_analyze_refuses_bad_files_by_name(tmp_path):
    import numpy as np
    import soundfile as sf
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 100)
    r = beatd("analyze", str(text))
    assert r.returncode == 66 and str(text) in r.stderr and "not an audio file" in r.stderr
    r = beatd("analyze", str(tmp_path / "missing.flac"))
    assert r.returncode == 66 and "no such file" in r.stderr
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 44100)
    r = beatd("analyze", str(empty))
    assert r.returncode == 66 and "no audio samples" in r.stderr
    assert "Traceback" not in r.stderr


def test_analyze_reads_what_a_truncated_file_holds(tmp_path, model_path):
    import numpy as np
    import soundfile as sf
    from signals import drum_loop
    y, beats, _ = drum_loop(44100, 120.0, 12.0)
    full = tmp_path / "full.wav"
    sf.write(full, y, 44100, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    data = full.read_bytes()
    cut.write_bytes(data[:len(data) // 2])          # header still announces 12 s
    r = beatd("analyze", "--model", model_path, str(cut))
    assert r.returncode == 0, r.stderr
    assert "truncated" in r.stderr and str(cut) in r.stderr
    times = [float(line.split()[0]) for line in r.stdout.splitlines() if line.strip()]
    assert times and max(times) < 6.2                # only the readable half was analysed
