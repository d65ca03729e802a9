"""MIDI clock out (24 pulses per quarter note) phase-locked to the detected beats; MIDI tap in.

A dedicated thread sends each pulse on an absolute deadline (sleep until just before it, then a
short spin), so pulse spacing does not depend on when the worker runs. Beats from the tracker
steer the clock like a PLL: each beat's time is compared with the clock's nearest quarter-note
pulse, and the pulse period is set to the beat period plus a bounded correction that spreads
the phase error over the next beat. At a steady tempo the correction goes to zero and every
24th pulse lands on a detected beat; tempo changes are smoothed (the period moves by at most
``max_step`` per beat). Start is sent (after Song Position Pointer 0) on the first beat once the
tracker is locked, Stop (then the SPP of where the clock stopped) when it is lost, depending on
the policy. Optionally a note is sent on every beat.

The clock's port is a python-rtmidi output sending raw bytes (:class:`MidiOutput`): a mido
port copies every message under a lock, which on a small VM costs ~70 us more per cold send,
24 times per beat (``bench/bench_outputs.py``).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from .events import Beat
from .rtprio import name_thread, try_realtime

log = logging.getLogger("beatd.midi")

PPQN = 24
# MIDI real-time and system common messages, as sent
CLOCK, START, STOP = b"\xf8", b"\xfa", b"\xfc"
SONG_POSITION = 0xF2


class MidiPortError(Exception):
    """A MIDI port that cannot be opened; the message lists the ports that exist."""


def midi_api(api: str) -> str:
    """The rtmidi API to use (``UNIX_JACK``, ``LINUX_ALSA``, ...): ``api`` (``[midi] api``),
    else the one ``MIDO_BACKEND`` names (``mido.backends.rtmidi/UNIX_JACK``), else ``""`` (the
    system's default). The clock's output, the tap input and the daemon all ask this."""
    return api or os.environ.get("MIDO_BACKEND", "").partition("/")[2]


def _backend(api: str):
    import mido
    name = midi_api(api)
    return mido.Backend(f"mido.backends.rtmidi/{name}", load=True) if name else mido.backend


def _rtmidi_api(api: str) -> int:
    """python-rtmidi's constant for :func:`midi_api`."""
    import rtmidi
    name = midi_api(api)
    return getattr(rtmidi, f"API_{name}") if name else rtmidi.API_UNSPECIFIED


class MidiOutput:
    """A python-rtmidi output port that sends raw MIDI bytes (see :func:`open_output`).

    Examples
    --------
    >>> out = open_output("", "clock", "beatd")             # doctest: +SKIP
    >>> out.send_bytes(b"\xf8")      # one clock pulse      # doctest: +SKIP
    """

    def __init__(self, rt, name: str) -> None:
        self._rt = rt
        self.name = name

    def send_bytes(self, data: bytes) -> None:
        """Send one MIDI message given as its bytes (no message object, no copy)."""
        self._rt.send_message(data)

    def send(self, msg) -> None:
        """Send a mido message."""
        self._rt.send_message(msg.bytes())

    def close(self) -> None:
        """Close the port and its client."""
        self._rt.close_port()
        self._rt.delete()


def open_output(port: str, virtual_name: str, client_name: str, api: str = "") -> MidiOutput:
    """Open an existing output port (exact name or unique substring) or create a virtual one."""
    import rtmidi
    rt = rtmidi.MidiOut(rtapi=_rtmidi_api(api), name=client_name)
    if not port:
        rt.open_virtual_port(virtual_name)
        return MidiOutput(rt, virtual_name)
    names = rt.get_ports()
    match = [n for n in names if n == port] or [n for n in names if port.lower() in n.lower()]
    if len(match) != 1:
        rt.delete()
        listing = "\n".join(f"  {n}" for n in names) or "  (none)"
        what = "is ambiguous" if match else "does not exist"
        raise MidiPortError(f"MIDI output port {port!r} {what}. Output ports:\n{listing}")
    rt.open_port(names.index(match[0]), virtual_name)
    return MidiOutput(rt, match[0])


def open_input(port: str, client_name: str, api: str = "", callback=None):
    """Open an existing input port (or a virtual one when ``port`` starts with ``virtual:``)."""
    be = _backend(api)
    if port.startswith("virtual:"):
        return be.open_input(port[len("virtual:"):], virtual=True, client_name=client_name,
                             callback=callback)
    names = be.get_input_names()
    match = [n for n in names if n == port] or [n for n in names if port.lower() in n.lower()]
    if len(match) != 1:
        listing = "\n".join(f"  {n}" for n in names) or "  (none)"
        raise MidiPortError(f"MIDI input port {port!r} not found. Input ports:\n{listing}")
    return be.open_input(match[0], callback=callback)


@dataclass(frozen=True)
class MidiClockParams:
    """Settings of :class:`MidiClock` (config section ``[midi]``).

    latency_ms : offset added to beat times (negative = the clock runs early).
    transport : send Start on the first beat after the tracker locks (beats only come when it
        is locked) and Stop when it is lost; false = clock pulses only, never Start/Stop.
    stop_on_lost : with ``transport``, send Stop when the tracker is lost (else keep running).
    send_spp : send Song Position Pointer before Start and after Stop.
    beat_note : MIDI note sent on every beat (-1 = off); downbeats at velocity 127, others 90.
    note_channel : channel of that note (0-15).
    correction : fraction of a beat's phase error corrected over the next beat (0..1).
    max_step : largest relative change of the pulse period per beat.
    spin_us : the clock thread sleeps until this long before a pulse, then busy-waits; more
        spin = steadier pulses but more CPU (each microsecond per pulse is ~0.005 % of a core at
        120 BPM). 0 relies on the sleep alone (real-time priority keeps it within ~0.1 ms).
    """

    latency_ms: float = 0.0
    transport: bool = True
    stop_on_lost: bool = True
    send_spp: bool = True
    beat_note: int = -1
    note_channel: int = 9
    correction: float = 0.5
    max_step: float = 0.05
    spin_us: float = 0.0


def _sleep_until(deadline: float, spin_s: float) -> None:
    """Sleep until ``spin_s`` before ``deadline`` (``time.monotonic()``), then busy-wait."""
    left = deadline - spin_s - time.monotonic()
    if left > 0:
        time.sleep(left)
    while time.monotonic() < deadline:
        pass


class MidiClock:
    """Send MIDI clock on ``port`` (a :class:`MidiOutput`) from its own thread, locked to beats.

    ``beat(b)`` feeds a scheduled beat; ``stop_clock()`` sends Stop (policy permitting);
    ``close()`` stops the thread (sending Stop if running).
    """

    def __init__(self, port, params: MidiClockParams = MidiClockParams(),
                 record_intervals: bool = False, rt_priority: int = 20) -> None:
        self.port = port
        self.p = params
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self.running = False
        self.pulse = 0           # pulses since Start
        self.period = 0.5 / PPQN
        self.next_t = 0.0
        self._notes_off: list[tuple[float, bytes]] = []
        self._pending_notes: list[tuple[float, int]] = []
        self.record = record_intervals
        self.sent_times = np.zeros(200000 if record_intervals else 1, np.float64)
        self.n_sent = 0
        self.quarter_times: list[float] = []
        self.rt_priority = rt_priority
        self._thread = threading.Thread(target=self._run, name="beatd-midi-clock", daemon=True)

    # ------------------------------------------------------------------ worker side
    def beat(self, b: Beat) -> None:
        """A beat the clock should lock to (thread-safe)."""
        self._inbox.put(("beat", b))

    def stop_clock(self) -> None:
        """The tracker lost the beat: send Stop if the policy says so (thread-safe)."""
        self._inbox.put(("stop", None))

    def start(self) -> None:
        """Start the clock thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop the thread; sends Stop (and SPP) if the clock was running."""
        self._stop.set()
        self._inbox.put(("quit", None))
        if self._thread.is_alive():
            self._thread.join(2.0)
        if self.running and self.p.transport:
            self._send_stop()

    # ------------------------------------------------------------------ clock thread
    def _send(self, data: bytes) -> None:
        try:
            self.port.send_bytes(data)
        except Exception as exc:  # a vanished port must not kill the thread
            log.warning("MIDI send failed: %s", exc)

    def _send_spp(self, pos: int) -> None:
        """Song Position Pointer: ``pos`` sixteenth notes, 14 bits."""
        pos = min(16383, pos)
        self._send(bytes((SONG_POSITION, pos & 0x7F, pos >> 7)))

    def _send_stop(self) -> None:
        self._send(STOP)
        if self.p.send_spp:
            self._send_spp(self.pulse // 6)
        self.running = False

    def _on_beat(self, b: Beat) -> None:
        t = b.when + self.p.latency_ms / 1000.0
        beat_period = 60.0 / b.bpm / PPQN
        if self.p.beat_note >= 0:
            self._pending_notes.append((t, b.beat_in_bar))
        if not self.running:
            self._start_at(t, beat_period)
            return
        # phase detector: the clock's quarter-note pulse nearest the beat
        frac = self.pulse + (t - self.next_t) / self.period
        q = PPQN * round(frac / PPQN)
        tq = self.next_t + (q - self.pulse) * self.period
        err = t - tq                                 # > 0: clock early -> lengthen
        target = beat_period + self.p.correction * err / PPQN
        lo, hi = self.period * (1 - self.p.max_step), self.period * (1 + self.p.max_step)
        self.period = min(max(target, lo), hi)

    def _start_at(self, t: float, period: float) -> None:
        now = time.monotonic()
        if t < now:   # too late for this beat: start on the next one of the same grid
            t += np.ceil((now - t) / (period * PPQN)) * period * PPQN
        _sleep_until(t - 0.002, 1e-4)
        if self.p.transport:
            if self.p.send_spp:
                self._send_spp(0)
            self._send(START)
        self.running = True
        self.pulse = 0
        self.period = period
        self.next_t = t

    def _drain(self, timeout: float) -> None:
        try:
            kind, arg = self._inbox.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        while True:
            if kind == "beat":
                self._on_beat(arg)
            elif kind == "stop" and self.running and self.p.stop_on_lost:
                if self.p.transport:
                    self._send_stop()
                else:
                    self.running = False
            try:
                kind, arg = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _send_notes(self, now: float) -> None:
        if not (self._pending_notes or self._notes_off):     # the usual case, every pulse
            return
        ch, note = self.p.note_channel, self.p.beat_note
        for item in [n for n in self._pending_notes if n[0] <= now]:
            self._pending_notes.remove(item)
            vel = 127 if item[1] == 1 else 90
            self._send(bytes((0x90 | ch, note, vel)))
            self._notes_off.append((now + 0.05, bytes((0x80 | ch, note, 64))))
        for item in [n for n in self._notes_off if n[0] <= now]:
            self._notes_off.remove(item)
            self._send(item[1])

    def _run(self) -> None:
        try_realtime(self.rt_priority)
        name_thread("beatd-midiclock")
        while not self._stop.is_set():
            if not self.running:
                self._drain(0.01 if self._pending_notes or self._notes_off else 0.1)
                self._send_notes(time.monotonic())
                continue
            # one wake-up per pulse (each costs): sleep to spin_us before it (time.sleep is far
            # more punctual than a queue wait), spin, send; beats that came meanwhile are taken
            # after the pulse: they are committed tens of ms ahead, so one pulse later is in time
            _sleep_until(self.next_t, self.p.spin_us * 1e-6)
            self._send(CLOCK)
            now = time.monotonic()
            if self.record and self.n_sent < len(self.sent_times):
                self.sent_times[self.n_sent] = now
                self.n_sent += 1
            if self.pulse % PPQN == 0 and len(self.quarter_times) < 100000:
                self.quarter_times.append(self.next_t)
            self.pulse += 1
            self.next_t += self.period
            if not self._inbox.empty():       # (an empty get raises: not on every pulse)
                self._drain(0.0)
            self._send_notes(now)


class MidiTap:
    """MIDI input that turns note-ons (all notes, or one ``note``) into tap commands.

    ``on_tap(monotonic_time)`` is called from rtmidi's thread; the daemon passes a function that
    only puts a command on the worker's queue.
    """

    def __init__(self, port: str, on_tap, note: int = -1, client_name: str = "beatd",
                 api: str = "") -> None:
        self.note = note
        self._on_tap = on_tap
        self.port = open_input(port, client_name, api, callback=self._callback)

    def _callback(self, msg) -> None:
        if msg.type == "note_on" and msg.velocity > 0 and (self.note < 0 or msg.note == self.note):
            self._on_tap(time.monotonic())

    def close(self) -> None:
        """Close the port."""
        self.port.close()
