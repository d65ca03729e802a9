"""Shared helpers for the benchmark scripts: machine description and table printing."""
from __future__ import annotations

import datetime
import os
import platform

import numpy as np


def pin_one_core() -> None:
    """Run on one CPU core (the daemon's budget is one core)."""
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass


def machine() -> str:
    """One line: date, CPU model, cores, Python."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def stats_us(ns: np.ndarray) -> tuple[float, float, float]:
    """(median, p99, max) in microseconds from nanosecond samples."""
    us = np.asarray(ns, np.float64) / 1e3
    return float(np.median(us)), float(np.percentile(us, 99)), float(us.max())


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v)
                                     for v in r) + " |")
    return "\n".join(out)


def emit(text: str, out=None) -> None:
    """Print a bench report and, with ``out`` (a Path), also write it there (one final newline;
    missing folders are made)."""
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n")
