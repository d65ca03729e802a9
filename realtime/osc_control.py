"""OSC control input: tap, nudge, half/double, lock, "this is beat one", status.

A small UDP server thread (bound to 127.0.0.1 unless configured otherwise) parses each datagram
with python-osc and turns valid messages into :class:`Command` objects on a queue that the worker
drains between hops, so the tracker is only ever touched by the worker thread. Malformed,
oversized or mistyped messages are ignored with one log line each; nothing here can crash the
service.

=====================  ===========  ===================================================
address                arguments    effect
=====================  ===========  ===================================================
``<prefix>/tap``       none         a tap at the moment of arrival (tap tempo + phase)
``<prefix>/nudge``     ms (f or i)  shift the beat phase by ms (negative = earlier)
``<prefix>/half``      none         halve the tempo
``<prefix>/double``    none         double the tempo
``<prefix>/lock``      0 or 1       lock (1) or release (0) the current tempo
``<prefix>/downbeat``  none         the beat nearest now is beat one of the bar
``<prefix>/status``    none         reply ``<prefix>/status`` state (s), bpm (f),
                                    confidence (f), device (s), overruns (i), xruns (i)
                                    to the sender's address and port
``<prefix>/subscribe`` none         send the whole OSC stream to the sender's address and
                                    port for 5 s (renew to keep it; used by the monitor)
=====================  ===========  ===================================================
"""
from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket, ParseError

from .rtprio import name_thread
from .events import Status
from .osc_out import build_message

log = logging.getLogger("beatd.osc")

MAX_DATAGRAM = 1024  # control messages are tiny; anything larger is refused
SUBSCRIPTION_S = 5.0


@dataclass(frozen=True)
class Command:
    """A control request for the worker: ``name`` in tap/nudge/half/double/lock/downbeat."""

    name: str
    value: float = 0.0
    when: float = 0.0   # time.monotonic() at arrival


class OscControl:
    """Receive control messages on ``host:port``; put :class:`Command` objects on ``commands``.

    ``status`` is a callable returning the latest :class:`Status` (for ``/status`` replies).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 9001, prefix: str = "/beatd",
                 status: Callable[[], Status] | None = None,
                 on_subscribe: Callable[[tuple, float], None] | None = None) -> None:
        self.prefix = prefix.rstrip("/")
        self._on_subscribe = on_subscribe
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._status = status or Status
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(5.0)    # close() wakes it at once; each timeout is a wake-up
        self.address = self.sock.getsockname()
        if host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("OSC control listens on %s:%d: anyone on that network can tap, nudge "
                        "and lock the tempo", *self.address)
        self.ignored = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="beatd-osc-in", daemon=True)

    def start(self) -> None:
        """Start the receiving thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop receiving and close the socket."""
        self._stop.set()
        if self._thread.is_alive():
            host, port = self.address[:2]
            try:   # an empty datagram to ourselves ends the blocking receive
                self.sock.sendto(b"", ("127.0.0.1" if host in ("0.0.0.0", "") else host, port))
            except OSError:
                pass
            self._thread.join(1.0)
        self.sock.close()

    def _ignore(self, why: str, addr) -> None:
        self.ignored += 1
        log.warning("OSC control: ignored a message from %s:%d: %s", addr[0], addr[1], why)

    def _run(self) -> None:
        name_thread("beatd-osc-in")
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            if self._stop.is_set():
                return
            now = time.monotonic()
            if len(data) > MAX_DATAGRAM:
                self._ignore(f"{len(data)} bytes, more than {MAX_DATAGRAM}", addr)
                continue
            try:
                packet = OscPacket(data)
            except (ParseError, Exception) as exc:   # python-osc raises several types
                self._ignore(f"not OSC ({type(exc).__name__})", addr)
                continue
            for timed in packet.messages:
                try:
                    self._handle(timed.message, addr, now)
                except Exception as exc:  # a handler bug must not kill the server
                    self._ignore(f"{timed.message.address}: {exc}", addr)

    def _handle(self, msg: OscMessage, addr, now: float) -> None:
        address = msg.address
        if not address.startswith(self.prefix + "/"):
            self._ignore(f"unknown address {address!r}", addr)
            return
        name = address[len(self.prefix) + 1:]
        params = list(msg.params)
        if name in ("tap", "half", "double", "downbeat"):
            self.commands.put(Command(name, 0.0, now))
        elif name == "nudge":
            if len(params) != 1 or isinstance(params[0], bool) \
                    or not isinstance(params[0], (int, float)):
                self._ignore(f"{address} needs one number (ms), got {params!r}", addr)
                return
            ms = float(params[0])
            if not -1000.0 <= ms <= 1000.0:
                self._ignore(f"{address} {ms} ms is outside +-1000 ms", addr)
                return
            self.commands.put(Command("nudge", ms, now))
        elif name == "lock":
            if len(params) != 1 or params[0] not in (0, 1, True, False):
                self._ignore(f"{address} needs 0 or 1, got {params!r}", addr)
                return
            self.commands.put(Command("lock", float(params[0]), now))
        elif name == "subscribe":
            if self._on_subscribe is None:
                self._ignore("subscriptions need the OSC output ([osc] enabled)", addr)
                return
            self._on_subscribe(addr, now + SUBSCRIPTION_S)
        elif name == "status":
            st = self._status()
            reply = build_message(self.prefix + "/status", [
                st.state, float(st.bpm), float(st.confidence), st.device, int(st.overruns),
                int(st.xruns)])
            try:
                self.sock.sendto(reply, addr)
            except OSError as exc:
                self._ignore(f"cannot reply to status request ({exc})", addr)
        else:
            self._ignore(f"unknown address {address!r}", addr)
