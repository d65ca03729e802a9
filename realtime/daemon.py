"""The daemon: live input -> worker (hops -> frontend -> network -> tracker) -> outputs.

The audio callback only copies into the ring buffer (:mod:`realtime.audio_input`). One worker
thread does everything else, hop by hop: it converts each committed beat from stream time to
the monotonic clock (through the ADC timestamps) and hands it to the outputs, which send it at
that moment plus their own latency offset. Control commands (OSC, MIDI tap, signals) reach the
worker through a queue, so the tracker is only ever touched by the worker. The worker also
watches the device: when callbacks stop (unplugged, JACK server gone) it reports ``lost``, stops
the MIDI clock and reopens the input with backoff until it is back.
"""
from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config as config_mod
from .audio_input import AudioInput
from .clock import StreamClock
from .config import Config
from .rtprio import Waker, name_thread
from .events import Beat, Status
from .hop_reader import HopReader
from .level import LevelMeter
from .osc_control import Command
from .pipeline import Pipeline
from .tracker import TrackerState

log = logging.getLogger("beatd")

SWITCH_INTERVAL_S = 0.0005


@dataclass
class Stats:
    """Counters the daemon reports (log, OSC status, monitor)."""

    frames: int = 0
    beats: int = 0
    dropped_blocks: int = 0
    dropped_samples: int = 0
    xruns: int = 0
    nonfinite_samples: int = 0
    device_losses: int = 0
    worker_max_ms: float = 0.0
    wakeups: int = 0            # worker wake-ups (each costs: fewer is cheaper)
    late_beats: int = 0         # beats committed after their scheduled time had passed
    min_lead_ms: float = math.inf   # smallest time between committing a beat and its time
    started: float = field(default_factory=time.monotonic)


def audio_in_by(t_heard: float, lag: float, hop_s: float) -> float:
    """When the audio heard at ``t_heard`` can be read: the input ``lag`` (largest recent),
    then one hop for the frame to complete, and a 3 ms margin (the worker's wake-up target)."""
    return t_heard + lag + hop_s + 0.003


def worker_sleep(now: float, due: float, interval: float, locking: bool,
                 lookahead: float) -> float:
    """How long the worker may sleep (seconds): about ``interval``, spaced evenly (0.67 to 1.5
    intervals apart) so that one wake-up lands on ``due``, the ``time.monotonic()`` by which the
    audio that commits the next beat has arrived (``-inf`` when nothing is tracked), so a beat
    still leaves ``lookahead`` minus the input lag ahead of its time. While ``locking`` it wakes
    at least every 50 ms, so that the first beat is committed from fresh audio; if a due beat's
    audio is not in yet (a stall) it looks again every 5 ms.

    >>> round(worker_sleep(0.0, 0.43, 0.1, False, 0.1), 4)   # 4 even steps, not 100 ms x 4 + 30
    0.1075
    """
    longest = min(interval, 0.05) if locking else interval
    if not math.isfinite(due):
        return longest
    if due > now:
        left = due - now           # n even steps (not ceil(left / longest) steps: fewer)
        return max(left / max(1, round(left / longest)), 0.002)
    if now - due < lookahead and not locking:
        return 0.005            # that audio should be in (a stall?): look again soon
    return longest


class _WakingQueue(queue.SimpleQueue):
    """The worker's command queue: ``put`` also wakes the worker, so a tap, nudge or reload
    applies at once instead of at its next wake-up (up to 1.5 ``worker_interval_ms``)."""

    def __init__(self, waker: Waker) -> None:
        super().__init__()
        self._waker = waker

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._waker.set()


def _close_all(objs) -> None:
    """Close each object that is not None; a failure is logged and the rest still close."""
    for o in objs:
        if o is not None:
            try:
                o.close()
            except Exception as exc:
                log.warning("closing %s: %s", type(o).__name__, exc)


class Outputs:
    """The configured outputs (OSC out, OSC control, MIDI clock/tap, Link), built from config.

    An output that cannot start (port in use, no MIDI system) is logged and left out; the others
    run. ``close()`` stops them all (MIDI Stop is sent if the clock runs).
    """

    def __init__(self, cfg: Config, commands: queue.SimpleQueue, status_fn) -> None:
        self.osc = self.control = self.midi = self.midi_port = self.tap = self.link = None
        osc = cfg.section("osc")
        if osc["enabled"] or osc["control_port"]:
            from .osc_out import OscOutput, OscTarget
            try:
                targets = [OscTarget(host=t["host"], port=t["port"], prefix=t["prefix"],
                                     messages=tuple(t["messages"]), latency_ms=t["latency_ms"],
                                     min_confidence=t["min_confidence"])
                           for t in osc["target"]] if osc["enabled"] else []
                self.osc = OscOutput(targets, osc["phase_rate"], osc["level_rate"],
                                     osc["bpm_interval"])
                self.osc.start()
                if targets:
                    log.info("OSC out to %s", ", ".join(f"{t.host}:{t.port}{t.prefix}"
                                                        for t in targets))
            except OSError as exc:
                log.error("OSC output disabled: %s", exc)
                self.osc = None
            if osc["control_port"]:
                from .osc_control import OscControl
                prefix = osc["control_prefix"]
                sub = (lambda addr, until: self.osc.subscribe(addr, until, prefix)) \
                    if self.osc is not None else None
                try:
                    self.control = OscControl(osc["control_host"], osc["control_port"],
                                              prefix, status_fn, sub)
                    self.control.commands = commands
                    self.control.start()
                    log.info("OSC control on %s:%d", *self.control.address)
                except OSError as exc:
                    log.error("OSC control disabled: cannot listen on %s:%d (%s)",
                              osc["control_host"], osc["control_port"], exc)
                    self.control = None
        self._cfg, self._commands = cfg, commands
        self._open_midi()
        link = cfg.section("link")
        if link["enabled"]:
            try:
                from .link_out import LinkOutput
                self.link = LinkOutput(link["quantum"], link["latency_ms"])
                self.link.start()
            except Exception as exc:
                log.error("Ableton Link disabled: %s", exc)
                self.link = None

    def _open_midi(self) -> None:
        midi = self._cfg.section("midi")
        if not midi["enabled"]:
            return
        from .midi_clock import MidiClock, MidiTap, open_output
        try:
            self.midi_port = open_output(midi["port"], midi["virtual_name"],
                                         midi["client_name"], midi["api"])
            self.midi = MidiClock(self.midi_port, config_mod.midi_params(self._cfg))
            self.midi.start()
            log.info("MIDI clock on %s", midi["port"] or f"virtual port "
                     f"{midi['client_name']}:{midi['virtual_name']}")
        except Exception as exc:   # rtmidi raises SystemError etc. without a MIDI system
            log.error("MIDI clock disabled: %s", exc)
            self.midi = self.midi_port = None
        if midi["tap_port"]:
            try:
                self.tap = MidiTap(midi["tap_port"],
                                   lambda t: self._commands.put(Command("tap", 0.0, t)),
                                   midi["tap_note"], midi["client_name"], midi["api"])
            except Exception as exc:
                log.error("MIDI tap input disabled: %s", exc)

    def _take_midi(self) -> tuple:
        """Detach the MIDI clock and ports (the worker stops using them at once)."""
        objs = (self.midi, self.tap, self.midi_port)
        self.midi = self.tap = self.midi_port = None
        return objs

    def _close_midi(self, timeout: float = 1.0) -> None:
        """Close the MIDI clock (it sends Stop) and ports; give up after ``timeout`` seconds:
        a JACK client's close can stall for many seconds on a troubled server."""
        th = threading.Thread(target=_close_all, args=(self._take_midi(),), daemon=True)
        th.start()
        th.join(timeout)
        if th.is_alive():
            log.warning("MIDI ports did not close within %.1f s; left behind", timeout)

    @property
    def midi_on_jack(self) -> bool:
        """True if the MIDI ports are JACK clients (they die with the JACK server)."""
        from .midi_clock import midi_api
        midi = self._cfg.section("midi")
        return midi["enabled"] and "JACK" in midi_api(midi["api"])

    def restart_midi(self) -> None:
        """Reopen the MIDI ports (after the JACK server they lived on came back).

        Runs in its own thread: closing a client of a dead JACK server takes seconds, and the
        worker must not wait for it. Beats meanwhile reach the other outputs only.
        """
        old = self._take_midi()

        def reopen():
            _close_all(old)
            self._open_midi()
        threading.Thread(target=reopen, name="beatd-midi-reopen", daemon=True).start()

    def beat(self, b: Beat) -> None:
        """Hand a scheduled beat to every beat output."""
        if self.osc is not None:
            self.osc.schedule(b)
        if self.midi is not None:
            self.midi.beat(b)
        if self.link is not None:
            self.link.beat(b)

    def publish(self, st: Status) -> None:
        """Hand the latest status to the outputs that send it."""
        if self.osc is not None:
            self.osc.publish(st)

    def lost(self) -> None:
        """The beat is lost: stop the MIDI clock (policy permitting)."""
        if self.midi is not None:
            self.midi.stop_clock()

    def close(self) -> None:
        """Stop every output (the MIDI clock sends Stop if it runs)."""
        _close_all((self.osc, self.control, self.link))
        self._close_midi()


class Daemon:
    """Run the live pipeline on the configured input until :meth:`stop` is called.

    Parameters
    ----------
    cfg : validated configuration.
    record : write the captured device-rate audio (selected channel or mix) here at exit.
    dump_features : write every feature frame (``.npy``, frames x features) here at exit.
    events_log : append every emitted beat as a line ``monotonic_time stream_time beat_in_bar
        bpm confidence`` (tab-separated; stream time restarts after a device is reopened).
    """

    def __init__(self, cfg: Config, record: str | Path | None = None,
                 dump_features: str | Path | None = None,
                 events_log: str | Path | None = None) -> None:
        self.cfg = cfg
        self.record = Path(record) if record else None
        self.dump_features = Path(dump_features) if dump_features else None
        self._events_file = open(events_log, "a", buffering=1) if events_log else None
        self.stats = Stats()
        self._xrun_log_at = 0.0
        self._stop = threading.Event()
        self._wake = Waker()            # the worker's sleep; stop() and commands cut it short
        self.commands: queue.SimpleQueue = _WakingQueue(self._wake)
        self._recorded: list[np.ndarray] = []
        self._frames: list[np.ndarray] = []
        self.pipeline = Pipeline(cfg)
        t0 = time.perf_counter()
        warm_beats = self.pipeline.warm_up()   # kernels loaded now, not on the first beats
        log.debug("warm-up: %d beats in %.0f ms", warm_beats, (time.perf_counter() - t0) * 1e3)
        self.model_path = self.pipeline.model_path
        self.params = self.pipeline.params
        self._hops = np.zeros((32, self.params.hop_length), np.float32)   # one wake-up's hops
        self.status = Status()
        self.input: AudioInput | None = None
        self._open_input()          # raises AudioDeviceError on the first attempt
        self.outputs = Outputs(cfg, self.commands, lambda: self.status)
        self._worker = threading.Thread(target=self._work, name="beatd-worker", daemon=True)

    # ------------------------------------------------------------------ construction
    def _open_input(self) -> None:
        """Start a capture process on the configured device; reset every stage's stream state."""
        inp = self.cfg.section("input")
        channel = None if inp["channel"] == "mix" else int(inp["channel"])
        self.input = AudioInput(inp["device"], channel=channel, channels=inp["channels"],
                                samplerate=inp["samplerate"] or None,
                                blocksize=inp["blocksize"], ring_seconds=inp["ring_seconds"],
                                jack_client_name=inp["jack_client_name"])
        self.device = self.input.device
        self.reader = HopReader(self.input.ring, self.input.samplerate, self.params.sample_rate,
                                self.params.hop_length, channel=channel)
        if self.record is not None:
            self.reader.tap = lambda x: self._recorded.append(x.copy())
        self.clock = StreamClock(self.input.samplerate)
        self.level = LevelMeter(self.input.samplerate, channel)
        self._level_pos = 0
        # recent (now - time the newest readable sample was heard) at wake-ups: between the
        # input latency and that plus one block; the largest says how long after a sound the
        # worker can see it (see _commit_due)
        self._lags = [0.0] * 32
        self._block_count = 0
        self._starts = np.zeros(self.input.ring.max_blocks)   # new blocks' timing, per wake-up
        self._adcs = np.zeros(self.input.ring.max_blocks)
        # counters of earlier streams, so the reported totals survive a reopen
        self._base = (self.stats.dropped_blocks, self.stats.dropped_samples, self.stats.xruns)
        self.pipeline.reset()
        self._last_state = self.pipeline.tracker.state

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Open the stream and start the worker."""
        # The MIDI clock and OSC sender threads must get the GIL within a fraction of a
        # millisecond when their deadline comes; CPython's default switch interval is 5 ms.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._worker.start()
        log.info("listening on %r (%s, %d ch @ %.0f Hz); model %s at %d Hz, %.0f frames/s",
                 self.device.name, self.device.hostapi, self.input.channels,
                 self.input.samplerate, Path(self.model_path).name,
                 self.params.sample_rate, self.params.frame_rate)

    def stop(self) -> None:
        """Ask the worker to finish (safe from a signal handler; returns at once)."""
        self._stop.set()
        self._wake.set()

    def request_reload(self, cfg: Config) -> None:
        """Apply a new configuration from the worker thread (SIGHUP)."""
        self.commands.put(("reload", cfg))

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker, stop the outputs (MIDI Stop), close the stream, write dumps."""
        self._worker.join(timeout)
        if not self._worker.is_alive():
            self._wake.close()
        self._close_input(self.input)
        self.outputs.close()
        self._write_dumps()
        if self._events_file is not None:
            self._events_file.close()

    def wait(self, duration: float | None = None) -> None:
        """Block until stopped (or ``duration`` seconds passed)."""
        self._stop.wait(duration)

    @staticmethod
    def _close_input(inp: AudioInput | None) -> None:
        """Stop the capture process (never hangs: it is killed if it does not exit)."""
        if inp is not None:
            inp.close()

    def _write_dumps(self) -> None:
        if self.record is not None:
            import soundfile as sf
            y = np.concatenate(self._recorded) if self._recorded else np.zeros(0, np.float32)
            sf.write(str(self.record), y, int(self.clock.rate), subtype="FLOAT")
        if self.dump_features is not None:
            f = np.stack(self._frames) if self._frames else np.zeros((0, self.params.n_features))
            np.save(self.dump_features, f.astype(np.float32))

    # ------------------------------------------------------------------ time conversion
    def _stream_to_monotonic(self, t: float) -> float:
        """Stream seconds (model-rate time base) -> time.monotonic() when heard at the input."""
        return self.clock.monotonic_time(t * self.clock.rate)

    def _monotonic_to_stream(self, t: float) -> float:
        return self.clock.sample_at_monotonic(t) / self.clock.rate

    # ------------------------------------------------------------------ worker
    def _apply(self, cmd) -> None:
        """Apply one control command (worker thread only)."""
        if isinstance(cmd, tuple) and cmd[0] == "reload":
            self._reload(cmd[1])
            return
        tr = self.pipeline.tracker
        t = self._monotonic_to_stream(cmd.when) if cmd.when else None
        if cmd.name == "tap" and t is not None:
            bpm = tr.tap(t)
            log.info("tap%s", f": {bpm:.1f} BPM" if bpm else "")
        elif cmd.name == "nudge":
            tr.nudge(cmd.value)
            log.info("nudge %+.1f ms", cmd.value)
        elif cmd.name in ("half", "double"):
            ok = tr.half() if cmd.name == "half" else tr.double()
            log.info("%s tempo%s", cmd.name, "" if ok else ": outside the tempo range, ignored")
        elif cmd.name == "lock":
            if cmd.value:
                log.info("tempo locked at %.1f BPM", tr.lock_tempo())
            else:
                tr.release_tempo()
                log.info("tempo released")
        elif cmd.name == "downbeat":
            tr.set_downbeat(t)
            log.info("downbeat set")

    def _reload(self, cfg: Config) -> None:
        old = self.cfg
        self.cfg = cfg
        if cfg.section("tracker") != old.section("tracker") or \
                cfg.section("tempo") != old.section("tempo") or \
                cfg.section("silence") != old.section("silence"):
            self.pipeline.configure(cfg)
            self._last_state = self.pipeline.tracker.state
            log.info("tracker settings reloaded (tracking restarts)")
        reopen = cfg.section("input") != old.section("input")
        if reopen:
            self._close_input(self.input)
            self.input = None
        if any(cfg.section(s) != old.section(s) for s in ("osc", "midi", "link")):
            self.outputs.close()
            self.outputs = Outputs(cfg, self.commands, lambda: self.status)
            log.info("outputs reloaded")
        if reopen:
            log.info("reopening the input stream")
            self._reopen()
        logging.getLogger("beatd").setLevel(cfg.section("log")["level"].upper())
        log.info("configuration reloaded from %s", cfg.path)

    def _reopen(self) -> bool:
        """Close the stream, rescan devices, open again; True on success."""
        self._close_input(self.input)
        self.input = None
        try:
            self._open_input()
        except Exception as exc:
            log.debug("reopen failed: %s", exc)
            self.input = None
            return False
        log.info("input back: %r (%.0f Hz)", self.device.name, self.input.samplerate)
        if self.outputs.midi_on_jack:
            self.outputs.restart_midi()      # its JACK client died with the server
        self.outputs.publish(self.status)
        return True

    def _publish(self, now: float, candidates: bool) -> None:
        tr = self.pipeline.tracker
        st = "lost" if self.input is None else tr.state.name.lower()
        period = 60.0 / tr.bpm if tr.bpm > 0 else 0.0
        cands = self.status.candidates
        if candidates:
            est = tr.tempo.estimate()
            cands = tuple((c.bpm, c.weight) for c in sorted(
                est.candidates, key=lambda c: -c.weight))
        last_when = self.status.last_beat_when
        music = tr.music
        self.status = Status(
            state=st, bpm=float(tr.bpm) if tr.state != TrackerState.LISTENING else 0.0,
            confidence=float(tr.p_window), beat_in_bar=self.status.beat_in_bar,
            last_beat_when=last_when, period=period, candidates=cands,
            level_db=self.level.level_db, clipping=self.level.clipping,
            music=music if math.isfinite(music) else -1.0,
            device=self.device.name if self.input is not None else "",
            overruns=self.stats.dropped_blocks, xruns=self.stats.xruns, frames=self.stats.frames)
        self.outputs.publish(self.status)

    def _emit(self, ev) -> None:
        when = self._stream_to_monotonic(ev.time)
        b = Beat(when=when, beat_index=ev.beat_index, beat_in_bar=ev.beat_in_bar, bpm=ev.bpm,
                 confidence=ev.confidence, stream_time=ev.time)
        self.outputs.beat(b)
        self.stats.beats += 1
        lead_ms = (when - time.monotonic()) * 1e3     # how far ahead of its time it was sent
        self.stats.min_lead_ms = min(self.stats.min_lead_ms, lead_ms)
        if lead_ms < 0:
            self.stats.late_beats += 1
            tr = self.pipeline.tracker
            log.debug("beat %d sent %.1f ms late: its time %.3f s, committed at frame time "
                      "%.3f s, now %.3f s (stream seconds); input lag %.1f ms, %.1f BPM",
                      ev.beat_index, -lead_ms, ev.time, tr.frame_time(tr.frame),
                      self._monotonic_to_stream(time.monotonic()), max(self._lags) * 1e3, ev.bpm)
        st = self.status
        self.status = Status(**{**st.__dict__, "last_beat_when": when,
                                "beat_in_bar": ev.beat_in_bar})
        if self._events_file is not None:
            self._events_file.write(f"{when:.4f}\t{ev.time:.4f}\t{ev.beat_in_bar}\t"
                                    f"{ev.bpm:.2f}\t{ev.confidence:.3f}\n")

    def _check_device(self, now: float, last_cb: list) -> bool:
        """True while the device delivers; on loss: report, stop the clock, close the stream."""
        inp = self.input
        if inp.callbacks != last_cb[0]:
            last_cb[0] = inp.callbacks
            last_cb[1] = now
            return True
        timeout = self.cfg.section("service")["device_timeout_s"]
        if now - last_cb[1] < timeout and inp.alive:
            return True
        self.stats.device_losses += 1
        log.error("input device %r lost (no audio for %.1f s); retrying", self.device.name,
                  now - last_cb[1])
        self.outputs.lost()
        self._close_input(inp)
        self.input = None
        self._publish(now, False)
        return False

    def _work(self) -> None:
        """Worker thread; never blocks the audio callback. At each wake-up it meters the new
        input, reads every hop the ring holds and runs frontend, network and tracker on them,
        and refreshes the status. It wakes when :meth:`_sleep_s` says: rarely (each wake-up
        costs: a cold start of every stage), but in time for every beat. (Tracking only at
        the wake-ups that commit a beat left more beats late: ``bench/bench_schedule.py``.)
        """
        name_thread("beatd-worker")
        status_dt = 1.0 / self.cfg.section("service")["status_rate"]
        stats = self.stats
        last_cb = [0, time.monotonic()]
        retry_at, backoff = 0.0, 0.25
        last_status = last_cands = -math.inf
        while not self._stop.is_set():
            t0 = time.perf_counter()
            now = time.monotonic()
            while not self.commands.empty():          # one consumer: get_nowait cannot fail
                cmd = self.commands.get_nowait()
                try:
                    self._apply(cmd)
                except Exception as exc:
                    log.error("control command failed: %s", exc)
            if self.input is None:                       # device lost: retry with backoff
                if now >= retry_at:
                    if self._reopen():
                        last_cb = [0, time.monotonic()]
                        backoff = 0.25
                    else:
                        backoff = min(backoff * 2, self.cfg.section("service")["retry_max_s"])
                        retry_at = now + backoff
                self._wake.wait(0.05)
                continue
            if not self._check_device(now, last_cb):
                retry_at, backoff = now + 0.25, 0.25
                continue
            ring = self.input.ring
            self._block_count, k = ring.blocks_into(self._block_count, self._starts,
                                                    self._adcs)
            if k:
                self.clock.update(self._starts[:k], self._adcs[:k])
            if self.clock.ready:        # how long after it was heard the newest sample is here
                self._lags[stats.wakeups % len(self._lags)] = (
                    now - self.clock.monotonic_time(ring.write_count))
            self._level_pos, first, second = ring.peek_since(self._level_pos)
            self.level.process(first)
            if len(second):
                self.level.process(second)
            while True:                    # everything that arrived since the last wake-up
                n = self.reader.read_hops(self._hops)
                for i, ev in self.pipeline.process_hops(self._hops[:n]):
                    self._after_frame(i, ev)
                if n < len(self._hops):
                    break
            self._account(ring)
            t = time.monotonic()
            if t - last_status >= 0.5 * status_dt:
                cands = t - last_cands >= 0.5
                self._publish(t, cands)
                last_status = t
                if cands:
                    last_cands = t
            stats.worker_max_ms = max(stats.worker_max_ms, (time.perf_counter() - t0) * 1e3)
            stats.wakeups += 1
            self._wake.wait(self._sleep_s(t, self._commit_due()))

    def _commit_due(self) -> float:
        """``time.monotonic()`` by which the audio that commits the next beat has arrived
        (the tracker's :meth:`~realtime.tracker.BeatTracker.commit_due` on the input clock,
        through :func:`audio_in_by`); ``-inf`` when nothing is tracked."""
        t_due = self.pipeline.tracker.commit_due()
        if not math.isfinite(t_due) or not self.clock.ready:
            return -math.inf
        return audio_in_by(self._stream_to_monotonic(t_due), max(self._lags),
                           self.params.hop_length / self.params.sample_rate)

    def _sleep_s(self, now: float, due: float) -> float:
        """How long the worker may sleep now (:func:`worker_sleep` with this configuration)."""
        tr = self.pipeline.tracker
        return worker_sleep(now, due, self.cfg.section("service")["worker_interval_ms"] / 1e3,
                            tr.state == TrackerState.LOCKING, tr.params.lookahead_ms / 1e3)

    def _after_frame(self, i: int, ev) -> None:
        """Per frame, after the tracker stepped: emit, log state changes."""
        self.stats.frames += 1
        if self.dump_features is not None:
            feats = self.pipeline.block_features
            self._frames.append(feats[i % len(feats)].copy())
        if ev is not None:
            self._emit(ev)
        tr = self.pipeline.tracker
        state = tr.state
        if state != self._last_state:
            log.info("state: %s -> %s%s", self._last_state.name.lower(), state.name.lower(),
                     f" ({tr.bpm:.1f} BPM)" if state == TrackerState.LOCKED else "")
            if state == TrackerState.LOST:
                self.outputs.lost()
            self._last_state = state

    def _account(self, ring) -> None:
        stats = self.stats
        blocks, samples, xruns = self._base
        if blocks + ring.dropped_blocks != stats.dropped_blocks:
            stats.dropped_blocks = blocks + ring.dropped_blocks
            stats.dropped_samples = samples + ring.dropped_samples
            log.warning("overrun: the worker fell behind, %d block(s) (%d samples) dropped "
                        "so far", stats.dropped_blocks, stats.dropped_samples)
        if xruns + self.input.status_overflows != stats.xruns:
            stats.xruns = xruns + self.input.status_overflows
            now = time.monotonic()
            if now >= self._xrun_log_at:      # at most one line per 10 s
                log.warning("input overflow (xrun) reported by the audio driver: %d so far",
                            stats.xruns)
                self._xrun_log_at = now + 10.0
        stats.nonfinite_samples = self.reader.nonfinite_samples
