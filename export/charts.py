"""Beat grids from rhythm-game chart timing data.

Every parser turns the timing section of a chart into a :class:`BeatGrid`: a list of
beat times (seconds, audio time) and the position of each beat in its bar (1 = downbeat).

Supported formats
-----------------
* StepMania ``.sm`` / ``.ssc``: ``#OFFSET`` (beat 0 is at ``-OFFSET`` seconds), ``#BPMS``,
  ``#STOPS`` / ``#FREEZES``, ``#DELAYS``, ``#WARPS``, ``#TIMESIGNATURES``.
* osu! ``.osu``: ``[General] AudioFilename`` and uninherited ``[TimingPoints]``
  (offset in ms, beat length in ms, meter).
* Friday Night Funkin' chart JSON: legacy ``song.bpm`` + sections (``changeBPM``/``bpm``,
  ``lengthInSteps``/``sectionBeats``) and the v0.3+ metadata ``timeChanges``.
* Clone Hero / Moonscraper ``.chart``: ``[Song] Offset/Resolution`` and ``[SyncTrack]``
  ``B`` / ``TS`` events.
* MIDI ``notes.mid`` tempo maps (via :mod:`mido`).

The parsers only read timing; they also report features that the gatherer uses to reject
gimmick charts (negative BPMs, warps, many stops, absurd tempi).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = [
    "BeatGrid",
    "grid_from_segments",
    "parse_sm",
    "parse_osu",
    "parse_fnf",
    "parse_fnf_metadata",
    "parse_chart",
    "parse_midi_tempo",
    "gimmick_reasons",
    "normalise_bars",
]


@dataclass
class BeatGrid:
    """A beat grid derived from chart timing.

    Attributes:
        times: beat times in seconds (audio time), increasing.
        beat_in_bar: 1-based position of each beat in its bar (1 = downbeat).
        bpms: the BPM values of the tempo segments (as charted).
        n_stops: number of stops / delays / pauses in the chart.
        warps: True if the chart skips beats (warps, negative BPMs or negative stops).
        info: format-specific extras (title, artist, audio file name, ...).
    """

    times: list[float]
    beat_in_bar: list[int]
    bpms: list[float] = field(default_factory=list)
    n_stops: int = 0
    stop_total_s: float = 0.0
    warps: bool = False
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.times)

    def to_lines(self) -> str:
        """The ``.beats`` text: ``time<TAB>beat_in_bar`` per line."""
        return "".join(f"{t:.6f}\t{b}\n" for t, b in zip(self.times, self.beat_in_bar))


# ---------------------------------------------------------------------------------------
# generic machinery: beats (in chart beat units) -> seconds, with stops/delays
# ---------------------------------------------------------------------------------------


def _beat_to_time_fn(
    beat0_time: float,
    bpms: Sequence[tuple[float, float]],
    stops: Sequence[tuple[float, float]] = (),
    delays: Sequence[tuple[float, float]] = (),
):
    """Return ``f(beat) -> seconds`` for a StepMania-like timing model.

    ``bpms``: (beat, bpm) change points (the first applies from -inf).
    ``stops``: (beat, seconds) pauses that happen *after* the note at ``beat``.
    ``delays``: (beat, seconds) pauses that happen *before* the note at ``beat``.
    """
    pts = sorted((float(b), float(v)) for b, v in bpms)
    if not pts:
        raise ValueError("no BPM")
    # cumulative time (without pauses) at each change point, measured from beat 0
    starts = [pts[0][0]]
    cum = [0.0]
    for i in range(1, len(pts)):
        b_prev, bpm_prev = pts[i - 1]
        b, _ = pts[i]
        cum.append(cum[-1] + (b - b_prev) * 60.0 / bpm_prev)
        starts.append(b)
    # shift so that beat 0 is at 0 s (before pauses)
    def raw(beat: float) -> float:
        i = 0
        lo, hi = 0, len(starts) - 1
        if beat < starts[0]:
            return cum[0] + (beat - starts[0]) * 60.0 / pts[0][1]
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= beat:
                lo = mid
            else:
                hi = mid - 1
        i = lo
        return cum[i] + (beat - starts[i]) * 60.0 / pts[i][1]

    zero = raw(0.0)
    stops_s = sorted((float(b), float(d)) for b, d in stops)
    delays_s = sorted((float(b), float(d)) for b, d in delays)
    eps = 1e-6

    def f(beat: float) -> float:
        t = beat0_time + raw(beat) - zero
        for b, d in stops_s:
            if b < beat - eps:
                t += d
        for b, d in delays_s:
            if b <= beat + eps:
                t += d
        # pauses before beat 0 shift beat 0 itself? StepMania counts them from beat 0;
        # pauses at negative beats are rare and treated like the others.
        return t

    return f


def grid_from_segments(
    beat_time,
    bar_starts: Sequence[tuple[float, int]],
    t_min: float,
    t_max: float,
    beat_min: float | None = None,
    beat_max: float | None = None,
) -> tuple[list[float], list[int]]:
    """Sample a monotone ``beat_time`` function at integer beats within ``[t_min, t_max]``.

    Args:
        beat_time: ``f(beat) -> seconds``.
        bar_starts: (beat, beats_per_bar) meter changes; a bar starts at each listed beat
            and every ``beats_per_bar`` beats after it.  Sorted by beat.
        t_min, t_max: time range to keep (usually 0 .. audio duration).
        beat_min, beat_max: optional beat range (defaults: found from the time range).
    Returns:
        (times, beat_in_bar)
    """
    meters = sorted(bar_starts) if bar_starts else [(0.0, 4)]
    if beat_min is None:
        # walk back from 0 until before t_min (monotone)
        b = 0
        while beat_time(b) > t_min and b > -10000:
            b -= 1
        beat_min = b
    if beat_max is None:
        b = max(0, int(math.floor(beat_min)))
        # coarse forward search
        while beat_time(b) < t_max and b < 200000:
            b += 1
        beat_max = b
    times: list[float] = []
    bib: list[int] = []
    for b in range(int(math.ceil(beat_min - 1e-9)), int(math.floor(beat_max + 1e-9)) + 1):
        t = beat_time(float(b))
        if t < t_min - 1e-9 or t > t_max + 1e-9:
            continue
        # meter in force at beat b
        m_beat, m_n = meters[0]
        for mb, mn in meters:
            if mb <= b + 1e-6:
                m_beat, m_n = mb, mn
            else:
                break
        pos = int(round(b - m_beat)) % max(1, m_n)
        if times and t <= times[-1] + 1e-4:
            # a beat swallowed by a warp / zero-length segment: keep the later one only
            times.pop()
            bib.pop()
        times.append(t)
        bib.append(pos + 1)
    return times, bib


# ---------------------------------------------------------------------------------------
# StepMania
# ---------------------------------------------------------------------------------------

_SM_TAG = re.compile(r"#([A-Za-z0-9_]+)\s*:(.*?);", re.S)


def _strip_sm_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def _sm_pairs(value: str, n: int = 2) -> list[tuple[float, ...]]:
    out = []
    for item in value.replace("\n", "").replace("\r", "").split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split("=")
        if len(parts) < n:
            continue
        try:
            out.append(tuple(float(p) for p in parts[:n]))
        except ValueError:
            continue
    return out


def sm_tags(text: str) -> dict[str, str]:
    """Song-level ``#TAG:value;`` pairs of a .sm/.ssc file (first occurrence wins).

    In .ssc files, tags after the first ``#NOTEDATA`` belong to single charts and are
    ignored here.
    """
    text = _strip_sm_comments(text.lstrip("\ufeff"))
    cut = re.search(r"#NOTEDATA\s*:", text)
    head = text[: cut.start()] if cut else text
    tags: dict[str, str] = {}
    for m in _SM_TAG.finditer(head):
        key = m.group(1).upper()
        if key == "NOTES":
            continue
        tags.setdefault(key, m.group(2).strip())
    return tags


def _sm_last_note_beat(text: str) -> float | None:
    """Beat of the last measure that holds a note in any chart of a .sm/.ssc file."""
    best = None
    for m in re.finditer(r"#NOTES\s*:(.*?);", _strip_sm_comments(text), re.S):
        body = m.group(1)
        # .sm: 5 colon-separated header fields then the note data; .ssc: data only
        data = body.split(":")[-1]
        measures = data.split(",")
        last = None
        for i, meas in enumerate(measures):
            if re.search(r"[1-4MKLF]", meas):
                last = i
        if last is not None:
            best = max(best or 0.0, 4.0 * (last + 1))
    return best


def parse_sm(text: str, duration: float | None = None) -> BeatGrid:
    """Beat grid of a StepMania ``.sm`` or ``.ssc`` file (song-level timing).

    ``#OFFSET`` gives minus the time of beat 0.  Stops (``#STOPS``/``#FREEZES``) pause
    after their beat, delays (``#DELAYS``) before it.  Bars follow ``#TIMESIGNATURES``
    (numerator counts quarter-note beats when the denominator is 4) or 4/4 from beat 0.

    Args:
        text: the file contents.
        duration: audio length in seconds; beats are kept in ``[0, duration]``.  Without
            it, beats run to the end of the last measure that holds a note.
    """
    tags = sm_tags(text)
    offset = float(tags.get("OFFSET", "0") or 0)
    bpms = _sm_pairs(tags.get("BPMS", ""))
    if not bpms:
        raise ValueError("no #BPMS")
    stops = _sm_pairs(tags.get("STOPS", "") or tags.get("FREEZES", ""))
    delays = _sm_pairs(tags.get("DELAYS", ""))
    warps = _sm_pairs(tags.get("WARPS", ""))
    tsigs = _sm_pairs(tags.get("TIMESIGNATURES", ""), 3)
    has_warp = bool([w for w in warps if w[1] > 0]) or any(v <= 0 for _, v in bpms) or any(
        d < 0 for _, d in stops + delays
    )
    pos_bpms = [(b, v) for b, v in bpms if v > 0] or [(0.0, 120.0)]
    stops_pos = [(b, d) for b, d in stops if d > 0]
    delays_pos = [(b, d) for b, d in delays if d > 0]
    f = _beat_to_time_fn(-offset, pos_bpms, stops_pos, delays_pos)
    meters: list[tuple[float, int]] = []
    for b, num, den in tsigs:
        n = int(num)
        if int(den) == 8 and n % 3 == 0 and n > 3:
            n //= 3  # compound metre: count dotted quarters... approximately
        meters.append((b, max(1, n)))
    if not meters:
        meters = [(0.0, 4)]
    if duration is None:
        last = _sm_last_note_beat(text) or 0.0
        times, bib = grid_from_segments(f, meters, 0.0, float("inf"), None, last)
    else:
        times, bib = grid_from_segments(f, meters, 0.0, duration)
    info = {
        "title": tags.get("TITLE", ""),
        "artist": tags.get("ARTIST", ""),
        "subtitle": tags.get("SUBTITLE", ""),
        "music": tags.get("MUSIC", ""),
        "offset": offset,
        "last_note_beat": _sm_last_note_beat(text),
        "beat0_time": f(0.0),
    }
    return BeatGrid(
        times,
        bib,
        bpms=[v for _, v in bpms],
        n_stops=len(stops_pos) + len(delays_pos),
        stop_total_s=sum(d for _, d in stops_pos + delays_pos),
        warps=has_warp,
        info=info,
    )


# ---------------------------------------------------------------------------------------
# osu!
# ---------------------------------------------------------------------------------------


def _ini_sections(text: str) -> dict[str, list[str]]:
    sec: dict[str, list[str]] = {}
    cur = ""
    for line in text.lstrip("\ufeff").splitlines():
        s = line.strip()
        if not s or s.startswith("//"):
            continue
        if s.startswith("[") and s.endswith("]"):
            cur = s[1:-1]
            sec.setdefault(cur, [])
            continue
        sec.setdefault(cur, []).append(s)
    return sec


def _kv(lines: Iterable[str], sep: str = ":") -> dict[str, str]:
    out = {}
    for s in lines:
        if sep in s:
            k, v = s.split(sep, 1)
            out[k.strip()] = v.strip()
    return out


def parse_osu(text: str, duration: float | None = None) -> BeatGrid:
    """Beat grid of an osu! ``.osu`` beatmap.

    Uninherited timing points (``uninherited`` = 1, or positive beat length in old
    formats) give an offset (ms), a beat length (ms) and a meter; each starts a new bar.
    Beats before the first point are extrapolated with its tempo; a point cuts the
    previous one's beats.
    """
    sec = _ini_sections(text)
    general = _kv(sec.get("General", []))
    meta = _kv(sec.get("Metadata", []))
    pts: list[tuple[float, float, int]] = []
    for s in sec.get("TimingPoints", []):
        p = [x.strip() for x in s.split(",")]
        if len(p) < 2:
            continue
        try:
            t = float(p[0])
            bl = float(p[1])
        except ValueError:
            continue
        meter = int(p[2]) if len(p) > 2 and p[2] else 4
        unin = int(p[6]) if len(p) > 6 and p[6] else (1 if bl > 0 else 0)
        if unin == 1:
            pts.append((t / 1000.0, bl / 1000.0, meter))
    if not pts:
        raise ValueError("no uninherited timing point")
    pts.sort()
    # the last hit object tells how far the chart goes when the duration is unknown
    last_obj = None
    for s in sec.get("HitObjects", []):
        p = s.split(",")
        try:
            last_obj = max(last_obj or 0.0, float(p[2]) / 1000.0)
        except (IndexError, ValueError):
            pass
    t_max = duration if duration is not None else (last_obj or pts[-1][0]) + 1e-6
    times: list[float] = []
    bib: list[int] = []
    warps = any(bl <= 0 for _, bl, _ in pts)
    for i, (t0, bl, meter) in enumerate(pts):
        if bl <= 0:
            continue
        meter = max(1, meter)
        end = pts[i + 1][0] if i + 1 < len(pts) else t_max + bl
        k0 = 0
        if i == 0:
            k0 = -int(math.floor(t0 / bl + 1e-9))  # extrapolate back to time 0
        k = k0
        while True:
            t = t0 + k * bl
            if t >= end - 1e-3 or t > t_max + 1e-9:
                break
            if t >= -1e-9:
                times.append(t)
                bib.append((k % meter) + 1)
            k += 1
    info = {
        "title": meta.get("Title", ""),
        "artist": meta.get("Artist", ""),
        "title_unicode": meta.get("TitleUnicode", ""),
        "creator": meta.get("Creator", ""),
        "version": meta.get("Version", ""),
        "mode": general.get("Mode", "0"),
        "audio": general.get("AudioFilename", ""),
        "beatmap_set_id": meta.get("BeatmapSetID", ""),
        "n_timing_points": len(pts),
    }
    return BeatGrid(times, bib, bpms=[60.0 / bl for _, bl, _ in pts if bl > 0], warps=warps, info=info)


# ---------------------------------------------------------------------------------------
# Friday Night Funkin'
# ---------------------------------------------------------------------------------------


def _fnf_section_beats(sec: dict) -> float:
    """Beats in one FNF chart section (``sectionBeats`` or ``lengthInSteps / 4``)."""
    if sec.get("sectionBeats"):
        return float(sec["sectionBeats"])
    return float(sec.get("lengthInSteps", 16) or 16) / 4.0


def parse_fnf(text: str, duration: float | None = None, offset_s: float = 0.0) -> BeatGrid:
    """Beat grid of a legacy FNF chart JSON (``{"song": {"bpm", "notes": [sections]}}``).

    Each section lasts ``sectionBeats`` beats (Psych 0.7) or ``lengthInSteps / 4``; a
    section with ``changeBPM`` switches to its ``bpm`` at its start.  Sections are bars:
    the first beat of each section is a downbeat.  Beat 0 is at ``offset_s`` (FNF
    instrumentals start on beat 0; some engines store an ``offset`` in ms).  After the
    last section the grid continues with the last tempo and bar length to ``duration``.
    """
    data = json.loads(text)
    song = data.get("song", data)
    if isinstance(song, str):  # very old charts: {"song": "name", "bpm":..., "notes": ...}
        song = data
    bpm = float(song.get("bpm", 0) or 0)
    if bpm <= 0:
        raise ValueError("no bpm")
    try:
        offset = offset_s + float(song.get("offset", 0) or 0) / 1000.0
    except (TypeError, ValueError):
        offset = offset_s
    sections = [s for s in (song.get("notes", []) or []) if isinstance(s, dict)]
    t = offset
    times: list[float] = []
    bib: list[int] = []
    bpms = [bpm]
    cur = bpm
    warps = False
    last_note_t = 0.0
    nbeats = 4.0
    for sec in sections:
        if sec.get("changeBPM") and sec.get("bpm"):
            nb = float(sec["bpm"])
            if nb <= 0:
                warps = True
            else:
                cur = nb
                bpms.append(nb)
        nbeats = _fnf_section_beats(sec)
        for n in sec.get("sectionNotes", []) or []:
            try:
                last_note_t = max(last_note_t, float(n[0]) / 1000.0 + offset)
            except (TypeError, ValueError, IndexError):
                pass
        spb = 60.0 / cur
        for k in range(max(1, int(round(nbeats)))):
            times.append(t + k * spb)
            bib.append(k + 1)
        t += nbeats * spb
    if duration is not None:
        spb = 60.0 / cur
        per_bar = max(1, int(round(nbeats)))
        k = 0
        while t + k * spb <= duration:
            times.append(t + k * spb)
            bib.append((k % per_bar) + 1)
            k += 1
    keep = [(a, b) for a, b in zip(times, bib) if a >= -1e-9 and (duration is None or a <= duration)]
    info = {
        "title": str(song.get("song", "")),
        "speed": song.get("speed"),
        "needsVoices": song.get("needsVoices", True),
        "last_note_time": last_note_t,
    }
    return BeatGrid([a for a, _ in keep], [b for _, b in keep], bpms=bpms, warps=warps, info=info)


def parse_fnf_metadata(text: str, duration: float, offset_s: float | None = None) -> BeatGrid:
    """Beat grid from FNF v0.3+ ``*-metadata.json`` (``timeChanges``: ``t`` ms, ``bpm``, ``n``).

    ``offsets.instrumental`` (ms) is added unless ``offset_s`` overrides it.
    """
    data = json.loads(text)
    tcs = data.get("timeChanges") or []
    if not tcs:
        raise ValueError("no timeChanges")
    if offset_s is None:
        offset_s = float((data.get("offsets") or {}).get("instrumental", 0) or 0) / 1000.0
    tcs = sorted(tcs, key=lambda c: float(c.get("t", 0)))
    times: list[float] = []
    bib: list[int] = []
    bpms = []
    for i, c in enumerate(tcs):
        t0 = float(c.get("t", 0)) / 1000.0 + offset_s
        bpm = float(c.get("bpm", 0))
        bpms.append(bpm)
        if bpm <= 0:
            continue
        n = int(c.get("n", 4) or 4)
        end = float(tcs[i + 1]["t"]) / 1000.0 + offset_s if i + 1 < len(tcs) else duration + 1.0
        spb = 60.0 / bpm
        k = -int(math.floor((t0 - 0.0) / spb + 1e-9)) if i == 0 else 0
        while True:
            t = t0 + k * spb
            if t >= end - 1e-3 or t > duration:
                break
            if t >= -1e-9:
                times.append(t)
                bib.append((k % n) + 1)
            k += 1
    info = {"title": data.get("songName", ""), "artist": data.get("artist", "")}
    return BeatGrid(times, bib, bpms=bpms, warps=any(b <= 0 for b in bpms), info=info)


# ---------------------------------------------------------------------------------------
# Clone Hero .chart and MIDI
# ---------------------------------------------------------------------------------------


def _chart_sections(text: str) -> dict[str, list[str]]:
    sec: dict[str, list[str]] = {}
    cur = None
    for line in text.lstrip("\ufeff").splitlines():
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            cur = s[1:-1]
            sec[cur] = []
        elif cur is not None and s not in ("{", "}") and s:
            sec[cur].append(s)
    return sec


def _tick_tempo_grid(
    resolution: int,
    tempos: list[tuple[int, float]],
    tsigs: list[tuple[int, int, int]],
    offset_s: float,
    t_max: float,
) -> tuple[list[float], list[int], list[float]]:
    """Beats from a tick-based tempo map.

    ``tempos``: (tick, bpm); ``tsigs``: (tick, numerator, denominator).  A beat is a
    quarter note (``resolution`` ticks) for x/4; for x/8 with a numerator divisible by 3
    the beat is a dotted quarter, for x/8 with an even numerator a quarter, for other x/8
    an eighth.  Bars start at each time-signature event.
    """
    tempos = sorted(tempos) or [(0, 120.0)]
    if tempos[0][0] != 0:
        tempos.insert(0, (0, tempos[0][1]))
    tsigs = sorted(tsigs) or [(0, 4, 4)]
    if tsigs[0][0] != 0:
        tsigs.insert(0, (0, 4, 4))
    # tick -> seconds
    seg_tick = [t for t, _ in tempos]
    seg_bpm = [b for _, b in tempos]
    seg_time = [offset_s]
    for i in range(1, len(tempos)):
        seg_time.append(seg_time[-1] + (seg_tick[i] - seg_tick[i - 1]) / resolution * 60.0 / seg_bpm[i - 1])

    def tick_time(tick: float) -> float:
        i = 0
        for j in range(len(seg_tick)):
            if seg_tick[j] <= tick:
                i = j
        return seg_time[i] + (tick - seg_tick[i]) / resolution * 60.0 / seg_bpm[i]

    times: list[float] = []
    bib: list[int] = []
    for i, (ttick, num, den) in enumerate(tsigs):
        unit = resolution * 4.0 / den
        n = num
        if den == 8 and num % 3 == 0 and num > 3:  # compound: dotted-quarter beats
            unit *= 3
            n = num // 3
        elif den == 8 and num % 2 == 0:  # 2/8, 4/8, 8/8: quarter-note beats
            unit *= 2
            n = num // 2
        end_tick = tsigs[i + 1][0] if i + 1 < len(tsigs) else None
        k = 0
        while True:
            tick = ttick + k * unit
            if end_tick is not None and tick >= end_tick - 1e-6:
                break
            t = tick_time(tick)
            if t > t_max:
                break
            if t >= -1e-9:
                times.append(t)
                bib.append((k % max(1, n)) + 1)
            k += 1
            if k > 500000:
                break
    return times, bib, seg_bpm


def parse_chart(text: str, duration: float) -> BeatGrid:
    """Beat grid of a Clone Hero / Moonscraper ``.chart`` file.

    ``[SyncTrack]``: ``tick = B bpm*1000`` and ``tick = TS num [log2 den]``;
    ``[Song]``: ``Resolution`` (ticks per quarter, default 192) and ``Offset`` (s):
    tick 0 is at ``Offset`` seconds of the audio.
    """
    sec = _chart_sections(text)
    song = {}
    for s in sec.get("Song", []):
        if "=" in s:
            k, v = s.split("=", 1)
            song[k.strip()] = v.strip().strip('"')
    res = int(float(song.get("Resolution", 192)))
    offset = float(song.get("Offset", 0) or 0)
    tempos: list[tuple[int, float]] = []
    tsigs: list[tuple[int, int, int]] = []
    anchors = 0
    for s in sec.get("SyncTrack", []):
        m = re.match(r"(\d+)\s*=\s*(\w+)\s+(.*)", s)
        if not m:
            continue
        tick, kind, rest = int(m.group(1)), m.group(2), m.group(3).split()
        if kind == "B":
            tempos.append((tick, float(rest[0]) / 1000.0))
        elif kind == "TS":
            num = int(rest[0])
            den = 2 ** int(rest[1]) if len(rest) > 1 else 4
            tsigs.append((tick, num, den))
        elif kind == "A":
            anchors += 1
    times, bib, bpms = _tick_tempo_grid(res, tempos, tsigs, offset, duration)
    info = {
        "title": song.get("Name", ""),
        "artist": song.get("Artist", ""),
        "charter": song.get("Charter", ""),
        "offset": offset,
        "resolution": res,
        "music": song.get("MusicStream", ""),
    }
    return BeatGrid(times, bib, bpms=bpms, warps=any(b <= 0 for b in bpms), info=info)


def parse_midi_tempo(path_or_file, duration: float) -> BeatGrid:
    """Beat grid from the tempo map (set_tempo / time_signature) of a MIDI file.

    ``path_or_file``: a path or a binary file object.  Tick 0 is at 0 s (Clone Hero applies
    ``song.ini`` ``delay`` separately).
    """
    import mido

    mid = mido.MidiFile(path_or_file) if isinstance(path_or_file, str) else mido.MidiFile(file=path_or_file)
    res = mid.ticks_per_beat
    tempos: list[tuple[int, float]] = []
    tsigs: list[tuple[int, int, int]] = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((tick, mido.tempo2bpm(msg.tempo)))
            elif msg.type == "time_signature":
                tsigs.append((tick, msg.numerator, msg.denominator))
    # keep one event per tick (the first one met, i.e. the earliest track wins)
    first_tempo: dict[int, float] = {}
    for tick, bpm in tempos:
        first_tempo.setdefault(tick, bpm)
    first_ts: dict[int, tuple[int, int, int]] = {}
    for tick, num, den in tsigs:
        first_ts.setdefault(tick, (tick, num, den))
    tempos = sorted(first_tempo.items()) or [(0, 120.0)]
    tsigs = sorted(first_ts.values())
    times, bib, bpms = _tick_tempo_grid(res, tempos, tsigs, 0.0, duration)
    return BeatGrid(times, bib, bpms=bpms, info={"resolution": res})


def normalise_bars(beat_in_bar: Sequence[int], max_len: int = 7) -> list[int]:
    """Split implausibly long bars into 4- (or 3-) beat bars.

    Charts sometimes use one bar (FNF section, ``TS 8``) for several musical bars.  A bar
    of more than ``max_len`` beats whose length is a multiple of 4 (else of 3, else any
    length) is relabelled as consecutive 4-beat (3-beat) bars from its first beat.
    """
    out = list(beat_in_bar)
    starts = [i for i, b in enumerate(out) if b == 1] + [len(out)]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    for a, b in zip(starts, starts[1:]):
        first = out[a] - 1  # position of the segment's first beat in its (long) bar
        n = b - a
        bar_len = max(out[a:b])
        if bar_len <= max_len:
            continue
        per = 4 if bar_len % 4 == 0 else 3 if bar_len % 3 == 0 else 4
        for k in range(n):
            out[a + k] = (first + k) % per + 1
    return out


# ---------------------------------------------------------------------------------------
# gimmick detection
# ---------------------------------------------------------------------------------------


def gimmick_reasons(grid: BeatGrid, max_stops: int = 8) -> list[str]:
    """Reasons to distrust a chart's timing as a musical beat grid (empty list = fine).

    Flags warps / negative BPMs / negative stops, many stops or long stops, BPMs beyond
    [40, 400] once octave-normalised against the main tempo, and many large tempo jumps
    (visual "scroll speed" tricks).
    """
    reasons: list[str] = []
    if grid.warps:
        reasons.append("warp or negative bpm/stop")
    if grid.n_stops > max_stops:
        reasons.append(f"{grid.n_stops} stops/delays")
    if grid.stop_total_s > 20:
        reasons.append(f"stops total {grid.stop_total_s:.1f}s")
    bpms = [b for b in grid.bpms if b > 0]
    if bpms:
        if max(bpms) > 1000 or min(bpms) < 10:
            reasons.append(f"absurd bpm {min(bpms):.1f}-{max(bpms):.1f}")
        # large jumps between consecutive segments that are not octave relations
        jumps = 0
        for a, b in zip(bpms, bpms[1:]):
            r = max(a, b) / min(a, b)
            if r > 1.15 and not any(abs(r - k) < 0.03 * k for k in (2.0, 4.0, 1.5, 3.0)):
                jumps += 1
        if jumps > 6:
            reasons.append(f"{jumps} large tempo jumps")
    if len(grid.times) > 2:
        import numpy as np

        ibi = np.diff(np.asarray(grid.times))
        med = float(np.median(ibi))
        if med <= 0:
            reasons.append("degenerate grid")
        else:
            bpm_med = 60.0 / med
            if bpm_med > 400 or bpm_med < 40:
                reasons.append(f"main tempo {bpm_med:.1f} bpm out of [40, 400]")
            # fraction of beats whose local tempo is far from the main one (scroll tricks)
            odd = np.mean((ibi < med / 2.2) | (ibi > med * 2.2))
            if odd > 0.05:
                reasons.append(f"{odd:.0%} beats at odd tempo")
    return reasons
