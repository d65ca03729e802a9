"""Configuration: a TOML file checked against a schema, errors that name the key and the line.

Every setting has a default here; ``config.toml`` in the repository documents each one. A key
the schema does not know, or a value of the wrong type or out of range, raises
:class:`ConfigError` with the file, line and key, so a typo never silently falls back to a
default.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A config file problem; the message names the file, line and key."""


@dataclass(frozen=True)
class Key:
    """One setting: accepted types, default, optional check returning an error text or None."""

    types: tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] | None = None


def _range(lo: float | None = None, hi: float | None = None) -> Callable[[Any], str | None]:
    def check(v):
        if lo is not None and v < lo:
            return f"must be >= {lo}"
        if hi is not None and v > hi:
            return f"must be <= {hi}"
        return None
    return check


def _choice(*options: str) -> Callable[[Any], str | None]:
    def check(v):
        return None if v in options else f"must be one of {', '.join(map(repr, options))}"
    return check


def _device(v):
    if isinstance(v, int) and v < 0:
        return "must be a device index >= 0, a name, or \"default\""
    return None


def _channel(v):
    if isinstance(v, str) and v != "mix":
        return "must be \"mix\" or a channel index (0 = first)"
    if isinstance(v, int) and v < 0:
        return "must be \"mix\" or a channel index (0 = first)"
    return None


NUM = (int, float)

# section -> key -> Key. Sections of other stages are added with register_section().
SCHEMA: dict[str, dict[str, Key]] = {
    "input": {
        "device": Key((str, int), "default", _device),
        "channel": Key((str, int), "mix", _channel),
        "channels": Key((int,), 0, _range(0, 64)),
        "samplerate": Key(NUM, 0, _range(0, 768000)),
        "blocksize": Key((int,), 1024, _range(0, 16384)),
        "ring_seconds": Key(NUM, 4.0, _range(0.1, 60)),
        "jack_client_name": Key((str,), "beatd"),
    },
    "model": {
        "path": Key((str,), ""),
    },
    "log": {
        "level": Key((str,), "info", _choice("debug", "info", "warning", "error")),
    },
    "service": {
        "device_timeout_s": Key(NUM, 1.0, _range(0.1, 30)),
        "retry_max_s": Key(NUM, 2.0, _range(0.1, 60)),
        "status_rate": Key(NUM, 10.0, _range(1, 100)),
        "worker_interval_ms": Key(NUM, 150.0, _range(1, 500)),
    },
    "silence": {
        "floor_db": Key(NUM, -50.0, _range(-140, 0)),
        "hysteresis_db": Key(NUM, 3.0, _range(0, 40)),
        "instant_db": Key(NUM, 20.0, _range(0, 100)),
        "network_reset_s": Key(NUM, 0.0, _range(0, 600)),
    },
    "osc": {
        "enabled": Key((bool,), True),
        "phase_rate": Key(NUM, 30.0, _range(0, 1000)),
        "level_rate": Key(NUM, 10.0, _range(0, 1000)),
        "bpm_interval": Key(NUM, 1.0, _range(0.05, 60)),
        "control_host": Key((str,), "127.0.0.1"),
        "control_port": Key((int,), 9001, _range(0, 65535)),
        "control_prefix": Key((str,), "/beatd"),
        "target": Key((list,), [{"host": "127.0.0.1", "port": 9000}]),
    },
    "midi": {
        "enabled": Key((bool,), True),
        "api": Key((str,), "", _choice("", "LINUX_ALSA", "UNIX_JACK", "MACOSX_CORE",
                                       "WINDOWS_MM")),
        "port": Key((str,), ""),
        "virtual_name": Key((str,), "beatd clock"),
        "client_name": Key((str,), "beatd"),
        "tap_port": Key((str,), ""),
        "tap_note": Key((int,), -1, _range(-1, 127)),
    },
    "link": {
        "enabled": Key((bool,), False),
        "latency_ms": Key(NUM, 0.0, _range(-1000, 1000)),
        "quantum": Key(NUM, 4.0, _range(1, 32)),
    },
}

# one [[osc.target]] table
OSC_TARGET_KEYS: dict[str, Key] = {
    "host": Key((str,), "127.0.0.1"),
    "port": Key((int,), 9000, _range(1, 65535)),
    "prefix": Key((str,), "/beatd"),
    "messages": Key((list,), ["beat", "downbeat", "bpm", "phase", "candidates", "state",
                              "level"]),
    "latency_ms": Key(NUM, 0.0, _range(-1000, 1000)),
    "min_confidence": Key(NUM, 0.0, _range(0, 1)),
}
OSC_MESSAGES = ("beat", "downbeat", "bpm", "phase", "candidates", "state", "level")


def _stage_sections() -> None:
    """[tracker], [tempo] and the clock keys of [midi], from the stages' params dataclasses."""
    from .midi_clock import MidiClockParams
    from .tempo import TempoParams
    from .tracker import TrackerParams
    tracker = keys_from_dataclass(TrackerParams, {
        "music_threshold": _range(0.01, 1), "music_absent": _range(0, 0.99),
        "music_window_s": _range(0.01, 60), "music_lock_periodicity": _range(0, 1),
        "beat_region": _range(0, 0.49), "beat_region_early": _range(0, 0.49),
        "music_observation_lambda": _zero_or_above_one, "music_beat_region_early": _range(0, 0.49)})
    tracker["meters"] = Key((list,), list(TrackerParams().meters), _meters)
    SCHEMA["tracker"] = tracker
    tempo = keys_from_dataclass(TempoParams)
    for k in ("min_bpm", "max_bpm", "prior_bpm", "prior_octaves", "fps"):
        tempo.pop(k)   # shared with [tracker] / taken from the model
    SCHEMA["tempo"] = tempo
    SCHEMA["midi"].update(keys_from_dataclass(MidiClockParams, {
        "beat_note": _range(-1, 127), "note_channel": _range(0, 15),
        "correction": _range(0, 1), "max_step": _range(0, 0.5),
        "latency_ms": _range(-1000, 1000), "spin_us": _range(0, 2000)}))


def _zero_or_above_one(v):
    return None if v == 0 or 1 < v <= 1000 else "must be 0 (off) or in (1, 1000]"


def _meters(v):
    if not v or not all(isinstance(m, int) and not isinstance(m, bool) and 2 <= m <= 12
                        for m in v):
        return "must be a list of beats per bar, each 2..12 (e.g. [3, 4])"
    return None


def register_section(name: str, keys: dict[str, Key]) -> None:
    """Add (or extend) a section of the schema; stages call this for their own settings."""
    SCHEMA.setdefault(name, {}).update(keys)


def keys_from_dataclass(cls: type, checks: dict[str, Callable] | None = None) -> dict[str, Key]:
    """Schema keys for every field of a params dataclass (type taken from its default)."""
    from dataclasses import MISSING, fields
    out = {}
    for f in fields(cls):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore
        t: tuple[type, ...] = NUM if isinstance(default, float) else (type(default),)
        out[f.name] = Key(t, default, (checks or {}).get(f.name))
    return out


@dataclass
class Config:
    """Validated settings: ``cfg.section("input")["device"]``; ``path`` is where they came from."""

    values: dict[str, dict[str, Any]]
    path: Path | None = None
    extra_tables: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """All keys of a section, defaults filled in."""
        return self.values[name]


def defaults() -> Config:
    """The configuration with every key at its default."""
    import copy
    cfg = Config({s: {k: copy.deepcopy(key.default) for k, key in keys.items()}
                  for s, keys in SCHEMA.items()})
    cfg.values["osc"]["target"] = [
        {**{k: copy_default(s.default) for k, s in OSC_TARGET_KEYS.items()}, **t}
        for t in cfg.values["osc"]["target"]]
    return cfg


def _check_value(spec: Key, value: Any, name: str, where: str) -> Any:
    ok = isinstance(value, spec.types) and not (
        isinstance(value, bool) and bool not in spec.types)
    if not ok:
        raise ConfigError(f"{where}: {name} must be {_type_name(spec.types)}, not {value!r}")
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            raise ConfigError(f"{where}: {name} = {value!r}: {problem}")
    if isinstance(spec.default, float) and isinstance(value, int):
        value = float(value)
    return value


def _targets(text: str, path: Path, value: Any) -> list[dict]:
    """Validate the [[osc.target]] tables; errors name the table's own lines."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        line = _line_of(text, "osc", "target")
        raise ConfigError(f"{path}:{line or '?'}: osc.target must be written as [[osc.target]] "
                          "tables")
    headers = [no for no, raw in enumerate(text.splitlines(), 1)
               if re.match(r"^\s*\[\[\s*osc\.target\s*\]\]", raw)]
    lines = text.splitlines()
    out = []
    for i, table in enumerate(value):
        start = headers[i] if i < len(headers) else None
        end = headers[i + 1] if i + 1 < len(headers) else len(lines) + 1

        def where(key=None):
            if start is None:
                return str(path)
            if key is not None:
                for no in range(start + 1, end):
                    if re.match(rf'^\s*"?{re.escape(key)}"?\s*=', lines[no - 1]):
                        return f"{path}:{no}"
            return f"{path}:{start}"
        entry = {k: copy_default(spec.default) for k, spec in OSC_TARGET_KEYS.items()}
        for key, v in table.items():
            spec = OSC_TARGET_KEYS.get(key)
            if spec is None:
                raise ConfigError(f"{where()}: unknown key osc.target.{key} (known: "
                                  f"{', '.join(OSC_TARGET_KEYS)})")
            entry[key] = _check_value(spec, v, f"osc.target.{key}", where(key))
        bad = [m for m in entry["messages"] if m not in OSC_MESSAGES]
        if bad:
            raise ConfigError(f"{where('messages')}: osc.target.messages: unknown message(s) "
                              f"{bad} (known: {', '.join(OSC_MESSAGES)})")
        if not entry["prefix"].startswith("/"):
            raise ConfigError(f"{where('prefix')}: osc.target.prefix must start with '/'")
        out.append(entry)
    return out


def copy_default(v: Any) -> Any:
    """A copy of a default value (lists are copied)."""
    return list(v) if isinstance(v, list) else v


def _line_of(text: str, section: str | None, key: str | None) -> int | None:
    """Line number (1-based) of ``key`` inside ``[section]`` (or of the header if key is None)."""
    current = None
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            current = m.group(1).strip().strip('"')
            if key is None and current == section:
                return no
            continue
        if key is not None and current == section:
            km = re.match(r'^"?([A-Za-z0-9_\-]+)"?\s*=', line)
            if km and km.group(1) == key:
                return no
    return None


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def load(path: str | Path | None) -> Config:
    """Read and validate a config file; ``None`` gives the defaults.

    Examples
    --------
    >>> cfg = load(None)
    >>> cfg.section("input")["device"]
    'default'
    """
    cfg = defaults()
    if path is None:
        return cfg
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    cfg.path = path

    def where(section, key=None):
        line = _line_of(text, section, key)
        return f"{path}:{line}" if line else str(path)

    for section, table in data.items():
        if section not in SCHEMA:
            known = ", ".join(f"[{s}]" for s in SCHEMA)
            raise ConfigError(f"{where(section)}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{where(None, section)}: {section!r} must be a [table]")
        for key, value in table.items():
            spec = SCHEMA[section].get(key)
            if spec is None:
                known = ", ".join(SCHEMA[section])
                raise ConfigError(f"{where(section, key)}: unknown key {section}.{key} "
                                  f"(known keys in [{section}]: {known})")
            if section == "osc" and key == "target":
                cfg.values[section][key] = _targets(text, path, value)
                continue
            cfg.values[section][key] = _check_value(spec, value, f"{section}.{key}",
                                                    where(section, key))
    _check_stage_params(cfg, path, text)
    return cfg


def _check_stage_params(cfg: Config, path: Path, text: str) -> None:
    """Let the stages' own dataclasses validate combinations (e.g. min_bpm < max_bpm)."""
    try:
        tracker_params(cfg)
        tempo_params(cfg, 100.0)
    except (ValueError, TypeError) as exc:
        line = _line_of(text, "tracker", None) or _line_of(text, "tempo", None)
        raise ConfigError(f"{path}:{line or '?'}: [tracker]/[tempo]: {exc}") from None


def tracker_params(cfg: Config):
    """The :class:`~realtime.tracker.TrackerParams` the config describes."""
    from .tracker import TrackerParams
    d = dict(cfg.section("tracker"))
    d["meters"] = tuple(d["meters"])
    return TrackerParams(**d)


def tempo_params(cfg: Config, fps: float):
    """The :class:`~realtime.tempo.TempoParams` (range and prior shared with [tracker])."""
    from .tempo import TempoParams
    t = cfg.section("tracker")
    return TempoParams(**cfg.section("tempo"), min_bpm=t["min_bpm"], max_bpm=t["max_bpm"],
                       prior_bpm=t["prior_bpm"], prior_octaves=t["prior_octaves"], fps=fps)


def midi_params(cfg: Config):
    """The :class:`~realtime.midi_clock.MidiClockParams` from [midi]."""
    from dataclasses import fields

    from .midi_clock import MidiClockParams
    m = cfg.section("midi")
    return MidiClockParams(**{f.name: m[f.name] for f in fields(MidiClockParams)})


_stage_sections()
