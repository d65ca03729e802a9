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
        "blocksize": Key((int,), 0, _range(0, 16384)),
        "ring_seconds": Key(NUM, 4.0, _range(0.1, 60)),
        "jack_client_name": Key((str,), "beatd"),
    },
    "model": {
        "path": Key((str,), ""),
        "threads": Key((int,), 1, _range(1, 64)),
    },
    "log": {
        "level": Key((str,), "info", _choice("debug", "info", "warning", "error")),
    },
}


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
    return Config({s: {k: key.default for k, key in keys.items()} for s, keys in SCHEMA.items()})


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
            ok = isinstance(value, spec.types) and not (
                isinstance(value, bool) and bool not in spec.types)
            if not ok:
                raise ConfigError(f"{where(section, key)}: {section}.{key} must be "
                                  f"{_type_name(spec.types)}, not {value!r}")
            if spec.check is not None:
                problem = spec.check(value)
                if problem:
                    raise ConfigError(f"{where(section, key)}: {section}.{key} = {value!r}: "
                                      f"{problem}")
            if isinstance(spec.default, float) and isinstance(value, int):
                value = float(value)
            cfg.values[section][key] = value
    return cfg
