"""Finding songs in a rhythm-game repository (a real git repository built in a temp folder)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from export.gather import Git, find_midi_pairs, find_osu

OSU = """osu file format v14

[General]
AudioFilename: {audio}

[Metadata]
Title:{title}
Artist:Someone

[TimingPoints]
0,500,4,2,0,100,1,0

[HitObjects]
256,192,0,1,0,0:0:0:0:
256,192,500,1,0,0:0:0:0:
"""


def _repo(tmp_path: Path, files: dict[str, bytes]) -> tuple[Git, dict]:
    work = tmp_path / "work"
    for name, data in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "songs"], check=True)
    g = Git(work / ".git")
    return g, g.tree("HEAD")


def test_an_osu_chart_whose_audio_was_renamed_uses_the_folders_only_audio_file(tmp_path):
    audio = bytes(range(256)) * 100  # 25.6 kB: above the LFS-pointer floor
    git, tree = _repo(tmp_path, {
        "named/a.osu": OSU.format(audio="song.mp3", title="Named").encode(),
        "named/song.mp3": audio,
        "renamed/a.osu": OSU.format(audio="song.mp3", title="Renamed").encode(),
        "renamed/audio.opus": audio,
        "ambiguous/a.osu": OSU.format(audio="song.mp3", title="Ambiguous").encode(),
        "ambiguous/x.ogg": audio,
        "ambiguous/y.ogg": audio,
    })
    found = {c.title: c.audio_paths for c in find_osu(tree, git)}
    assert found == {"Named": ["named/song.mp3"], "Renamed": ["renamed/audio.opus"]}


def test_midi_charts_kept_apart_from_their_audio_are_paired_by_name(tmp_path):
    audio = bytes(range(256)) * 100
    git, tree = _repo(tmp_path, {
        "processed/midi/Band - Song.mid": b"MThd",
        "processed/audio/Band - Song.ogg": audio,
        "processed/midi/Band - No Audio.mid": b"MThd",
        "processed/midi_other/Band - Song.mid": b"MThd",  # a derived copy: not a chart folder
    })
    found = [(c.chart_path, c.audio_paths, c.artist, c.title, c.chart_format)
             for c in find_midi_pairs(tree, git)]
    assert found == [("processed/midi/Band - Song.mid", ["processed/audio/Band - Song.ogg"],
                      "Band", "Song", "mid")]
