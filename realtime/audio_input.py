"""Live audio input: device selection, and the capture process that feeds the ring buffer.

PortAudio runs in a small child process (:mod:`realtime.capture`) whose callback only copies
each block, with its ADC time, into a shared-memory :class:`~realtime.ringbuffer.RingBuffer`;
the daemon reads the ring. If the device vanishes, the daemon kills the child and starts another
one, which PortAudio in the daemon itself could not survive (see :mod:`realtime.capture`).

Device selection by index or (case-insensitive substring of) name, any device sample rate and
channel count; channel selection and downmix happen in the worker, not in the callback. A device
that does not exist is an error that lists the devices that do.
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from .ringbuffer import RingBuffer


class AudioDeviceError(Exception):
    """No usable input device; the message says why and what exists.

    ``kind``: "no_device" (no input at all), "device" (the requested one is missing or refuses
    the settings) or "portaudio" (PortAudio itself is missing).
    """

    def __init__(self, message: str, kind: str = "device") -> None:
        super().__init__(message)
        self.kind = kind


def _sd():
    """Import sounddevice lazily: a machine without PortAudio still gets a clear message."""
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio2 missing
        raise AudioDeviceError(
            f"PortAudio is not available ({exc}). Install it (Debian: apt-get install "
            "libportaudio2). To analyse a file without audio hardware use `beatd analyze FILE`.",
            "portaudio") from None
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


@dataclass(frozen=True)
class InputDevice:
    """One input-capable device as PortAudio reports it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool


def device_dict(d: InputDevice) -> dict:
    """JSON-able form of a device."""
    return asdict(d)


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
        out[0] = InputDevice(**{**asdict(out[0]), "is_default": True})
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


def no_device_hint() -> str:
    """What to tell a user on a machine with no audio input at all."""
    where = "a JACK or PulseAudio server, or a sound card" if sys.platform.startswith("linux") \
        else "a sound input device"
    return (f"beatd found no audio input (it needs {where}).\n"
            "To analyse a file instead:  beatd analyze FILE\n"
            "To list what PortAudio sees:  beatd devices")


def resolve_device(spec: int | str | None) -> InputDevice:
    """Find the input device for a config value: None/"default", an index, or a name substring."""
    devices = list_input_devices()
    if not devices:
        raise AudioDeviceError(no_device_hint(), "no_device")
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


def open_stream(device: InputDevice, channels: int, samplerate: float, blocksize: int,
                callback):
    """An ``sd.RawInputStream`` (float32) on ``device``; settings it refuses raise
    :class:`AudioDeviceError`. Raw: the callback gets PortAudio's buffer as is, with no numpy
    array made for it (the callback only copies it into the ring)."""
    sd = _sd()
    try:
        sd.check_input_settings(device=device.index, channels=channels, samplerate=samplerate,
                                dtype="float32")
        return sd.RawInputStream(device=device.index, channels=channels, samplerate=samplerate,
                                 blocksize=blocksize, dtype="float32", callback=callback)
    except Exception as exc:
        raise AudioDeviceError(
            f"device {device.name!r} does not accept {channels} channel(s) at "
            f"{samplerate:.0f} Hz ({exc}); it has {device.channels} input channel(s), "
            f"default rate {device.default_samplerate:.0f} Hz") from None


class AudioInput:
    """A capture process streaming the device into a shared :class:`RingBuffer`.

    Parameters
    ----------
    device : device spec: None/"default", an index, or a name substring.
    channel : the device channel to track, or None for the mix (decides how many to open).
    channels : number of device channels to open (0 = all, or up to ``channel``).
    samplerate : device rate; 0/None uses the device's default rate.
    blocksize : frames per callback; 0 lets the host choose (JACK uses its period).
    ring_seconds : ring capacity in seconds of audio.
    jack_client_name : PortAudio's JACK client name ("" = PortAudio's default).
    timeout : seconds to wait for the capture process to report.

    Raises :class:`AudioDeviceError` when the device is missing or refuses the settings.
    """

    def __init__(self, device=None, channel: int | None = None, channels: int = 0,
                 samplerate: float | None = None, blocksize: int = 0,
                 ring_seconds: float = 4.0, jack_client_name: str = "",
                 timeout: float = 20.0) -> None:
        opts = {"device": device, "blocksize": int(blocksize),
                "jack_client_name": jack_client_name}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "realtime.capture", json.dumps(opts)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.ring: RingBuffer | None = None
        try:
            msg = self._read(timeout)
            if "error" in msg:
                raise AudioDeviceError(msg["error"], msg.get("kind", "device"))
            self.device = InputDevice(**msg["device"])
            if channel is not None and channel >= self.device.channels:
                raise AudioDeviceError(f"input.channel = {channel}, but device "
                                       f"{self.device.name!r} has {self.device.channels} "
                                       "channel(s)")
            want = channels or (self.device.channels if channel is None else channel + 1)
            if want > self.device.channels:
                raise AudioDeviceError(f"device {self.device.name!r} has "
                                       f"{self.device.channels} input channel(s); cannot open "
                                       f"{want}")
            self.channels = want
            self.samplerate = float(samplerate or self.device.default_samplerate)
            self.ring = RingBuffer.create_shared(int(ring_seconds * self.samplerate),
                                                 self.channels)
            self._proc.stdin.write(json.dumps({
                "shm": self.ring.shm_name, "capacity": self.ring.capacity,
                "channels": self.channels, "max_blocks": self.ring._max_blocks,
                "samplerate": self.samplerate}) + "\n")
            self._proc.stdin.flush()
            msg = self._read(timeout)
            if "error" in msg:
                raise AudioDeviceError(msg["error"], msg.get("kind", "device"))
            self.latency = float(msg.get("latency", 0.0))
        except BaseException:
            self.close()
            raise

    def _read(self, timeout: float) -> dict:
        """Next JSON line from the capture process."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self._proc.stdout], [], [], 0.1)
            if r:
                line = self._proc.stdout.readline()
                if not line:
                    break
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
            elif self._proc.poll() is not None:
                break
        raise AudioDeviceError("the audio capture process did not start "
                               f"(exit code {self._proc.poll()})", "device")

    @property
    def callbacks(self) -> int:
        """Audio callbacks so far."""
        return self.ring.callbacks if self.ring is not None else 0

    @property
    def status_overflows(self) -> int:
        """Input overflows (xruns) reported by the driver."""
        return self.ring.overflows if self.ring is not None else 0

    @property
    def alive(self) -> bool:
        """True while the capture process runs."""
        return self._proc.poll() is None

    def close(self) -> None:
        """Stop the capture process (EOF on its stdin, then SIGTERM, then SIGKILL); free the ring.
        """
        proc = self._proc
        if proc.poll() is None:
            try:
                proc.stdin.close()          # the child leaves cleanly at EOF (see capture)
            except OSError:
                pass
            try:
                proc.wait(1.5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(1.5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(2.0)
        for f in (proc.stdout, proc.stdin):
            try:
                f.close()
            except OSError:
                pass
        if self.ring is not None:
            self.ring.release(unlink=True)
