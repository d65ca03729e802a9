"""beatd beside the causal reference trackers (madmom online, BeatNet online) on the dev set.

Usage::

    .venv/bin/python bench/compare_peers.py --cache-only --batch   # fill the peer cache first
    .venv/bin/python bench/compare_peers.py [--model models/X.onnx] [--data DIR]
        [--peers madmom-online beatnet-online] [--out FILE] [--only-cached]

Every tracker runs on the same files and is scored by :func:`realtime.evaluate.evaluate_files`
(same annotations, same metrics). Peer outputs are slow to compute, so they are cached under
``.cache/peers/<peer>/<folder>/<track>.txt`` (beat times) with the peer's timing line in ``.err``;
delete the cache to recompute. ``--cache-only`` runs ``run_peer.sh`` once per file;
``--cache-only --batch`` runs the same peer code in one process per peer (a fresh estimator per
file, same WAV conversion and thread settings; it saves BeatNet's minute of imports per file). The report has one table per folder, overall, and non-classical
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
sys.path.insert(0, str(ROOT / "bench"))

from common import emit  # noqa: E402

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


_BATCH = r"""
import os, sys, time, subprocess, tempfile
sys.path.insert(0, os.environ["PEERS_DIR"])
import peers_impl  # redirects fd 1 to stderr at import; results go to files
name, cache = sys.argv[1], sys.argv[2]
prep_mode, prepare = peers_impl.PEERS[name]()
for src in sys.argv[3:]:
    folder = os.path.basename(os.path.dirname(src))
    stem = os.path.splitext(os.path.basename(src))[0]
    out = os.path.join(cache, name, folder, stem + ".txt")
    if os.path.exists(out):
        continue
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "in.wav")
        subprocess.run(["sox", "-q", src, "-r", "44100", "-c", "1", "-b", "16", wav], check=True)
        t0 = time.perf_counter()
        run = prepare()  # a fresh estimator per file, as run_peer.sh's one process per file
        t1 = time.perf_counter()
        beats = sorted(float(b) for b in run(wav))
        t2 = time.perf_counter()
        audio_s = peers_impl.audio_seconds(wav)
    with open(out + ".tmp", "w") as f:
        f.write("".join("%.4f\n" % b for b in beats))
    with open(out[:-4] + ".err", "w") as f:
        f.write("# peer=%s mode=%s load_s=%.3f proc_s=%.3f audio_s=%.2f n=%d batch=1\n"
                % (name, prep_mode, t1 - t0, t2 - t1, audio_s, len(beats)))
    os.replace(out + ".tmp", out)
    sys.stderr.write("%s %s/%s: %d beats, proc %.1f s, audio %.1f s\n"
                     % (name, folder, stem, len(beats), t2 - t1, audio_s))
    sys.stderr.flush()
"""

PEER_PYTHON = {"madmom-online": "venv-madmom016", "madmom-offline": "venv-madmom016"}


def peer_python(name: str) -> tuple[Path, dict]:
    """The interpreter ``run_peer.sh`` uses for peer ``name`` (installed by the peers'
    INSTALL.sh) and the environment it runs under (one thread, the peers' caches)."""
    home = Path(os.environ.get("PEERS_HOME", Path.home() / ".cache" / "beat-peers"))
    py = home / PEER_PYTHON.get(name, "venv") / "bin" / "python"
    env = dict(os.environ, PEERS_DIR=str(RUN_PEER.parent), PYTHONWARNINGS="ignore",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               XDG_CACHE_HOME=str(home / "cache"), NUMBA_CACHE_DIR=str(home / "cache" / "numba"))
    return py, env


def cache_batch(name: str, files, cache: Path = CACHE) -> int:
    """Fill the cache for one peer in ONE process (imports paid once; BeatNet's take a minute
    on a busy machine), with a fresh estimator per file and the same code, WAV conversion and
    thread settings as ``run_peer.sh``. Returns the process's exit status."""
    py, env = peer_python(name)
    script = cache / "_batch_peer.py"
    cache.mkdir(parents=True, exist_ok=True)
    script.write_text(_BATCH)
    return subprocess.run([str(py), str(script), name, str(cache), *map(str, files)],
                          env=env).returncode


def peer_beats_on_signals(name: str, signals: dict, folder: Path, sample_rate: int,
                          cache: Path = CACHE) -> dict:
    """Beat times of peer ``name`` on in-memory signals: ``signals`` maps a key to (file name,
    mono samples); each is written once as 16-bit WAV under ``folder`` and run in one batch
    (cached like the dev files). Returns key -> beat times."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, (fname, y) in signals.items():
        paths[key] = folder / fname
        if not paths[key].is_file():
            sf.write(paths[key], np.clip(y, -1.0, 1.0), sample_rate, subtype="PCM_16")
    if cache_batch(name, list(paths.values()), cache) != 0:
        raise RuntimeError(f"{name} failed (install the peers: "
                           "cd ../shared/peers && bash INSTALL.sh)")
    return {key: peer_run(name, p, cache)[0] for key, p in paths.items()}


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
    cpu = tm.get("cpu_s", float("nan"))
    lines.append(f"| beatd analyze | {dur:.1f} | {wall:.2f} | {dur / wall:.0f}x | "
                 f"wall: read {tm['read_s']:.2f} s, frontend {tm['frontend_s']:.2f} s, network "
                 f"{tm['network_s']:.2f} s, tempo+tracker {tm['tracker_s']:.2f} s; CPU time "
                 f"{cpu:.2f} s = {dur / cpu:.0f}x real time (frontend "
                 f"{tm['frontend_cpu_s']:.2f}, network {tm['network_cpu_s']:.2f}, tempo+tracker "
                 f"{tm['tracker_cpu_s']:.2f}); in-process, one thread |")
    _, timing = peer_run("madmom-online", audio, cache, refresh=True)
    if timing:
        lines.append(f"| madmom-online | {timing['audio_s']:.1f} | {timing['proc_s']:.2f} | "
                     f"{timing['audio_s'] / timing['proc_s']:.1f}x | wall proc_s from "
                     f"run_peer.sh (excludes {timing['load_s']:.1f} s start-up) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--model", default=None, help="beatd model (default: the shipped one)")
    ap.add_argument("--peers", nargs="*", default=list(PEERS))
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--cache-only", action="store_true", help="only fill the peer cache")
    ap.add_argument("--batch", action="store_true",
                    help="with --cache-only: one process per peer (see cache_batch)")
    ap.add_argument("--only-cached", action="store_true",
                    help="score only the files that every peer has in the cache")
    ap.add_argument("--out", type=Path, default=None, help="also write the report here")
    ap.add_argument("--rtf-file", type=Path, default=None,
                    help="file for the real-time-factor comparison (default: osu/osu_circles)")
    args = ap.parse_args(argv)

    files = dev_files(args.data)
    if args.cache_only:
        files = sorted(files, key=lambda f: f.stat().st_size)  # many short files first
        if args.batch:
            for name in args.peers:
                cache_batch(name, files, args.cache)
        else:
            cache_all(args.peers, files, args.cache)
        return 0
    if args.only_cached:
        files = [f for f in files if all(
            (args.cache / n / f.parent.name / (f.stem + ".txt")).is_file() for n in args.peers)]

    from realtime.evaluate import beatd_predictor, compare_markdown, evaluate_files

    pairs = [(f, f.with_suffix(".beats")) for f in files]
    t0 = time.perf_counter()
    evals = [evaluate_files(pairs, beatd_predictor(args.model), name="beatd")]
    t_beatd = time.perf_counter() - t0
    for name in args.peers:
        evals.append(evaluate_files(pairs, peer_predictor(name, args.cache), name=name))
    report = [f"Dev set: {args.data} ({len(files)} files); model: "
              f"{args.model or 'default'}; beatd scoring run {t_beatd:.0f} s.", "",
              compare_markdown(evals)]
    default_rtf = args.data / "osu" / "osu_circles.flac"
    rtf_file = args.rtf_file or (default_rtf if default_rtf.is_file() else
                                 max(files, key=lambda f: f.stat().st_size))
    report += ["", f"Real-time factor on {rtf_file.parent.name}/{rtf_file.name}:", "",
               rtf_comparison(rtf_file, args.model, args.cache)]
    emit("\n".join(report), args.out)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
