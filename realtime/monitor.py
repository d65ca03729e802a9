"""``beatd monitor``: a terminal view of the beat (big BPM, beat flash, bar, candidates, level).

The monitor is an OSC client of a daemon: it sends ``<prefix>/subscribe`` to the daemon's
control port every second, the daemon then sends its OSC stream (beats, phase, BPM, state,
candidates, level) to the monitor's port for a few seconds, and ``<prefix>/status`` replies
fill in the device and the overrun counters. Without a running daemon it starts one in-process
on the default input (own pipeline, no MIDI) and watches that the same way — "yell into the mic
and see its BPM".
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket
from rich.align import Align
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .osc_out import build_message

# a 5-line block font for the BPM digits
_FONT = {
    "0": ["███", "█ █", "█ █", "█ █", "███"], "1": [" █ ", "██ ", " █ ", " █ ", "███"],
    "2": ["███", "  █", "███", "█  ", "███"], "3": ["███", "  █", "███", "  █", "███"],
    "4": ["█ █", "█ █", "███", "  █", "  █"], "5": ["███", "█  ", "███", "  █", "███"],
    "6": ["███", "█  ", "███", "█ █", "███"], "7": ["███", "  █", "  █", "  █", "  █"],
    "8": ["███", "█ █", "███", "█ █", "███"], "9": ["███", "█ █", "███", "  █", "███"],
    ".": ["   ", "   ", "   ", "   ", " █ "], "-": ["   ", "   ", "███", "   ", "   "],
    " ": ["   ", "   ", "   ", "   ", "   "],
}


def big_text(s: str) -> list[str]:
    """``s`` (digits, '.', '-') in the block font, five lines."""
    return ["  ".join(_FONT.get(c, _FONT[" "])[row] for c in s) for row in range(5)]


@dataclass
class View:
    """What the monitor shows; updated from OSC messages."""

    state: str = "waiting"
    bpm: float = 0.0
    confidence: float = 0.0
    beat_in_bar: int = 0
    beats_per_bar: int = 4
    last_beat: float = 0.0       # monotonic time of the last beat arrival
    beats: int = 0
    phase: float = 0.0
    candidates: list = field(default_factory=list)
    level_db: float = -120.0
    clipping: bool = False
    music: float = -1.0          # the network's averaged music output; -1: unknown
    device: str = ""
    overruns: int = 0
    xruns: int = 0
    source: str = ""
    messages: int = 0

    def apply(self, address: str, args: list, now: float, prefix: str = "/beatd") -> None:
        """Fold one OSC message in."""
        self.messages += 1
        name = address[len(prefix):] if address.startswith(prefix) else address
        if name == "/beat" and len(args) >= 4:
            self.beats += 1
            self.beat_in_bar = int(args[1])
            self.beats_per_bar = max(self.beats_per_bar if self.beat_in_bar > 1 else 1,
                                     self.beat_in_bar, 3)
            self.bpm = float(args[2])
            self.confidence = float(args[3])
            self.last_beat = now
        elif name == "/bpm" and args:
            self.bpm = float(args[0])
        elif name == "/state" and len(args) >= 2:
            self.state = str(args[0])
            self.confidence = float(args[1])
            self.music = float(args[2]) if len(args) >= 3 else -1.0
        elif name == "/phase" and args:
            self.phase = float(args[0])
        elif name == "/tempo/candidates":
            self.candidates = [(float(args[i]), float(args[i + 1]))
                               for i in range(0, len(args) - 1, 2)]
        elif name == "/level" and len(args) >= 2:
            self.level_db = float(args[0])
            self.clipping = bool(args[1])
        elif name == "/status" and len(args) >= 6:
            self.state = str(args[0])
            self.device = str(args[3])
            self.overruns = int(args[4])
            self.xruns = int(args[5])


def render(v: View, now: float) -> Panel:
    """The whole screen as a rich renderable."""
    flash = now - v.last_beat < 0.12
    locked = v.state in ("locked", "holding")
    bpm_s = f"{v.bpm:5.1f}" if v.bpm > 0 and v.state != "listening" else "  ---"
    style = "bold black on bright_yellow" if flash else ("bold bright_green" if locked
                                                         else "bold white")
    big = Text("\n".join(big_text(bpm_s)), style=style)
    bar = Text()
    for i in range(1, max(v.beats_per_bar, 1) + 1):
        on = i == v.beat_in_bar
        bar.append(" ● " if on else " ○ ", style="bold red" if on and i == 1 else
                   ("bold yellow" if on else "dim"))
    conf = Text(f"confidence {v.confidence:4.2f} ")
    conf.append("█" * int(round(v.confidence * 20)), style="green")
    conf.append("·" * (20 - int(round(v.confidence * 20))), style="dim")
    lvl = max(0.0, min(1.0, (v.level_db + 60.0) / 60.0))
    level = Text(f"level {v.level_db:6.1f} dBFS ")
    n = int(round(lvl * 30))
    level.append("█" * n, style="red" if v.level_db > -6 else "green")
    level.append("·" * (30 - n), style="dim")
    if v.clipping:
        level.append("  CLIP", style="bold white on red")
    cands = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    cands.add_column("tempo candidates", justify="right")
    cands.add_column("score", justify="right")
    for bpm, score in v.candidates[:5]:
        cands.add_row(f"{bpm:6.1f} BPM", f"{score:5.2f}")
    state = Text(f"state {v.state.upper():9s} {v.bpm:6.1f} BPM",
                 style="bold green" if locked else "bold yellow")
    if v.music >= 0.0:
        state.append(f"   music {v.music:4.2f}")
    info = Text(f"   device {v.device or '?'}   overruns {v.overruns}   xruns {v.xruns}   "
                f"beats {v.beats}", style="dim")
    body = Group(Align.center(big), Text(""), Align.center(bar), Text(""), state + info, conf,
                 level, Text(""), cands)
    return Panel(body, title=f"beatd monitor — {v.source}", border_style=(
        "yellow" if flash else "blue"))


class Monitor:
    """Subscribe to a daemon's OSC stream at ``host:port`` and keep a :class:`View` current."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9001, prefix: str = "/beatd") -> None:
        self.target = (host, port)
        self.prefix = prefix
        self.view = View(source=f"{host}:{port}")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1" if host in ("127.0.0.1", "localhost") else "0.0.0.0", 0))
        self.sock.settimeout(0.05)
        self._stop = threading.Event()
        self.last_reply = 0.0

    def poke(self) -> None:
        """Ask for the stream (renews the subscription) and a status reply."""
        for name in ("/subscribe", "/status"):
            try:
                self.sock.sendto(build_message(self.prefix + name, []), self.target)
            except OSError:
                pass

    def receive(self, duration: float) -> None:
        """Read messages for ``duration`` seconds."""
        end = time.monotonic() + duration
        while time.monotonic() < end:
            try:
                data, _ = self.sock.recvfrom(65536)
            except (socket.timeout, OSError):
                continue
            now = time.monotonic()
            try:
                for m in OscPacket(data).messages:
                    msg: OscMessage = m.message
                    self.view.apply(msg.address, list(msg.params), now, self.prefix)
                    if msg.address == self.prefix + "/status":
                        self.last_reply = now
            except Exception:
                continue

    def alive(self, timeout: float = 0.5) -> bool:
        """True if a daemon answers ``/status`` within ``timeout`` seconds."""
        self.poke()
        self.receive(timeout)
        return self.last_reply > 0

    def run(self, console: Console, seconds: float | None = None, fps: float = 30.0) -> None:
        """Draw until Ctrl-C (or ``seconds``)."""
        end = time.monotonic() + seconds if seconds else None
        next_poke = 0.0
        with Live(render(self.view, time.monotonic()), console=console, refresh_per_second=fps,
                  screen=False, transient=False) as live:
            while end is None or time.monotonic() < end:
                now = time.monotonic()
                if now >= next_poke:
                    self.poke()
                    next_poke = now + 1.0
                self.receive(1.0 / fps)
                if self.last_reply and now - self.last_reply > 3.0:
                    self.view.state = "no daemon"
                live.update(render(self.view, time.monotonic()))

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
