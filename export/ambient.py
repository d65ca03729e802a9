"""Real recordings of sound without music: negatives for the music head (training side).

The music head (:mod:`export.music_head`) was first fitted with synthetic sound without a beat
only (noise, hum, unrhythmic talk, random claps and clicks), and on sound it never heard
(babble, crowds, applause, a fan) it says "music" often enough that the tracker's music gate
opens there. This module brings in recorded ambience and read speech from public repositories
(fetched with the search tool's ``fetch`` into git mirrors), keeps the classes and files that
are neither music, rhythmic nor of an evaluation-only kind (:data:`export.synth.UNSEEN_NO_BEAT_KINDS`
and ``UNSEEN_NO_BEAT_KINDS_2`` stay unseen at category level), and caches their frontend
features.

Sources (:data:`SOURCES`): ``ruiiwang/noise_dataset`` (ambience from ambient-mixer.com, mostly
Freesound uploads; no licence stated; 16 kHz) and ``PhilippMatthes/dc_tts`` (one speaker reading,
44.1 kHz; Apache-2.0).

    python -m export.ambient --mirror /work/.mirror/ruiiwang+noise_dataset/repo \\
        --mirror /work/.mirror/PhilippMatthes+dc_tts/repo

Data stays in ignored caches: ``.cache/data/ambient/<owner+name>/`` (audio) and
``.cache/features/ambient-v1`` (features).
"""
from __future__ import annotations

import argparse
import re
import zlib
from pathlib import Path

import numpy as np

from export import dataset as D

AMBIENT_DIR = D.ROOT / ".cache" / "data" / "ambient"
AMBIENT_VERSION = "ambient-v1"

# repository -> (licence, audio paths taken); folder = class
SOURCES = {
    "ruiiwang/noise_dataset": (
        "none stated (ambient-mixer.com clips)",
        re.compile(r"^(bathroom|beach|fire|kitchen|transport|wind)/[^/]+\.wav$")),
    "PhilippMatthes/dc_tts": ("Apache-2.0", re.compile(r"^LJSpeech-1\.1/wavs/[^/]+\.wav$")),
}
# file names that say music, a game, a rhythm, or an evaluation-only kind (matched lower-case)
EXCLUDE = re.compile(
    r"music|song|band|apex|cosmic|loop|chime|jingl|clang|footstep|walking|chopping|cutting|"
    r"horse|carriage|hevosk|cartwheel|wheels|train|subway|underground|streetcar|railway|loco|"
    r"rowing|siren|shak|mortar|\brain\b|traffic|\bfan\b|dryer|extractor|stands|applause|"
    r"crowd|babble|typing|vacuum|hiss|restaurant|caf[eé]|kids|stir9|tape transport")


def mirror_repo(mirror: Path) -> str:
    """``owner/name`` of a fetched mirror (``/work/.mirror/owner+name/repo``)."""
    return mirror.resolve().parent.name.replace("+", "/", 1)


def keep(repo: str, path: str) -> bool:
    """Whether ``path`` of ``repo`` is taken (its source's pattern, and no excluded word)."""
    if repo not in SOURCES:
        return False
    return bool(SOURCES[repo][1].match(path)) and not EXCLUDE.search(Path(path).name.lower())


def extract(mirror: Path, dest: Path = AMBIENT_DIR) -> tuple[int, int]:
    """Copy the kept audio files out of a git mirror -> (copied, missing from the snapshot)."""
    from export.gather import Git

    repo = mirror_repo(mirror)
    out = dest / repo.replace("/", "+")
    return Git(mirror).copy_out(lambda name: out / name if keep(repo, name) else None)


def ambient_files(root: Path = AMBIENT_DIR) -> list[Path]:
    """Every kept audio file under ``root`` (sorted), re-checked against :func:`keep`."""
    out = []
    for p in sorted(root.glob("*/**/*.wav")):
        repo_dir = p.relative_to(root).parts[0]
        if keep(repo_dir.replace("+", "/", 1), p.relative_to(root / repo_dir).as_posix()):
            out.append(p)
    return out


def _one(path: str) -> str:
    """Features of one file, cached by its path (empty string when unreadable)."""
    import soundfile as sf

    f = D.FEATURE_DIR / AMBIENT_VERSION / f"{zlib.crc32(path.encode()):08x}.npz"
    if f.exists():
        return str(f)
    try:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError):
        return ""
    y = np.nan_to_num(y.mean(axis=1))
    if len(y) < sr:
        return ""
    D.save_npz(f, logmel=D.logmel_of(y, sr), sample_rate=np.array(sr))
    return str(f)


def ambient_tracks(root: Path = AMBIENT_DIR, workers: int = 2,
                   progress: bool = True) -> list[D.Track]:
    """The kept files as beatless tracks (source ``ambient``; class = first folder)."""
    files = ambient_files(root)
    paths = D.map_jobs(_one, [str(p) for p in files], workers, "ambient", progress)
    empty = np.zeros(0, np.float64)
    out = []
    for p, f in zip(files, paths):
        if not f:
            continue
        z = np.load(f)
        rel = p.relative_to(root)
        out.append(D.Track(f"ambient/{rel.as_posix()}", "ambient", z["logmel"], empty,
                           np.zeros(0, bool), True, True, -1, "train",
                           {"class": rel.parts[1], "sample_rate": int(z["sample_rate"]),
                            "licence": SOURCES[rel.parts[0].replace("+", "/", 1)][0]}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, action="append", default=[],
                    help="git directory of a fetched source repository (repeatable)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    for m in a.mirror:
        n, missing = extract(m)
        print(f"[ambient] {mirror_repo(m)}: {n} files kept, {missing} absent from the snapshot")
    tracks = ambient_tracks(workers=a.workers)
    by: dict[str, float] = {}
    for t in tracks:
        key = f"{t.name.split('/')[1]} {t.meta['class']}"
        by[key] = by.get(key, 0.0) + t.n_frames / D.PARAMS.frame_rate / 3600
    for k, h in sorted(by.items()):
        print(f"[ambient] {k}: {h:.2f} h")
    print(f"[ambient] {len(tracks)} files, {sum(by.values()):.2f} h")


if __name__ == "__main__":
    main()
