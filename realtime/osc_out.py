"""OSC output: beats sent at their scheduled time, plus BPM, phase, state, candidates and level.

One sender thread serves every target. Beats wait in a deadline heap and leave at
``beat.when + target.latency_ms`` (so they arrive when the beat is heard, not when it was
computed); the periodic messages are generated from the latest :class:`~realtime.events.Status`.
Sockets are non-blocking UDP: a slow or unreachable target can never delay the tracker or the
other targets (a failed send is counted and logged once per target).

Address scheme (``<prefix>`` defaults to ``/beatd``):

=========================  ================================================================
address                    arguments
=========================  ================================================================
``<prefix>/beat``          beat_index (i), beat_in_bar (i), bpm (f), confidence (f), time (d)
``<prefix>/downbeat``      beat_index (i), bpm (f), confidence (f), time (d)  (beat 1 only)
``<prefix>/bpm``           bpm (f) — on change (> 0.05 BPM) and every ``bpm_interval`` s
``<prefix>/phase``         phase 0..1 (f), beat_in_bar (i) — ``phase_rate`` times a second
``<prefix>/tempo/candidates``  bpm1 (f), weight1 (f), bpm2, weight2, ... — on change and 1 Hz
``<prefix>/state``         state (s), confidence (f), music (f: the network's music output
                          averaged over 1 s, -1 if unknown) — on change and 1 Hz
``<prefix>/level``         level dBFS (f), clipping (i) — ``level_rate`` times a second
=========================  ================================================================

``time`` is the beat's ``time.time()`` (Unix epoch, seconds) so receivers on the same machine
can compare it with their own clock.
"""
from __future__ import annotations

import collections
import heapq
import logging
import math
import socket
import struct
import threading
import time
from dataclasses import dataclass

from .events import Beat, Status
from .rtprio import Waker, name_thread, try_realtime

log = logging.getLogger("beatd.osc")

MESSAGES = ("beat", "downbeat", "bpm", "phase", "candidates", "state", "level")


@dataclass(frozen=True)
class OscTarget:
    """One receiver: where, which messages, its own latency offset (ms, negative = early), and
    the least confidence of the beats it gets (``/beat`` and ``/downbeat``; 0 = every beat):
    the tracker also emits low-confidence beats, on expressive music and on aperiodic sound
    such as speech (BENCHMARKS.md), and a lighting rig may rather stay dark then."""

    host: str = "127.0.0.1"
    port: int = 9000
    prefix: str = "/beatd"
    messages: tuple[str, ...] = MESSAGES
    latency_ms: float = 0.0
    min_confidence: float = 0.0


_HEADS: dict[tuple[str, str], bytes] = {}


def _osc_string(text: str) -> bytes:
    b = text.encode("utf-8")
    return b + b"\0" * (4 - len(b) % 4)


def build_message(address: str, args: list) -> bytes:
    """Encode one OSC 1.0 message: ``int`` -> i, ``float`` -> f, ``str`` -> s, ``bool`` -> i,
    ``(value, tag)`` for an explicit tag among i, f, d, s.

    A few struct calls instead of python-osc's builder (5-10x cheaper: the sender thread runs
    this dozens of times a second); the receivers in the tests are python-osc servers, so the
    encoding is checked against the library.

    >>> build_message("/a", [1, 0.5])
    b'/a\x00\x00,if\x00\x00\x00\x00\x01?\x00\x00\x00'
    """
    tags = []
    body = []
    for a in args:
        v, t = a if isinstance(a, tuple) else (a, "s" if isinstance(a, str) else
                                                "f" if isinstance(a, float) else "i")
        tags.append(t)
        if t == "i":
            body.append(struct.pack(">i", int(v)))
        elif t == "f":
            body.append(struct.pack(">f", float(v)))
        elif t == "d":
            body.append(struct.pack(">d", float(v)))
        elif t == "s":
            body.append(_osc_string(str(v)))
        else:
            raise ValueError(f"unsupported OSC type tag {t!r}")
    key = (address, "".join(tags))
    head = _HEADS.get(key)
    if head is None:
        head = _osc_string(address) + _osc_string("," + key[1])
        if len(_HEADS) < 4096:
            _HEADS[key] = head
    return head + b"".join(body)


class _Sink:
    """A target's socket and counters."""

    def __init__(self, target: OscTarget) -> None:
        self.target = target
        self.addr = (socket.gethostbyname(target.host), target.port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sent = 0
        self.failed = 0
        self.wants = frozenset(target.messages)

    def send(self, dgram: bytes) -> None:
        try:
            self.sock.sendto(dgram, self.addr)
            self.sent += 1
        except OSError as exc:   # full buffer, unreachable, refused: drop, count, go on
            if self.failed == 0:
                log.warning("OSC target %s:%d: send failed (%s); further failures are counted",
                            *self.addr, exc)
            self.failed += 1


class OscOutput:
    """Send beats and status to several OSC targets from one scheduling thread.

    Parameters
    ----------
    targets : receivers.
    phase_rate : ``/phase`` messages per second (0 = off).
    level_rate : ``/level`` messages per second (0 = off).
    bpm_interval : seconds between periodic ``/bpm``, ``/state`` and ``/tempo/candidates``.

    Examples
    --------
    >>> out = OscOutput([OscTarget(port=9000)])  # doctest: +SKIP
    >>> out.start(); out.schedule(beat); out.publish(status)  # doctest: +SKIP
    """

    def __init__(self, targets: list[OscTarget], phase_rate: float = 30.0,
                 level_rate: float = 10.0, bpm_interval: float = 1.0,
                 rt_priority: int = 20) -> None:
        self.sinks = [_Sink(t) for t in targets]
        self._subs: dict[tuple, tuple[_Sink, float]] = {}   # addr -> (sink, expiry)
        self.phase_rate = float(phase_rate)
        self.level_rate = float(level_rate)
        self.bpm_interval = float(bpm_interval)
        # the worker appends to the inbox and wakes the sender only when an item is due before
        # the sender's own next wake-up (beats are committed tens of ms ahead, phase ticks come
        # every 33 ms): a cross-thread wake-up costs both threads far more than the append
        self._inbox: collections.deque = collections.deque()
        self._wake = Waker()
        self._next_wake = -math.inf     # monotonic time the sender sleeps until (-inf: awake)
        self._min_offset = min((t.latency_ms for t in targets), default=0.0) / 1000.0
        self._heap: list = []
        self._seq = 0
        self._status = Status()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="beatd-osc-out", daemon=True)
        self.late_ms: list[float] = []   # send time - scheduled time, for the benchmark
        self.rt_priority = rt_priority

    # ------------------------------------------------------------ called by the worker
    def schedule(self, beat: Beat) -> None:
        """Queue a beat; it leaves at ``beat.when`` + each target's latency offset."""
        self._inbox.append(beat)
        if beat.when + self._min_offset < self._next_wake:
            self._wake.set()

    def subscribe(self, addr: tuple, until: float, prefix: str = "/beatd") -> None:
        """Send everything to ``addr`` until monotonic time ``until`` (renewable; thread-safe)."""
        self._inbox.append(("subscribe", addr, until, prefix))
        self._wake.set()

    def publish(self, status: Status) -> None:
        """Replace the status snapshot the periodic messages are made from."""
        self._status = status

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the sender thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and close the sockets."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        if not self._thread.is_alive():    # (a sender still sleeping on it must not crash)
            self._wake.close()
        for s in self.sinks:
            s.sock.close()

    # ------------------------------------------------------------ sender thread
    def _push(self, when: float, sink: _Sink, dgram: bytes, scheduled: float | None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, sink, dgram, scheduled))

    def _subscribe(self, addr: tuple, until: float, prefix: str) -> None:
        if addr in self._subs:
            sink = self._subs[addr][0]
        else:
            sink = _Sink(OscTarget(host=addr[0], port=addr[1], prefix=prefix))
            self.sinks.append(sink)
            self._min_offset = min(self._min_offset, sink.target.latency_ms / 1000.0)
        self._subs[addr] = (sink, until)

    def _expire(self, now: float) -> None:
        for addr, (sink, until) in list(self._subs.items()):
            if now > until:
                del self._subs[addr]
                self.sinks.remove(sink)
                sink.sock.close()

    def _drain(self) -> None:
        """Take everything the worker appended (beats, subscriptions) into the schedule."""
        while self._inbox:
            item = self._inbox.popleft()
            if isinstance(item, tuple):
                self._subscribe(*item[1:])
            else:
                self._enqueue_beat(item)

    def _enqueue_beat(self, beat: Beat) -> None:
        wall = time.time() - time.monotonic()
        for s in self.sinks:
            if beat.confidence < s.target.min_confidence:
                continue
            p = s.target.prefix
            when = beat.when + s.target.latency_ms / 1000.0
            epoch = (beat.when + wall, "d")
            if "beat" in s.wants:
                self._push(when, s, build_message(p + "/beat", [
                    beat.beat_index, beat.beat_in_bar, float(beat.bpm), float(beat.confidence),
                    epoch]), when)
            if "downbeat" in s.wants and beat.beat_in_bar == 1:
                self._push(when, s, build_message(p + "/downbeat", [
                    beat.beat_index, float(beat.bpm), float(beat.confidence), epoch]), when)

    def _periodic(self, now: float, st: Status, last: dict) -> None:
        bpm_due = now >= last["bpm_t"] + self.bpm_interval
        bpm_changed = abs(st.bpm - last["bpm"]) > 0.05
        state_changed = st.state != last["state"]
        cand = tuple((round(b, 1), round(s, 2)) for b, s in st.candidates[:6])
        cand_changed = cand != last["cand"]
        for s in self.sinks:
            p = s.target.prefix
            if "bpm" in s.wants and (bpm_due or bpm_changed):
                s.send(build_message(p + "/bpm", [float(st.bpm)]))
            if "state" in s.wants and (bpm_due or state_changed):
                s.send(build_message(p + "/state", [st.state, float(st.confidence),
                                                    float(st.music)]))
            if "candidates" in s.wants and (bpm_due or cand_changed) and cand:
                s.send(build_message(p + "/tempo/candidates",
                                     [float(v) for pair in cand for v in pair]))
        if bpm_due or bpm_changed or state_changed or cand_changed:
            last.update(bpm=st.bpm, state=st.state, cand=cand)
        if bpm_due:
            last["bpm_t"] = now

    def _run(self) -> None:
        try_realtime(self.rt_priority)
        name_thread("beatd-osc-out")
        last = {"bpm": -1.0, "state": None, "cand": None, "bpm_t": -1e9}
        phase_dt = 1.0 / self.phase_rate if self.phase_rate > 0 else None
        level_dt = 1.0 / self.level_rate if self.level_rate > 0 else None
        next_phase = next_level = next_periodic = time.monotonic()
        # periodic messages due within half the shortest period ride on the same wake-up: one
        # wake-up per phase tick instead of separate ones for level and status (each costs)
        slack = 0.5 * min(x for x in (phase_dt, level_dt, 0.1) if x)
        while not self._stop.is_set():
            self._drain()
            deadline = next_periodic
            if phase_dt:
                deadline = min(deadline, next_phase)
            if level_dt:
                deadline = min(deadline, next_level)
            if self._heap:
                deadline = min(deadline, self._heap[0][0])
            self._next_wake = deadline
            if self._inbox:                 # came while the deadline was being set: take it
                self._next_wake = -math.inf
                continue
            left = deadline - time.monotonic()
            if left > 0:
                self._wake.wait(left)
            self._next_wake = -math.inf
            if self._inbox or self._stop.is_set():
                continue
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, sink, dgram, scheduled = heapq.heappop(self._heap)
                sink.send(dgram)
                if scheduled is not None and len(self.late_ms) < 100000:
                    self.late_ms.append((time.monotonic() - scheduled) * 1e3)
            st = self._status
            if phase_dt and now >= next_phase - slack:
                ph = st.phase(now)
                for s in self.sinks:
                    if "phase" in s.wants:
                        s.send(build_message(s.target.prefix + "/phase",
                                             [float(ph), int(st.beat_in_bar)]))
                next_phase += phase_dt
                if next_phase < now:
                    next_phase = now + phase_dt
            if level_dt and now >= next_level - slack:
                for s in self.sinks:
                    if "level" in s.wants:
                        s.send(build_message(s.target.prefix + "/level",
                                             [float(st.level_db), int(st.clipping)]))
                next_level += level_dt
                if next_level < now:
                    next_level = now + level_dt
            if now >= next_periodic - slack:
                self._expire(now)
                self._periodic(now, st, last)
                next_periodic = now + 0.1
