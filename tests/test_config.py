"""Config loading: every key documented, errors name key and line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from realtime import config as config_mod
from realtime.config import ConfigError, load

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_documents_every_key_with_its_default():
    text = (ROOT / "config.toml").read_text()
    cfg = load(ROOT / "config.toml")
    assert cfg.values == config_mod.defaults().values
    for section, keys in config_mod.SCHEMA.items():
        assert re.search(rf"^\[{re.escape(section)}\]", text, re.M), f"[{section}] missing"
        for key in keys:
            if (section, key) == ("osc", "target"):
                assert "[[osc.target]]" in text
                for k in config_mod.OSC_TARGET_KEYS:
                    assert re.search(rf"^{k}\s*=", text, re.M), f"osc.target.{k} missing"
                continue
            assert re.search(rf"^{re.escape(key)}\s*=", text, re.M), f"{section}.{key} missing"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_unknown_key_names_key_and_line(tmp_path):
    p = write(tmp_path, '[input]\ndevice = "x"\n\n# comment\nsamplrate = 48000\n')
    with pytest.raises(ConfigError) as e:
        load(p)
    msg = str(e.value)
    assert f"{p}:5" in msg and "input.samplrate" in msg and "samplerate" in msg


def test_wrong_type_names_key_and_line(tmp_path):
    p = write(tmp_path, '[log]\nlevel = "info"\n[input]\nring_seconds = "four"\n')
    with pytest.raises(ConfigError, match=r"c\.toml:4: input\.ring_seconds must be"):
        load(p)


def test_bad_value_and_unknown_section(tmp_path):
    with pytest.raises(ConfigError, match=r":2: input\.channel = 'left'"):
        load(write(tmp_path, '[input]\nchannel = "left"\n'))
    with pytest.raises(ConfigError, match=r":1: unknown section \[inptu\]"):
        load(write(tmp_path, '[inptu]\ndevice = 1\n'))
    with pytest.raises(ConfigError, match="must be true or false|must be an integer"):
        load(write(tmp_path, '[input]\nchannels = true\n'))
    with pytest.raises(ConfigError, match=r":3: tracker\.music_threshold = 1\.5: must be <= 1"):
        load(write(tmp_path, '[tracker]\nlock_gain = 0.02\nmusic_threshold = 1.5\n'))
    with pytest.raises(ConfigError, match=r":2: tracker\.music_observation_lambda = 0\.5: must be"):
        load(write(tmp_path, '[tracker]\nmusic_observation_lambda = 0.5\n'))


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[input\n"))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(tmp_path / "nope.toml")


def test_values_override_defaults(tmp_path):
    cfg = load(write(tmp_path, '[input]\ndevice = 3\nsamplerate = 44100\n'))
    assert cfg.section("input")["device"] == 3
    assert cfg.section("input")["samplerate"] == 44100.0
    assert cfg.section("input")["ring_seconds"] == 4.0


def test_osc_targets_are_checked_with_their_lines(tmp_path):
    p = write(tmp_path, '[osc]\nenabled = true\n\n[[osc.target]]\nport = 9000\n\n'
                        '[[osc.target]]\nport = 9002\nmesages = ["beat"]\n')
    with pytest.raises(ConfigError, match=r"c\.toml:7: unknown key osc\.target\.mesages"):
        load(p)
    p = write(tmp_path, '[[osc.target]]\nport = 9000\nmessages = ["beat", "sparkle"]\n')
    with pytest.raises(ConfigError, match=r"c\.toml:3: osc\.target\.messages: unknown"):
        load(p)
    p = write(tmp_path, '[[osc.target]]\nport = "nine"\n')
    with pytest.raises(ConfigError, match=r"c\.toml:2: osc\.target\.port must be an integer"):
        load(p)
    cfg = load(write(tmp_path, '[[osc.target]]\nport = 9100\nlatency_ms = -25\n'
                               '[[osc.target]]\nhost = "10.0.0.2"\nport = 7000\n'))
    t = cfg.section("osc")["target"]
    assert [x["port"] for x in t] == [9100, 7000]
    assert t[0]["latency_ms"] == -25.0 and t[1]["prefix"] == "/beatd"


def test_stage_params_are_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"min_bpm < max_bpm"):
        load(write(tmp_path, '[tracker]\nmin_bpm = 180.0\nmax_bpm = 90.0\n'))
    with pytest.raises(ConfigError, match=r":2: tracker\.meters"):
        load(write(tmp_path, '[tracker]\nmeters = [1, 4]\n'))
    with pytest.raises(ConfigError, match=r":2: midi\.note_channel = 16"):
        load(write(tmp_path, '[midi]\nnote_channel = 16\n'))
