"""Gather real music with chart-derived beat grids from fetched rhythm-game repositories.

Usage::

    python -m export.gather --mirror /work/.mirror --out .cache/data/charts [--only NAME ...]

The repositories (owner/name and commit) are listed in ``export/chart_sources.txt``; each
must have been brought into ``<mirror>/<owner>+<name>/repo`` (a bare git directory) by the
fetch tool first.  For every source the script

1. lists the repository tree at the recorded commit and finds songs: StepMania
   ``.sm``/``.ssc`` with their music, osu! ``.osu`` with their audio, FNF ``Inst.ogg``
   (+ ``Voices.ogg``) with the song's chart JSON, Clone Hero ``notes.chart``/``notes.mid``
   with ``song.ogg`` or stems, MIDI charts in a ``midi/`` folder beside their audio in
   ``audio/`` (``midi_pairs``);
2. drops held-out songs (``/work/shared/data/heldout.md`` list, see :mod:`export.heldout`)
   and duplicates;
3. extracts the audio (stems are mixed to one ``.ogg`` with ffmpeg), parses the chart
   timing into a beat grid (:mod:`export.charts`), rejects gimmick timing, and checks the
   grid against the audio (:mod:`export.gridcheck`), applying the best constant offset;
4. writes ``<out>/<source>/<id>.<ext>``, ``<id>.beats`` and ``manifest.json``, and
   ``<out>/SUMMARY.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from export import charts
from export.heldout import HeldOut, norm

AUDIO_EXT = (".ogg", ".mp3", ".wav", ".opus", ".flac")
Tree = dict[str, tuple[str, int]]  # path -> (blob hash, size; -1 when absent)
SOURCES_FILE = Path(__file__).with_name("chart_sources.txt")


# ---------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------


@dataclass
class Source:
    """One repository used as a source.

    ``kind``: ``sm`` | ``osu`` | ``fnf`` | ``clonehero`` | ``midi_pairs``; ``commit``: the
    commit whose tree is read (a full hash); ``name``: output folder; ``licence``: as stated
    in the repo.
    """

    name: str
    repo: str
    commit: str
    kind: str
    licence: str = ""
    note: str = ""


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    """Read ``chart_sources.txt``: ``name kind owner/repo commit [licence...]`` per line."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 4)
        name, kind, repo, commit = parts[:4]
        lic = parts[4] if len(parts) > 4 else ""
        out.append(Source(name=name, repo=repo, commit=commit, kind=kind, licence=lic))
    return out


class Git:
    """Read-only access to a bare git directory."""

    def __init__(self, gitdir: Path) -> None:
        self.gitdir = gitdir

    def run(self, *args: str, binary: bool = False) -> bytes | str:
        r = subprocess.run(["git", "--git-dir", str(self.gitdir), *args], capture_output=True, check=True)
        return r.stdout if binary else r.stdout.decode("utf-8", "replace")

    def tree(self, commit: str) -> Tree:
        """path -> (blob hash, size or -1 when the blob is absent)."""
        raw = self.run("ls-tree", "-r", "-l", "-z", commit, binary=True)
        out: Tree = {}
        for rec in raw.split(b"\0"):
            if not rec:
                continue
            meta, path = rec.split(b"\t", 1)
            parts = meta.split()
            if parts[1] != b"blob":
                continue
            size = int(parts[3]) if parts[3].isdigit() else -1
            out[path.decode("utf-8", "replace")] = (parts[2].decode(), size)
        return out

    def has(self, blob: str) -> bool:
        r = subprocess.run(["git", "--git-dir", str(self.gitdir), "cat-file", "-e", blob], capture_output=True)
        return r.returncode == 0

    def blob(self, blob: str) -> bytes:
        return self.run("cat-file", "blob", blob, binary=True)  # type: ignore[return-value]

    def copy_out(self, dest_of: Callable[[str], Path | None],
                 commit: str = "HEAD") -> tuple[int, int]:
        """Write each file of ``commit``'s tree for which ``dest_of(path)`` names a destination
        -> (files written, files whose blob this git directory lacks: a partial snapshot)."""
        written = absent = 0
        for path, (blob, _) in self.tree(commit).items():
            out = dest_of(path)
            if out is None:
                continue
            if not self.has(blob):
                absent += 1
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(self.blob(blob))
            written += 1
        return written, absent


def gitdir_for(mirror: Path, repo: str) -> Path:
    base = mirror / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


# ---------------------------------------------------------------------------------------
# candidates
# ---------------------------------------------------------------------------------------


@dataclass
class Candidate:
    """A song found in a repository, before extraction."""

    key: str  # folder-ish name used for the track id
    chart_path: str
    chart_format: str  # sm | osu | fnf | fnf_meta | chart | mid
    audio_paths: list[str]
    title: str = ""
    artist: str = ""
    extra: dict = field(default_factory=dict)


def decode_text(b: bytes) -> str:
    """Decode chart bytes (UTF-8 with BOM, else cp1252/latin-1)."""
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return b.decode(enc)
        except UnicodeDecodeError:
            continue
    return b.decode("utf-8", "replace")


def _dirs(tree: Tree) -> dict[str, list[str]]:
    d: dict[str, list[str]] = {}
    for p in tree:
        d.setdefault(str(PurePosixPath(p).parent), []).append(p)
    return d


def _usable(tree: Tree, git: Git, p: str) -> bool:
    """True when the blob of ``p`` is present (audio must also exceed 20 kB: no LFS pointers)."""
    blob, size = tree[p]
    min_size = 20_000 if p.lower().endswith(AUDIO_EXT) else 1
    return size >= min_size and git.has(blob)


def find_sm(tree: Tree, git: Git) -> list[Candidate]:
    """StepMania songs: one per folder (.ssc preferred), music from ``#MUSIC`` or the folder."""
    out = []
    for d, files in _dirs(tree).items():
        charts_ = [f for f in files if f.lower().endswith((".ssc", ".sm"))]
        if not charts_:
            continue
        charts_.sort(key=lambda f: (not f.lower().endswith(".ssc"), len(f)))
        chart = charts_[0]
        text = decode_text(git.blob(tree[chart][0]))
        tags = charts.sm_tags(text)
        music = tags.get("MUSIC", "").strip()
        audio = None
        lower = {PurePosixPath(f).name.lower(): f for f in files}
        if music and music.lower() in lower and lower[music.lower()].lower().endswith(AUDIO_EXT):
            audio = lower[music.lower()]
        if audio is None:
            cands = [f for f in files if f.lower().endswith(AUDIO_EXT) and "preview" not in f.lower()]
            cands.sort(key=lambda f: -tree[f][1])
            audio = cands[0] if cands else None
        if audio is None or not _usable(tree, git, audio):
            continue
        out.append(
            Candidate(
                key=PurePosixPath(d).name or "root",
                chart_path=chart,
                chart_format="sm",
                audio_paths=[audio],
                title=tags.get("TITLE", ""),
                artist=tags.get("ARTIST", ""),
                extra={"text": text},
            )
        )
    return out


def _only_audio(files: list[str]) -> list[str]:
    """The audio file among a folder's ``files`` as a one-element list, or [] when there are
    none or several."""
    audio = [f for f in files if f.lower().endswith(AUDIO_EXT)]
    return audio if len(audio) == 1 else []


def find_osu(tree: Tree, git: Git) -> list[Candidate]:
    """osu! beatmap sets: one candidate per audio file (the difficulty with most objects)."""
    best: dict[str, tuple[int, str, str]] = {}
    dirs = _dirs(tree)
    for p in tree:
        if not p.lower().endswith(".osu"):
            continue
        text = decode_text(git.blob(tree[p][0]))
        m = re.search(r"^AudioFilename\s*:\s*(.+?)\s*$", text, re.M)
        if not m:
            continue
        d = str(PurePosixPath(p).parent)
        audio = str(PurePosixPath(d) / m.group(1)) if d != "." else m.group(1)
        match = [f for f in tree if f.lower() == audio.lower()]
        if not match:
            # some collections re-encode the audio under another name (audio.opus for the
            # mp3 the chart names): take the folder's only audio file; gridcheck re-fits the
            # offset a new encoder delay would add
            match = _only_audio(dirs[d])
        if not match or not _usable(tree, git, match[0]):
            continue
        n = text.count("\n", text.find("[HitObjects]")) if "[HitObjects]" in text else 0
        if match[0] not in best or n > best[match[0]][0]:
            best[match[0]] = (n, p, text)
    out = []
    for audio, (n, p, text) in best.items():
        meta = dict(re.findall(r"^(Title|Artist)\s*:\s*(.*?)\s*$", text, re.M))
        out.append(
            Candidate(
                key=PurePosixPath(p).parent.name or PurePosixPath(p).stem,
                chart_path=p,
                chart_format="osu",
                audio_paths=[audio],
                title=meta.get("Title", ""),
                artist=meta.get("Artist", ""),
                extra={"text": text},
            )
        )
    return out


def _fnf_chart_for(tree: Tree, song: str) -> tuple[str, str] | None:
    """Find the chart JSON of FNF song ``song``: (path, format)."""
    s = song.lower()
    jsons = [p for p in tree if p.lower().endswith(".json") and "/data/" in "/" + p.lower()]
    meta = [p for p in jsons if PurePosixPath(p).name.lower() == f"{s}-metadata.json"]
    if meta:
        return meta[0], "fnf_meta"
    pref = [f"{s}.json", f"{s}-hard.json", f"{s}-normal.json", f"{s}-easy.json"]
    for name in pref:
        hits = [p for p in jsons if PurePosixPath(p).name.lower() == name and PurePosixPath(p).parent.name.lower() == s]
        if hits:
            return sorted(hits, key=len)[0], "fnf"
    hits = [
        p
        for p in jsons
        if PurePosixPath(p).parent.name.lower() == s
        and PurePosixPath(p).name.lower().startswith(s)
        and "events" not in PurePosixPath(p).name.lower()
    ]
    if hits:
        return sorted(hits, key=len)[0], "fnf"
    return None


def find_fnf(tree: Tree, git: Git) -> list[Candidate]:
    """FNF songs: ``.../songs/<song>/Inst.ogg`` (+ ``Voices*.ogg``) with their chart JSON."""
    out = []
    seen = set()
    for p in sorted(tree):
        pp = PurePosixPath(p)
        if pp.name.lower() not in ("inst.ogg", "inst.mp3") or pp.parent.parent.name.lower() != "songs":
            continue
        song = pp.parent.name
        if song.lower() in seen or not _usable(tree, git, p):
            continue
        found = _fnf_chart_for(tree, song)
        if not found:
            continue
        chart, fmt = found
        voices = [
            f
            for f in tree
            if str(PurePosixPath(f).parent) == str(pp.parent)
            and PurePosixPath(f).name.lower().startswith("voices")
            and f.lower().endswith((".ogg", ".mp3"))
            and _usable(tree, git, f)
        ]
        # only the plain vocal track(s) (Voices.ogg or Voices-<char>.ogg), not variants
        voices = [v for v in voices if not re.search(r"voices.*(erect|pico|old|legacy)", v.lower())][:2]
        seen.add(song.lower())
        out.append(
            Candidate(key=song, chart_path=chart, chart_format=fmt, audio_paths=[p] + voices, title=song, extra={})
        )
    # drop old/legacy versions of songs that are also present in their current version
    def base(k: str) -> str:
        return re.sub(r"[^a-z0-9]+", "", re.sub(r"\b(old|legacy)\b", "", k.lower()))

    current = {base(c.key) for c in out if not re.search(r"\b(old|legacy)\b", c.key.lower())}
    return [c for c in out if not (re.search(r"\b(old|legacy)\b", c.key.lower()) and base(c.key) in current)]


STEM_NAMES = ("song", "guitar", "bass", "rhythm", "drums", "drums_1", "drums_2", "drums_3", "drums_4", "keys", "vocals", "vocals_1", "vocals_2")


def find_clonehero(tree: Tree, git: Git) -> list[Candidate]:
    """Clone Hero songs: folders with ``notes.chart`` or ``notes.mid`` and audio stems."""
    out = []
    for d, files in _dirs(tree).items():
        names = {PurePosixPath(f).name.lower(): f for f in files}
        chart = names.get("notes.chart") or names.get("notes.mid")
        if not chart:
            continue
        stems = [
            f
            for f in files
            if PurePosixPath(f).suffix.lower() in AUDIO_EXT and PurePosixPath(f).stem.lower() in STEM_NAMES
        ]
        if not stems or not all(_usable(tree, git, s) for s in stems):
            continue
        ini = {}
        if "song.ini" in names and _usable(tree, git, names["song.ini"]):
            for line in decode_text(git.blob(tree[names["song.ini"]][0])).splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    ini[k.strip().lower()] = v.strip()
        fmt = "chart" if chart.lower().endswith(".chart") else "mid"
        out.append(
            Candidate(
                key=PurePosixPath(d).name,
                chart_path=chart,
                chart_format=fmt,
                audio_paths=sorted(stems),
                title=ini.get("name", ""),
                artist=ini.get("artist", ""),
                extra={"ini": ini},
            )
        )
    return out


def find_midi_pairs(tree: Tree, git: Git) -> list[Candidate]:
    """Rhythm-game MIDI charts kept apart from their audio, as machine-learning datasets do:
    ``<root>/midi/<Artist - Title>.mid`` with ``<root>/audio/<Artist - Title>.<audio ext>``.
    The beat grid comes from the MIDI tempo map, as for Clone Hero's ``notes.mid``."""
    out = []
    audio = {}
    for p in tree:
        pp = PurePosixPath(p)
        if pp.parent.name.lower() == "audio" and pp.suffix.lower() in AUDIO_EXT:
            audio[(str(pp.parent.parent), pp.stem)] = p
    for p in sorted(tree):
        pp = PurePosixPath(p)
        if pp.parent.name.lower() != "midi" or pp.suffix.lower() != ".mid":
            continue
        a = audio.get((str(pp.parent.parent), pp.stem))
        if a is None or not _usable(tree, git, a) or not _usable(tree, git, p):
            continue
        artist, _, title = pp.stem.partition(" - ")
        if not title:
            artist, title = "", pp.stem
        out.append(Candidate(key=pp.stem, chart_path=p, chart_format="mid", audio_paths=[a],
                             title=title.strip(), artist=artist.strip()))
    return out


FINDERS = {"sm": find_sm, "osu": find_osu, "fnf": find_fnf, "clonehero": find_clonehero,
           "midi_pairs": find_midi_pairs}


# ---------------------------------------------------------------------------------------
# processing
# ---------------------------------------------------------------------------------------


def slug(s: str, n: int = 60) -> str:
    """ASCII file-name-safe id fragment."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return (s or "x")[:n]


def audio_duration(path: Path) -> float:
    """Duration in seconds (ffprobe)."""
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
    )
    try:
        return float(r.stdout.strip())
    except ValueError:
        return 0.0


def load_mono(path: Path, sr: int) -> np.ndarray:
    """Decode to mono float32 at ``sr`` with ffmpeg."""
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(sr), "-f", "f32le", "-"],
        capture_output=True,
    )
    return np.frombuffer(r.stdout, dtype=np.float32).copy()


def mix_stems(paths: list[Path], out: Path) -> None:
    """Mix audio stems into one Ogg Vorbis file (sum, then peak-safe limiting)."""
    args = ["ffmpeg", "-v", "error", "-y"]
    for p in paths:
        args += ["-i", str(p)]
    n = len(paths)
    filt = f"amix=inputs={n}:duration=longest:normalize=0,alimiter=limit=0.95"
    args += ["-filter_complex", filt, "-ac", "2", "-c:a", "libvorbis", "-q:a", "5", str(out)]
    subprocess.run(args, check=True, capture_output=True)


def parse_grid(c: Candidate, text_or_bytes: str | bytes, duration: float, tmpdir: Path) -> charts.BeatGrid:
    """Beat grid of a candidate's chart for an audio of length ``duration``."""
    if c.chart_format == "sm":
        return charts.parse_sm(text_or_bytes, duration)
    if c.chart_format == "osu":
        return charts.parse_osu(text_or_bytes, duration)
    if c.chart_format == "fnf":
        return charts.parse_fnf(text_or_bytes, duration)
    if c.chart_format == "fnf_meta":
        return charts.parse_fnf_metadata(text_or_bytes, duration)
    if c.chart_format == "chart":
        return charts.parse_chart(text_or_bytes, duration)
    if c.chart_format == "mid":
        p = tmpdir / "notes.mid"
        p.write_bytes(text_or_bytes)
        return charts.parse_midi_tempo(str(p), duration)
    raise ValueError(c.chart_format)


def apply_ini_delay(grid: charts.BeatGrid, ini: dict, duration: float) -> float:
    """Clone Hero ``song.ini`` ``delay`` (ms): the chart starts that much later in the audio."""
    try:
        d = float(ini.get("delay", 0) or 0) / 1000.0
    except ValueError:
        d = 0.0
    if d:
        keep = [(t + d, b) for t, b in zip(grid.times, grid.beat_in_bar) if 0 <= t + d <= duration]
        grid.times = [t for t, _ in keep]
        grid.beat_in_bar = [b for _, b in keep]
    return d


def title_key(kind: str, c: Candidate) -> str:
    """Key for dropping the same song found in several repositories (FNF mods copy songs)."""
    if kind == "fnf":
        return "fnf:" + norm(c.key).replace(" ", "")
    return f"{kind}:{norm(c.title or c.key)}|{norm(c.artist)}"


def process_source(
    src: Source, mirror: Path, out_root: Path, heldout: HeldOut, seen_audio: set[str], log=print
) -> dict:
    """Process one source; writes its folder and returns its manifest.

    ``seen_audio`` holds audio keys and song-title keys already kept (by other sources);
    candidates matching one are dropped as duplicates.
    """
    from export.gridcheck import SR, check_grid

    git = Git(gitdir_for(mirror, src.repo))
    tree = git.tree(src.commit)
    cands = FINDERS[src.kind](tree, git)
    outdir = out_root / src.name
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "source": src.name,
        "kind": src.kind,
        "repo": src.repo,
        "commit": src.commit,
        "licence": src.licence,
        "tracks": [],
        "rejected": [],
    }
    used_ids: set[str] = set()
    keep_files: set[str] = {"manifest.json"}
    for c in sorted(cands, key=lambda c: c.key.lower()):
        if c.key == "root":  # a single-song repository
            c.key = src.repo.split("/")[1]
        tid = slug(c.key)
        while tid in used_ids:
            tid += "_"
        used_ids.add(tid)
        title = c.title or c.key
        hit = heldout.match(title, c.artist, c.key, fnf=src.kind == "fnf")
        if hit:
            manifest["rejected"].append({"id": tid, "path_in_repo": c.chart_path, "reason": f"held out: {hit}"})
            continue
        audio_hash = hashlib.sha1("".join(tree[a][0] for a in c.audio_paths).encode()).hexdigest()
        tkey = title_key(src.kind, c)
        if audio_hash in seen_audio or tkey in seen_audio:
            manifest["rejected"].append({"id": tid, "path_in_repo": c.chart_path, "reason": "duplicate song"})
            continue
        t0 = time.time()
        with tempfile.TemporaryDirectory() as td:
            tdp = Path(td)
            paths = []
            for i, a in enumerate(c.audio_paths):
                p = tdp / f"stem{i}{PurePosixPath(a).suffix.lower()}"
                p.write_bytes(git.blob(tree[a][0]))
                paths.append(p)
            if len(paths) == 1:
                ext = paths[0].suffix
                audio_out = outdir / f"{tid}{ext}"
                shutil.copyfile(paths[0], audio_out)
            else:
                audio_out = outdir / f"{tid}.ogg"
                try:
                    mix_stems(paths, audio_out)
                except subprocess.CalledProcessError as e:
                    manifest["rejected"].append({"id": tid, "path_in_repo": c.chart_path, "reason": f"mix failed: {e.stderr[-200:]!r}"})
                    continue
            duration = audio_duration(audio_out)

            def reject(reason: str, check: dict | None = None) -> None:
                audio_out.unlink(missing_ok=True)
                r = {"id": tid, "path_in_repo": c.chart_path, "title": title, "reason": reason}
                if check:
                    r["check"] = check
                manifest["rejected"].append(r)
                log(f"  reject {tid}: {reason}")

            if duration < 30:
                reject(f"audio too short ({duration:.1f}s)")
                continue
            raw = git.blob(tree[c.chart_path][0])
            try:
                grid = parse_grid(c, raw if c.chart_format == "mid" else decode_text(raw), duration, tdp)
            except Exception as e:  # malformed chart
                reject(f"chart parse error: {type(e).__name__}: {e}")
                continue
            if c.chart_format in ("chart", "mid"):
                c.extra["ini_delay_s"] = apply_ini_delay(grid, c.extra.get("ini", {}), duration)
            gim = charts.gimmick_reasons(grid)
            if gim:
                reject("gimmick timing: " + "; ".join(gim))
                continue
            y = load_mono(audio_out, SR)
            res = check_grid(y, np.asarray(grid.times))
            if not res.ok:
                reject(res.reason, res.as_dict())
                continue
        times = np.asarray(grid.times) + res.offset_s
        keep = (times >= 0) & (times <= duration)
        times = times[keep]
        bib = charts.normalise_bars([b for b, k in zip(grid.beat_in_bar, keep) if k])
        beats_path = outdir / f"{tid}.beats"
        beats_path.write_text("".join(f"{t:.4f}\t{b}\n" for t, b in zip(times, bib)))
        ibi = np.diff(times)
        local_bpm = 60.0 / ibi[ibi > 0] if len(ibi) else np.array([0.0])
        seen_audio.add(audio_hash)
        seen_audio.add(tkey)
        keep_files.update({audio_out.name, beats_path.name})
        manifest["tracks"].append(
            {
                "id": tid,
                "audio": audio_out.name,
                "repo": src.repo,
                "path_in_repo": c.chart_path,
                "audio_in_repo": c.audio_paths,
                "commit": src.commit,
                "title": title,
                "artist": c.artist or grid.info.get("artist", ""),
                "licence": src.licence,
                "chart_format": c.chart_format,
                "duration_s": round(duration, 3),
                "bpm_min": round(float(np.percentile(local_bpm, 1)), 2),
                "bpm_max": round(float(np.percentile(local_bpm, 99)), 2),
                "chart_bpms": sorted({round(b, 3) for b in grid.bpms})[:50],
                "n_stops": grid.n_stops,
                "n_beats": int(len(times)),
                "n_downbeats": int(sum(1 for b in bib if b == 1)),
                "applied_offset_s": round(res.offset_s, 4),
                "audio_key": audio_hash,
                "title_key": tkey,
                "check": res.as_dict(),
                **({"ini_delay_s": c.extra["ini_delay_s"]} if c.extra.get("ini_delay_s") else {}),
            }
        )
        log(f"  keep {tid}: {duration:.0f}s off={res.offset_s*1000:+.0f}ms contrast={res.contrast:.2f} drift={res.drift_s*1000:.0f}ms"
            f"{' off-beat heavy' if res.offbeat_heavy else ''} ({time.time()-t0:.1f}s)")
    # remove files of tracks no longer kept (re-runs)
    for f in outdir.iterdir():
        if f.name not in keep_files:
            f.unlink()
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def write_summary(out_root: Path, sources: list[Source]) -> None:
    """(Re)write ``SUMMARY.md`` from all manifests under ``out_root``."""
    lines = ["# Chart-derived beat data (training only)", ""]
    lines.append("Generated by `python -m export.gather`; sources listed in `export/chart_sources.txt`.")
    lines.append("Every grid: chart timing -> beats, gimmick filter, onset check (best offset within +-80 ms")
    lines.append("applied, contrast vs other beat phases >= 1.3, half-beat-shifted grid not stronger than")
    lines.append("1.25x (unless the eighth-note grid fits and the kick band favours the beats: off-beat")
    lines.append("heavy), first/last-third offsets within 25 ms). Details and limits: see the notes below.")
    lines.append("Not for evaluation: held-out songs/repositories were filtered out (`export/heldout.py`).")
    lines.append("")
    lines.append("| source | repo @ commit | kept | rejected | hours |")
    lines.append("|---|---|---|---|---|")
    total = 0.0
    n_total = 0
    by_kind: dict[str, float] = {}
    reasons_all: dict[str, dict[str, int]] = {}
    bpm_all: list[float] = []
    for man_path in sorted(out_root.glob("*/manifest.json")):
        m = json.loads(man_path.read_text())
        h = sum(t["duration_s"] for t in m["tracks"]) / 3600
        bpm_all.extend(0.5 * (t["bpm_min"] + t["bpm_max"]) for t in m["tracks"])
        total += h
        n_total += len(m["tracks"])
        by_kind[m.get("kind", "?")] = by_kind.get(m.get("kind", "?"), 0.0) + h
        lines.append(f"| {m['source']} | {m['repo']} @ {m['commit'][:10]} | {len(m['tracks'])} | {len(m['rejected'])} | {h:.2f} |")
        rs: dict[str, int] = {}
        for r in m["rejected"]:
            key = re.sub(r"[\d.]+", "#", r["reason"].split(":")[0] if r["reason"].startswith(("held out", "gimmick", "chart parse")) else r["reason"])
            rs[key] = rs.get(key, 0) + 1
        reasons_all[m["source"]] = rs
    lines.append(f"| **total** | | {n_total} | | **{total:.2f}** |")
    lines.append("")
    lines.append("Hours by game: " + ", ".join(f"{k}: {v:.2f} h" for k, v in sorted(by_kind.items())))
    if bpm_all:
        q = np.percentile(bpm_all, [5, 25, 50, 75, 95])
        lines.append(
            "Main tempo of the kept grids (BPM, 5/25/50/75/95 %): " + " / ".join(f"{v:.0f}" for v in q)
            + " (chart beat level, not octave-normalised)."
        )
    lines.append("")
    lines.append("## Rejections by reason")
    for s, rs in reasons_all.items():
        if rs:
            lines.append(f"- **{s}**: " + "; ".join(f"{k} x{v}" for k, v in sorted(rs.items(), key=lambda kv: -kv[1])))
    lines.append("")
    notes = out_root / "NOTES.md"
    if notes.exists():
        lines.append(notes.read_text())
    (out_root / "SUMMARY.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path(".cache/data/charts"))
    ap.add_argument("--heldout", type=Path, default=Path("/work/shared/data/heldout.md"))
    ap.add_argument("--only", nargs="*", help="source names to (re)process")
    args = ap.parse_args(argv)
    sources = load_sources()
    heldout = HeldOut.from_markdown(args.heldout)
    args.out.mkdir(parents=True, exist_ok=True)
    # audio already kept by other sources (to drop duplicates across repositories)
    seen: set[str] = set()
    for man in args.out.glob("*/manifest.json"):
        if args.only and man.parent.name in args.only:
            continue
        for t in json.loads(man.read_text())["tracks"]:
            seen.update((t.get("audio_key", ""), t.get("title_key", "")))
    seen.discard("")
    for src in sources:
        if args.only and src.name not in args.only:
            continue
        if heldout.repo_is_heldout(src.repo):
            print(f"skip held-out repository {src.repo}", file=sys.stderr)
            continue
        if not gitdir_for(args.mirror, src.repo).exists():
            print(f"skip {src.name}: {src.repo} not fetched", file=sys.stderr)
            continue
        print(f"== {src.name} ({src.repo})", flush=True)
        process_source(src, args.mirror, args.out, heldout, seen, log=lambda s: print(s, flush=True))
        write_summary(args.out, sources)
    write_summary(args.out, sources)
    return 0


if __name__ == "__main__":
    sys.exit(main())
