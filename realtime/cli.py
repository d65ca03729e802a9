"""Command line: ``beatd devices | run | analyze | eval``.

Exit codes follow sysexits: 0 ok, 1 runtime failure, 64 usage, 65 bad data, 66 input file
missing/unreadable, 69 no audio device, 78 configuration error.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

from . import config as config_mod

EX_OK, EX_FAIL, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_CONFIG = 0, 1, 64, 65, 66, 69, 78

log = logging.getLogger("beatd")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")


def _load_config(path: str | None) -> config_mod.Config:
    return config_mod.load(path)


def cmd_devices(args: argparse.Namespace) -> int:
    """List audio input devices."""
    from .audio_input import AudioDeviceError, format_devices, list_input_devices, no_device_hint
    try:
        devices = list_input_devices()
    except AudioDeviceError as exc:
        print(f"beatd: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    if not devices:
        print(no_device_hint(), file=sys.stderr)
        return EX_UNAVAILABLE
    print("Audio input devices (* = default):")
    print(format_devices(devices))
    return EX_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run the daemon in the foreground until SIGINT/SIGTERM (or ``--duration``).

    SIGHUP re-reads the config file and applies it (outputs, offsets, tracker settings) without
    restarting the audio stream unless the [input] section changed; a broken file is reported
    and the running configuration kept.
    """
    from .audio_input import AudioDeviceError
    from .daemon import Daemon
    cfg = _load_config(args.config)
    if args.device is not None:
        cfg.values["input"]["device"] = args.device
    _setup_logging(args.log_level or cfg.section("log")["level"])
    try:
        daemon = Daemon(cfg, record=args.record, dump_features=args.dump_features,
                        events_log=args.events)
    except AudioDeviceError as exc:
        print(exc if exc.kind == "no_device" else f"beatd: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    except (OSError, ValueError) as exc:   # model file missing or not a beatd model
        print(f"beatd: cannot load the model: {exc}", file=sys.stderr)
        return EX_CONFIG

    def on_signal(signum, frame):
        log.info("received %s, stopping", signal.Signals(signum).name)
        daemon.stop()

    def on_hup(signum, frame):
        if not args.config:
            log.info("SIGHUP: no config file to reload (started without --config)")
            return
        try:
            new = _load_config(args.config)
        except config_mod.ConfigError as exc:
            log.error("SIGHUP: config not reloaded, keeping the running one: %s", exc)
            return
        if args.device is not None:
            new.values["input"]["device"] = args.device
        daemon.request_reload(new)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_hup)
    daemon.start()
    print("READY", file=sys.stderr, flush=True)
    daemon.wait(args.duration)
    daemon.stop()
    daemon.join(timeout=2.0)
    s, clock = daemon.stats, daemon.clock
    log.info("stopped: %d frames, %d beats, %d overrun block(s), %d xrun(s), %d device "
             "loss(es), %d non-finite sample(s) replaced, %d worker wake-ups, %d late beat(s) "
             "(least lead %.1f ms); device clock %+.2f %% off its nominal rate, %d clock "
             "re-anchoring(s)", s.frames, s.beats, s.dropped_blocks, s.xruns,
             s.device_losses, s.nonfinite_samples, s.wakeups, s.late_beats, s.min_lead_ms,
             100.0 * (clock.actual_rate / clock.rate - 1.0), clock.resyncs)
    # Leave now: everything is closed or written, and native libraries' exit handlers (a JACK
    # client left behind by a stalled server) could otherwise hold the exit for seconds.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EX_OK)


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse a file with the same causal pipeline as the daemon, as fast as possible."""
    from .analyze import analyze_file, format_tempo, write_click, write_events
    from .file_source import AudioFileError, check_audio_file
    cfg = _load_config(args.config)
    _setup_logging(args.log_level or "warning")
    model = args.model or cfg.section("model")["path"] or None
    try:
        check_audio_file(args.file)      # a bad file is refused before the model loads
    except AudioFileError as exc:
        print(f"beatd: {exc}", file=sys.stderr)
        return EX_NOINPUT
    try:
        from .analyze import load_network, warm_up
        net = load_network(model)
        warm_up(net)
        startup_cpu = time.process_time()   # imports, model and kernels, since the process began
        fps = net.params.frame_rate
        res = analyze_file(args.file, network=net,
                           tracker_params=config_mod.tracker_params(cfg),
                           tempo_params=config_mod.tempo_params(cfg, fps),
                           gate_db=cfg.section("silence")["floor_db"],
                           network_reset_s=cfg.section("silence")["network_reset_s"],
                           tempo_hop_s=0.5 if args.tempo else 0.0,
                           keep_audio=bool(args.click))
    except AudioFileError as exc:
        print(f"beatd: {exc}", file=sys.stderr)
        return EX_NOINPUT
    except (OSError, ValueError) as exc:
        print(f"beatd: cannot load the model: {exc}", file=sys.stderr)
        return EX_CONFIG
    out = open(args.output, "w") if args.output else sys.stdout
    try:
        if args.tempo:
            out.write(format_tempo(res.tempo_curve, "json" if args.format == "json" else "text"))
            out.write("\n")
        else:
            write_events(res.events, out, args.format)
    finally:
        if out is not sys.stdout:
            out.close()
    if args.click:
        write_click(args.click, res.audio, res.sample_rate, res.events)
    total = res.timings.get("total_s", 0.0)
    print(f"# {len(res.events)} beats, {res.bpm:.1f} BPM, {res.duration:.1f} s of audio in "
          f"{total:.2f} s ({res.duration / max(total, 1e-9):.0f}x real time; start-up before it: "
          f"{startup_cpu:.1f} s CPU for imports, model and compiled kernels)", file=sys.stderr)
    return EX_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """Score beatd against ``.beats`` annotations; print a markdown table."""
    from .evaluate import beatd_predictor, evaluate_dirs
    cfg = _load_config(args.config)
    _setup_logging(args.log_level or "warning")
    for d in args.dirs:
        if not __import__("os").path.isdir(d):
            print(f"beatd: {d}: not a directory", file=sys.stderr)
            return EX_NOINPUT
    model = args.model or cfg.section("model")["path"] or None
    try:
        pred = beatd_predictor(model, config_mod.tracker_params(cfg), None,
                               cfg.section("silence")["floor_db"],
                               network_reset_s=cfg.section("silence")["network_reset_s"])
    except (OSError, ValueError) as exc:
        print(f"beatd: cannot load the model: {exc}", file=sys.stderr)
        return EX_CONFIG
    progress = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    ev = evaluate_dirs(args.dirs, pred, "beatd", progress)
    if not ev.files:
        print("beatd: no annotated audio (<name>.beats next to <name>.flac/.wav) found",
              file=sys.stderr)
        return EX_NOINPUT
    print(ev.markdown())
    if args.per_file:
        print()
        print(ev.per_file_markdown())
    return EX_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    """Terminal view: attach to a running daemon, or run an own pipeline on the default input."""
    import socket

    from rich.console import Console

    from .monitor import Monitor
    cfg = _load_config(args.config)
    osc = cfg.section("osc")
    host, port = osc["control_host"], osc["control_port"]
    if args.attach:
        host, _, p = args.attach.rpartition(":")
        host, port = host or "127.0.0.1", int(p)
    console = Console()
    daemon = None
    mon = Monitor(host, port, osc["control_prefix"]) if port else None
    if args.local or mon is None or not mon.alive(0.7):
        if args.attach:
            print(f"beatd: no daemon answers on {host}:{port}", file=sys.stderr)
            return EX_UNAVAILABLE
        if mon is not None:
            mon.close()
        from .audio_input import AudioDeviceError
        from .daemon import Daemon
        _setup_logging(args.log_level or "error")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
        s.close()
        cfg.values["osc"].update(enabled=False, control_host="127.0.0.1", control_port=free)
        cfg.values["midi"]["enabled"] = False
        cfg.values["link"]["enabled"] = False
        try:
            daemon = Daemon(cfg)
        except AudioDeviceError as exc:
            print(exc if exc.kind == "no_device" else f"beatd: {exc}", file=sys.stderr)
            return EX_UNAVAILABLE
        except (OSError, ValueError) as exc:
            print(f"beatd: cannot load the model: {exc}", file=sys.stderr)
            return EX_CONFIG
        daemon.start()
        mon = Monitor("127.0.0.1", free, osc["control_prefix"])
        mon.view.source = f"own pipeline on {daemon.device.name!r}"
    else:
        mon.view.source = f"daemon at {host}:{port}"
    try:
        mon.run(console, args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        mon.close()
        if daemon is not None:
            daemon.stop()
            daemon.join(2.0)
    return EX_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the README's examples)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", metavar="FILE",
                        help="config file (TOML); see config.toml for every key")
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p = argparse.ArgumentParser(prog="beatd", description="Real-time beat tracker daemon.")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("devices", help="list audio input devices", parents=[common])
    sp.set_defaults(func=cmd_devices)

    sp = sub.add_parser("run", help="run the daemon on the configured input",
                        parents=[common])
    sp.add_argument("--device", help="input device name or index (overrides input.device)")
    sp.add_argument("--duration", type=float, help="stop after this many seconds")
    sp.add_argument("--record", metavar="WAV", help="write the captured input here at exit")
    sp.add_argument("--dump-features", metavar="NPY", help="write all feature frames at exit")
    sp.add_argument("--events", metavar="FILE",
                    help="append each emitted beat (monotonic time, stream time, beat in bar, "
                    "BPM, confidence)")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("analyze", help="beats of an audio file (same causal pipeline)",
                        parents=[common])
    sp.add_argument("file", help="audio file (WAV, FLAC, OGG, MP3, ...)")
    sp.add_argument("--format", "-f", choices=["text", "csv", "json"], default="text",
                    help="text: time, beat in bar, BPM, confidence per line")
    sp.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    sp.add_argument("--click", metavar="OUT.wav", help="write the audio with clicks on the beats")
    sp.add_argument("--tempo", action="store_true",
                    help="print the tempo curve with its metrical candidates instead")
    sp.add_argument("--model", metavar="ONNX", help="model (default: [model] path / shipped)")
    sp.set_defaults(func=cmd_analyze)

    sp = sub.add_parser("monitor", help="terminal view of the beat (attach or own pipeline)",
                        parents=[common])
    sp.add_argument("--attach", metavar="HOST:PORT",
                    help="a daemon's OSC control address (default: the config's, if it answers)")
    sp.add_argument("--local", action="store_true",
                    help="always run an own pipeline on the configured input")
    sp.add_argument("--seconds", type=float, help="quit after this many seconds")
    sp.set_defaults(func=cmd_monitor)

    sp = sub.add_parser("eval", help="score against .beats annotations (mir_eval)",
                        parents=[common])
    sp.add_argument("dirs", nargs="+", metavar="DIR", help="folders of <id>.flac + <id>.beats")
    sp.add_argument("--model", metavar="ONNX", help="model (default: [model] path / shipped)")
    sp.add_argument("--per-file", action="store_true", help="also a row per file")
    sp.add_argument("--verbose", "-v", action="store_true", help="progress on stderr")
    sp.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``beatd`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except config_mod.ConfigError as exc:
        print(f"beatd: {exc}", file=sys.stderr)
        return EX_CONFIG


if __name__ == "__main__":
    sys.exit(main())
