"""The daemon: live input -> worker thread (hops -> frontend -> later stages) until stopped.

The audio callback only copies into the ring buffer (see :mod:`realtime.audio_input`); the
worker thread does everything else, one hop at a time, and reports overruns.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio_input import AudioInput, resolve_device, set_jack_client_name
from .clock import StreamClock
from .config import Config
from .frontend import Frontend, FrontendParams
from .hop_reader import HopReader

log = logging.getLogger("beatd")


@dataclass
class Stats:
    """Counters the daemon reports (log, OSC status, monitor)."""

    frames: int = 0
    dropped_blocks: int = 0
    dropped_samples: int = 0
    xruns: int = 0
    nonfinite_samples: int = 0
    worker_max_ms: float = 0.0
    started: float = field(default_factory=time.monotonic)


class Daemon:
    """Run the live pipeline on the configured input until :meth:`stop` is called.

    Parameters
    ----------
    cfg : validated configuration.
    frontend_params : the model's frontend parameters.
    record : write the captured device-rate audio (selected channel or mix) here at exit.
    dump_features : write every feature frame (``.npy``, frames x features) here at exit.
    """

    def __init__(self, cfg: Config, frontend_params: FrontendParams | None = None,
                 record: str | Path | None = None,
                 dump_features: str | Path | None = None) -> None:
        self.cfg = cfg
        self.params = frontend_params or FrontendParams()
        self.record = Path(record) if record else None
        self.dump_features = Path(dump_features) if dump_features else None
        self.stats = Stats()
        self._stop = threading.Event()
        self._recorded: list[np.ndarray] = []
        self._frames: list[np.ndarray] = []
        inp = cfg.section("input")
        if inp["jack_client_name"]:
            set_jack_client_name(inp["jack_client_name"])
        self.device = resolve_device(inp["device"])
        channel = None if inp["channel"] == "mix" else int(inp["channel"])
        channels = inp["channels"] or (self.device.channels if channel is None else channel + 1)
        if channel is not None and channel >= self.device.channels:
            from .audio_input import AudioDeviceError
            raise AudioDeviceError(f"input.channel = {channel}, but device "
                                   f"{self.device.name!r} has {self.device.channels} channel(s)")
        self.input = AudioInput(self.device, channels=min(channels, self.device.channels),
                                samplerate=inp["samplerate"] or None,
                                blocksize=inp["blocksize"], ring_seconds=inp["ring_seconds"])
        self.reader = HopReader(self.input.ring, self.input.samplerate, self.params.sample_rate,
                                self.params.hop_length, channel=channel)
        self.frontend = Frontend(self.params)
        self.clock = StreamClock(self.input.samplerate)
        self._block_count = 0
        self._worker = threading.Thread(target=self._work, name="beatd-worker", daemon=True)

    def start(self) -> None:
        """Open the stream and start the worker."""
        self.input.start()
        self._worker.start()
        log.info("listening on %r (%s, %d ch @ %.0f Hz), model rate %d Hz, %.0f frames/s",
                 self.device.name, self.device.hostapi, self.input.channels,
                 self.input.samplerate, self.params.sample_rate, self.params.frame_rate)

    def stop(self) -> None:
        """Ask the worker to finish (returns at once; see :meth:`join`)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker, close the stream, write the dumps."""
        self._worker.join(timeout)
        self.input.close()
        self._write_dumps()

    def wait(self, duration: float | None = None) -> None:
        """Block until stopped (or ``duration`` seconds passed)."""
        self._stop.wait(duration)

    def _write_dumps(self) -> None:
        if self.record is not None:
            import soundfile as sf
            y = np.concatenate(self._recorded) if self._recorded else np.zeros(0, np.float32)
            sf.write(str(self.record), y, int(self.input.samplerate), subtype="FLOAT")
        if self.dump_features is not None:
            f = np.stack(self._frames) if self._frames else np.zeros((0, self.params.n_features))
            np.save(self.dump_features, f.astype(np.float32))

    def _work(self) -> None:
        """Worker thread: drain the ring hop by hop; never blocks the audio callback."""
        poll = self.params.hop_length / self.params.sample_rate / 2
        reader, frontend, stats, ring = self.reader, self.frontend, self.stats, self.input.ring
        if self.record is not None:
            reader.tap = lambda x: self._recorded.append(x.copy())
        while not self._stop.is_set():
            t0 = time.perf_counter()
            self._block_count, starts, adcs = ring.blocks_since(self._block_count)
            if len(starts):
                self.clock.update(starts, adcs)
                self.clock.set_monotonic_offset(self.input.stream_time, time.monotonic())
            for hop in reader.hops():
                frame = frontend.process_hop(hop)
                stats.frames += 1
                if self.dump_features is not None:
                    self._frames.append(frame.copy())
            if ring.dropped_blocks != stats.dropped_blocks:
                log.warning("overrun: the worker fell behind, %d block(s) (%d samples) dropped "
                            "so far", ring.dropped_blocks, ring.dropped_samples)
                stats.dropped_blocks = ring.dropped_blocks
                stats.dropped_samples = ring.dropped_samples
            if self.input.status_overflows != stats.xruns:
                log.warning("input overflow (xrun) reported by the audio driver: %d so far",
                            self.input.status_overflows)
                stats.xruns = self.input.status_overflows
            stats.nonfinite_samples = reader.nonfinite_samples
            stats.worker_max_ms = max(stats.worker_max_ms, (time.perf_counter() - t0) * 1e3)
            self._stop.wait(poll)
