"""Real-time scheduling for the timing threads (MIDI clock, OSC sender), where permitted."""
from __future__ import annotations

import logging
import os

log = logging.getLogger("beatd")


def try_realtime(priority: int) -> bool:
    """Give the calling thread SCHED_FIFO ``priority`` (1-99); False if not permitted or 0.

    Only the timing threads ask for this: they sleep almost all the time and run a few
    microseconds per event, so they cannot starve the rest of the system.
    """
    if priority <= 0 or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except OSError as exc:
        log.debug("real-time priority not permitted (%s); running at normal priority", exc)
        return False


def name_thread(name: str) -> None:
    """Give the calling thread an OS-level name (shown by ``top -H``, ``ps -L``); Linux only."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)   # PR_SET_NAME
    except (OSError, AttributeError):
        pass
