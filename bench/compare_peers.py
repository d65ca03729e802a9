"""beatd beside the causal reference trackers (madmom online, BeatNet online) on the dev set.

Usage::

    .venv/bin/python bench/compare_peers.py [--model models/X.onnx] [--data DIR]
        [--peers madmom-online beatnet-online] [--out bench/results/compare.md] [--cache-only]

Every tracker runs on the same files and is scored by :func:`realtime.evaluate.evaluate_dirs`
(same annotations, same metrics). Peer outputs are slow to compute, so they are cached under
``.cache/peers/<peer>/<folder>/<track>.txt`` (beat times) with the peer's timing line in ``.err``;
delete the cache to recompute. The report has one table per folder, overall, and non-classical
(everything except GTZAN classical), plus the real-time factor of ``beatd analyze`` next to
madmom online's on the same file in the same run.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path("/work/shared/data/dev")
RUN_PEER = Path("/work/shared/peers/run_peer.sh")
CACHE = ROOT / ".cache" / "peers"
PEERS = ("madmom-online", "beatnet-online")
_TIMING = re.compile(r"#\s*peer=(\S+).*?load_s=([\d.]+)\s+proc_s=([\d.]+)\s+audio_s=([\d.]+)")


def dev_files(data: Path = DATA) -> list[Path]:
    """Annotated audio files of the dev set (those with a ``.beats`` next to them)."""
    return sorted(p for p in data.glob("*/*.flac") if p.with_suffix(".beats").is_file())


def peer_run(name: str, audio: Path, cache: Path = CACHE, timeout: float = 1800.0,
             refresh: bool = False) -> tuple[np.ndarray, dict]:
    """Beat times of peer ``name`` on ``audio`` (cached) and its timing line as a dict."""
    out = cache / name / audio.parent.name / (audio.stem + ".txt")
    err = out.with_suffix(".err")
    if refresh or not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([str(RUN_PEER), name, str(audio)], capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            err.write_text(proc.stderr)
            raise RuntimeError(f"{name} failed on {audio} (rc {proc.returncode}): "
                               f"{proc.stderr.strip()[-300:]}")
        tmp = out.with_suffix(".tmp")
        tmp.write_text(proc.stdout)
        err.write_text(proc.stderr)
        tmp.replace(out)
    times = [float(x) for x in out.read_text().split()]
    timing = {}
    if err.is_file():
        m = _TIMING.search(err.read_text())
        if m:
            timing = {"load_s": float(m.group(2)), "proc_s": float(m.group(3)),
                      "audio_s": float(m.group(4))}
    return np.asarray(times, np.float64), timing


def peer_predictor(name: str, cache: Path = CACHE):
    """A predictor for :func:`realtime.evaluate.evaluate_dirs` that returns the peer's beats."""
    from realtime.evaluate import Prediction

    def predict(audio: Path) -> Prediction:
        times, _ = peer_run(name, Path(audio), cache)
        return Prediction(times=times, bpm=None)
    predict.__name__ = name
    return predict


def cache_all(peers, files, cache: Path = CACHE) -> None:
    """Fill the peer cache (slow; one process per file, as the peers' README prescribes)."""
    for name in peers:
        for f in files:
            t0 = time.perf_counter()
            try:
                times, timing = peer_run(name, f, cache)
            except Exception as exc:  # keep going: one bad file should not stop the run
                print(f"{name} {f.name}: ERROR {exc}", flush=True)
                continue
            print(f"{name} {f.parent.name}/{f.name}: {len(times)} beats, "
                  f"{time.perf_counter() - t0:.1f} s {timing}", flush=True)


def rtf_comparison(audio: Path, model_path: str | None, cache: Path = CACHE) -> str:
    """``beatd analyze`` real-time factor next to madmom online's, same file, same run."""
    from realtime.analyze import analyze_file

    res = analyze_file(audio, model_path=model_path)  # warm-up (numba, onnxruntime)
    t0 = time.perf_counter()
    res = analyze_file(audio, model_path=model_path)
    wall = time.perf_counter() - t0
    dur = res.duration
    lines = ["| tracker | audio s | processing s | real-time factor | notes |",
             "|---|---:|---:|---:|---|"]
    tm = res.timings
    lines.append(f"| beatd analyze | {dur:.1f} | {wall:.2f} | {dur / wall:.0f}x | "
                 f"read {tm['read_s']:.2f} s, frontend {tm['frontend_s']:.2f} s, network "
                 f"{tm['network_s']:.2f} s, tempo+tracker {tm['tracker_s']:.2f} s; in-process, "
                 f"one thread |")
    _, timing = peer_run("madmom-online", audio, cache, refresh=True)
    if timing:
        lines.append(f"| madmom-online | {timing['audio_s']:.1f} | {timing['proc_s']:.2f} | "
                     f"{timing['audio_s'] / timing['proc_s']:.0f}x | proc_s from run_peer.sh "
                     f"(excludes {timing['load_s']:.1f} s start-up) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--model", default=None, help="beatd model (default: the shipped one)")
    ap.add_argument("--peers", nargs="*", default=list(PEERS))
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--cache-only", action="store_true", help="only fill the peer cache")
    ap.add_argument("--out", type=Path, default=None, help="also write the report here")
    ap.add_argument("--rtf-file", type=Path, default=None,
                    help="file for the real-time-factor comparison (default: longest dev file)")
    args = ap.parse_args(argv)

    files = dev_files(args.data)
    if args.cache_only:
        cache_all(args.peers, files, args.cache)
        return 0

    from realtime.evaluate import beatd_predictor, compare_markdown, evaluate_dirs

    dirs = sorted({f.parent for f in files})
    t0 = time.perf_counter()
    evals = [evaluate_dirs(dirs, beatd_predictor(args.model), name="beatd")]
    t_beatd = time.perf_counter() - t0
    for name in args.peers:
        evals.append(evaluate_dirs(dirs, peer_predictor(name, args.cache), name=name))
    report = [f"Dev set: {args.data} ({len(files)} files); model: "
              f"{args.model or 'default'}; beatd scoring run {t_beatd:.0f} s.", "",
              compare_markdown(evals)]
    rtf_file = args.rtf_file or max(files, key=lambda f: f.stat().st_size)
    report += ["", f"Real-time factor on {rtf_file.parent.name}/{rtf_file.name}:", "",
               rtf_comparison(rtf_file, args.model, args.cache)]
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
