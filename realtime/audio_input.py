"""Live audio input: a PortAudio stream whose callback only copies into the ring buffer.

Device selection by index or (case-insensitive substring of) name, any device sample rate and
channel count; channel selection and downmix happen in the worker, not in the callback. A device
that does not exist is an error that lists the devices that do.
"""
from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

import numpy as np

from .ringbuffer import RingBuffer


class AudioDeviceError(Exception):
    """No usable input device; the message says why and what exists."""


def _sd():
    """Import sounddevice lazily: a machine without PortAudio still gets a clear message."""
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio2 missing
        raise AudioDeviceError(
            f"PortAudio is not available ({exc}). Install it (Debian: apt-get install "
            "libportaudio2). To analyse a file without audio hardware use `beatd analyze FILE`."
        ) from None
    return sd


_name_buf = None  # PortAudio keeps the pointer: the buffer must outlive the library


def set_jack_client_name(name: str) -> None:
    """Name PortAudio's JACK client (ports become ``name:in_N``); no-op without JACK."""
    global _name_buf
    sd = _sd()
    try:
        lib = ctypes.CDLL(sd._libname)
        fn = lib.PaJack_SetClientName
    except (OSError, AttributeError):
        return
    _name_buf = ctypes.create_string_buffer(name.encode())
    sd._terminate()
    fn(_name_buf)
    sd._initialize()


def rescan_devices() -> None:
    """Make PortAudio enumerate host APIs and devices again (e.g. after jackd (re)started)."""
    sd = _sd()
    sd._terminate()
    sd._initialize()


@dataclass(frozen=True)
class InputDevice:
    """One input-capable device as PortAudio reports it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool


def list_input_devices() -> list[InputDevice]:
    """All devices with at least one input channel."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except Exception:  # PortAudio failed to enumerate: treat as no devices
        return []
    out = []
    for d in devices:
        if d["max_input_channels"] > 0:
            out.append(InputDevice(
                index=d["index"], name=d["name"], hostapi=apis[d["hostapi"]]["name"],
                channels=d["max_input_channels"], default_samplerate=d["default_samplerate"],
                is_default=d["index"] == default_in,
            ))
    if out and not any(d.is_default for d in out):
        out[0] = InputDevice(**{**out[0].__dict__, "is_default": True})
    return out


def format_devices(devices: list[InputDevice]) -> str:
    """A table of input devices for people."""
    if not devices:
        return "  (no audio input devices found)"
    lines = [f"  {'idx':>3}  {'name':<32} {'host API':<28} {'ch':>3} {'rate':>7}"]
    for d in devices:
        mark = "*" if d.is_default else " "
        lines.append(f"{mark} {d.index:>3}  {d.name:<32} {d.hostapi:<28} {d.channels:>3} "
                     f"{d.default_samplerate:>7.0f}")
    return "\n".join(lines)


def resolve_device(spec: int | str | None) -> InputDevice:
    """Find the input device for a config value: None/"default", an index, or a name substring."""
    devices = list_input_devices()
    if not devices:
        raise AudioDeviceError(
            "no audio input device found (no sound card, no JACK/PulseAudio server running?).\n"
            "To analyse a file instead: beatd analyze FILE")
    if spec is None or spec == "" or spec == "default":
        return next(d for d in devices if d.is_default)
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        idx = int(spec)
        for d in devices:
            if d.index == idx:
                return d
    else:
        exact = [d for d in devices if d.name.lower() == spec.lower()]
        matches = exact or [d for d in devices if spec.lower() in d.name.lower()]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AudioDeviceError(f"input device {spec!r} is ambiguous; it matches:\n"
                                   + format_devices(matches))
    raise AudioDeviceError(f"no input device {spec!r}. Input devices:\n" + format_devices(devices))


class AudioInput:
    """An input stream that copies every block, with its ADC time, into a :class:`RingBuffer`.

    Parameters
    ----------
    device : the device (see :func:`resolve_device`).
    channels : number of device channels to open (the worker selects or downmixes).
    samplerate : device rate; None uses the device's default rate.
    blocksize : frames per callback; 0 lets the host choose (JACK uses its period).
    ring_seconds : ring capacity in seconds of audio.
    """

    def __init__(self, device: InputDevice, channels: int | None = None,
                 samplerate: float | None = None, blocksize: int = 0,
                 ring_seconds: float = 4.0) -> None:
        sd = _sd()
        self.device = device
        self.channels = int(channels or device.channels)
        if not 1 <= self.channels <= device.channels:
            raise AudioDeviceError(
                f"device {device.name!r} has {device.channels} input channel(s); "
                f"cannot open {self.channels}")
        self.samplerate = float(samplerate or device.default_samplerate)
        try:
            sd.check_input_settings(device=device.index, channels=self.channels,
                                    samplerate=self.samplerate, dtype="float32")
        except Exception as exc:
            raise AudioDeviceError(
                f"device {device.name!r} does not accept {self.channels} channel(s) at "
                f"{self.samplerate:.0f} Hz ({exc}); its default rate is "
                f"{device.default_samplerate:.0f} Hz") from None
        self.ring = RingBuffer(int(ring_seconds * self.samplerate), self.channels)
        self.status_overflows = 0   # PortAudio input_overflow flags (xruns), callback-owned
        self.callbacks = 0
        self.last_callback_time = 0.0  # stream time of the last callback (liveness)
        self._stream = sd.InputStream(
            device=device.index, channels=self.channels, samplerate=self.samplerate,
            blocksize=blocksize, dtype="float32", callback=self._callback,
            finished_callback=self._finished)
        self.finished = False

    def _callback(self, indata, frames, time, status) -> None:
        """Audio thread: copy and timestamp, nothing else."""
        if status.input_overflow:
            self.status_overflows += 1
        adc = time.inputBufferAdcTime
        if adc <= 0.0:
            adc = time.currentTime
        self.ring.write(indata, adc)
        self.callbacks += 1
        self.last_callback_time = time.currentTime

    def _finished(self) -> None:
        self.finished = True

    @property
    def stream_time(self) -> float:
        """The stream's clock (same base as the ADC times)."""
        return self._stream.time

    @property
    def latency(self) -> float:
        """Input latency reported by PortAudio, in seconds."""
        return float(self._stream.latency)

    @property
    def active(self) -> bool:
        """True while the stream runs."""
        return bool(self._stream.active)

    def start(self) -> None:
        """Start capturing."""
        self._stream.start()

    def close(self) -> None:
        """Stop and close the stream (abort: don't wait for buffers to drain)."""
        try:
            self._stream.abort(ignore_errors=True)
        finally:
            self._stream.close(ignore_errors=True)


def no_device_hint() -> str:
    """What to tell a user on a machine with no audio input at all."""
    where = "a JACK or PulseAudio server, or a sound card" if sys.platform.startswith("linux") \
        else "a sound input device"
    return (f"beatd found no audio input (it needs {where}).\n"
            "To analyse a file instead:  beatd analyze FILE\n"
            "To list what PortAudio sees:  beatd devices")


def env_flag(name: str) -> bool:
    """True if the environment variable ``name`` is set to a true-ish value."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
