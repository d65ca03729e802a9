"""What the worker hands to the outputs: beats on the monotonic clock and a status snapshot.

Outputs (OSC, MIDI clock, Link, monitor) see only these two types, never the tracker itself.
The worker publishes a new :class:`Status` object by replacing a reference (atomic under
CPython), so outputs read a consistent snapshot without locks.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Beat:
    """A beat, scheduled: ``when`` is the ``time.monotonic()`` instant it is heard at the input.

    Each output adds its own latency offset to ``when`` (negative fires early).
    """

    when: float
    beat_index: int
    beat_in_bar: int
    bpm: float
    confidence: float
    stream_time: float = 0.0   # the beat's time on the stream clock (seconds from stream start)


_PHASE_WRAP = 1.0 - 2.0 ** -25   # the least float64 that float32 rounds to 1.0


@dataclass(frozen=True)
class Status:
    """The tracker and input state at one moment (published by the worker a few times a second).

    ``last_beat_when`` and ``period`` let an output compute a continuous beat phase:
    ``((now - last_beat_when) / period) % 1``.
    """

    state: str = "listening"
    bpm: float = 0.0
    confidence: float = 0.0
    beat_in_bar: int = 0
    beats_per_bar: int = 4
    last_beat_when: float = 0.0
    period: float = 0.0
    candidates: tuple[tuple[float, float], ...] = ()   # (bpm, score), best first
    level_db: float = -120.0
    clipping: bool = False
    music: float = -1.0   # the tracker's averaged music output; -1: unknown (no music output)
    device: str = ""
    overruns: int = 0
    xruns: int = 0
    frames: int = 0
    extra: dict = field(default_factory=dict)

    def phase(self, now: float) -> float:
        """Beat phase in [0, 1) at monotonic time ``now`` (0 when no tempo is known)."""
        if self.period <= 0.0 or self.last_beat_when <= 0.0:
            return 0.0
        ph = ((now - self.last_beat_when) / self.period) % 1.0
        # OSC sends it as float32, where a phase within 2**-25 of 1 would arrive as 1.0 (and
        # Python's % gives 1.0 for a tiny negative): that moment is the beat itself
        return ph if ph < _PHASE_WRAP else 0.0
