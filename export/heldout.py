"""Held-out songs and repositories (never used for training).

Parses ``/work/shared/data/heldout.md`` and matches candidate songs by normalised title
(case, punctuation, accents and bracketed suffixes removed).  Matching is deliberately
conservative: a candidate is rejected when a held-out title occurs as a whole-word run
inside its title or folder name, and for FNF mods when the song id equals a base-game
song (with or without ``-erect``), contains one as a word, or contains a base-game name of
six or more letters anywhere (``tutoriality``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# base-game FNF songs (weeks 1-7, Weekend 1); the md file lists them too, this is a floor
FNF_BASE = (
    "2hot blammed blazin bopeebo cocoa dad-battle dadbattle darnell eggnog fresh guns high lit-up "
    "milf monster philly-nice philly pico roses satin-panties senpai south spookeez stress test thorns "
    "tutorial ugh winter-horrorland"
).split()

# songs built from held-out base-game songs under another name (mashups, parodies, covers)
DERIVED = ("spokeebo", "testtest", "bopeebo", "boopbeepo", "fresh", "tutoriel", "week2test")

# engine calibration tracks (click tracks), not music
NOT_MUSIC = ("offsettest", "offset test", "metronome")

HELDOUT_REPOS = {
    "hodobox/stepmania-songs",
    "fnfgo/fnf",
    "tylertehidiot/psych-engine-android-week7",
    "newmidnightxd/weekend1portbugfixtest",
    "muthu1993/inteliq",
    "muthu1993/inteleq",
    "tempobeatdownbeat/gtzan_tempo_beat",
    "cpjku/ballroomannotations",
    "mir-dataset-loaders/mirdata",
    "stepmania/stepmania",
    "ppy/osu-resources",
}


def norm(s: str) -> str:
    """Lower-case ASCII words separated by single spaces."""
    s = unicodedata.normalize("NFKD", s or "").encode("ascii", "ignore").decode().lower()
    s = s.replace("$", "s").replace("&", " and ")
    s = re.sub(r"['\u2019`]", "", s)
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return " ".join(s.split())


@dataclass
class HeldOut:
    """Held-out titles (StepMania community songs) and FNF base-game songs."""

    titles: list[tuple[str, str]] = field(default_factory=list)  # (title, artist) normalised
    fnf: set[str] = field(default_factory=set)  # normalised song ids without "erect"

    @classmethod
    def from_markdown(cls, path: Path) -> "HeldOut":
        text = Path(path).read_text(encoding="utf-8")
        h = cls()
        section = ""
        for line in text.splitlines():
            if line.startswith("## "):
                section = line.lower()
                continue
            if "stepmania" in section and line.startswith("- "):
                item = line[2:]
                title, _, artist = item.partition("—")
                t = norm(re.sub(r"[「(].*?[」)]", "", title)) or norm(title)
                h.titles.append((t, norm(artist)))
                if " - " in title and len(norm(title.split(" - ")[0])) >= 5:
                    h.titles.append((norm(title.split(" - ")[0]), norm(artist)))
            elif "friday night funkin" in section and line.strip() and not line.startswith("#"):
                for name in line.split(","):
                    n = norm(name.replace("erect", ""))
                    if n:
                        h.fnf.add(n)
        for n in FNF_BASE:
            h.fnf.add(norm(n))
        return h

    def match(self, title: str, artist: str = "", key: str = "", fnf: bool = False) -> str:
        """Return the held-out entry that ``title``/``key`` matches, or ``""``."""
        cands = {norm(title), norm(key)}
        cands.discard("")
        for c in cands:
            padded = f" {c} "
            for t, a in self.titles:
                if t and f" {t} " in padded:
                    return f"{t} ({a})"
        if fnf:
            for c in cands:
                c2 = norm(c.replace("erect", ""))
                words = c2.split()
                joined = c2.replace(" ", "")
                for n in self.fnf:
                    nj = n.replace(" ", "")
                    if c2 == n or joined == nj or (f" {n} " in f" {c2} ") or nj in words:
                        return f"FNF base song {n}"
                    if len(nj) >= 6 and nj in joined:  # e.g. "tutoriality", "bopeeboremix"
                        return f"FNF name contains base song {n}"
                for d in NOT_MUSIC:
                    if d.replace(" ", "") in joined:
                        return f"not music: {d}"
                for d in DERIVED:
                    if d in joined:
                        return f"FNF derived from base song ({d})"
        return ""

    @staticmethod
    def repo_is_heldout(repo: str) -> bool:
        r = repo.lower()
        if r in HELDOUT_REPOS:
            return True
        # copies of the Frets on Fire game songs (Debian's fretsonfire-songs)
        return "fretsonfire" in r.replace("-", "").replace("_", "") or "frets-on-fire" in r
