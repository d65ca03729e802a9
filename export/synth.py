"""Synthetic rhythmic audio with exact beat and downbeat labels (numpy + scipy, seeded).

``generate_track(seed, level, duration)`` renders one mono 44.1 kHz track and its beat grid.
Curriculum levels:

0. a single sound at every beat (kick, clap, rim/woodblock, chanted syllable), downbeat accents;
1. drum kits with patterns, syncopation, ghost notes and fills;
2. kits with bass, chords, pads and melody (plus rhythmic speech/yelling bursts or claps);
3. arrangements with drum breaks, or no drums at all (bass, chords, pads, arpeggios);
4. classical-like ensembles without drums: piano, strings, winds or pizzicato playing
   accompaniment figures (Alberti bass, block chords, waltz, arpeggios, sustained chords), a
   melody and a bass line, with expressive timing (wandering tempo, ritardandi at phrase ends),
   loose onsets and rolled chords, usually in a hall;
5. rock and metal bands: distorted guitars (palm-muted chugs, gallops, off-beat stabs, held
   chords) and a bass over rock, punk, skank (snare on every off-beat), double-bass, blast and
   half-time drum patterns, with guitar-only intros and drum-only bars.

Every track draws a tempo of 60-200 BPM (log-uniform), a meter of 3/4 or 4/4, optional swing,
tempo ramps or steps, and then a recording chain: room (early reflections + noise-tail reverb),
microphone colouring (high/low pass, peaking EQ), background noise (white/pink/brown/babble),
slow level changes, overall gain and occasional soft clipping. Some tracks open with seconds of
noise or unrhythmic talk before the music (no beat labels there).

Labels are the exact grid the events were placed on (before humanisation jitter), in seconds,
with ``beat_in_bar`` (1 = downbeat).

Run ``python -m export.synth --out DIR --n 4`` to write a few example wav files.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

SR = 44100
LEVELS = (0, 1, 2, 3, 4, 5)


@dataclass
class SynthTrack:
    audio: np.ndarray          # float32 mono at SR
    beats: np.ndarray          # beat times in seconds
    beat_in_bar: np.ndarray    # 1 = downbeat
    info: dict


# ----------------------------------------------------------------------------------- one-shots

def _t(dur: float) -> np.ndarray:
    return np.arange(int(dur * SR)) / SR


def _bandpass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    hi = min(hi, SR * 0.45)
    lo = max(lo, 20.0)
    if lo >= hi:
        return x
    sos = signal.butter(order, [lo, hi], btype="band", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def _highpass(x: np.ndarray, f: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(f, SR * 0.45), btype="high", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def _lowpass(x: np.ndarray, f: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(f, SR * 0.45), btype="low", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def kick(rng: np.random.Generator) -> np.ndarray:
    t = _t(rng.uniform(0.25, 0.6))
    f0, f1 = rng.uniform(100, 220), rng.uniform(38, 65)
    f = f1 + (f0 - f1) * np.exp(-t / rng.uniform(0.015, 0.07))
    ph = 2 * np.pi * np.cumsum(f) / SR
    y = np.sin(ph) * np.exp(-t / rng.uniform(0.07, 0.3))
    if rng.random() < 0.7:  # beater click
        n = int(0.004 * SR)
        y[:n] += rng.uniform(0.1, 0.6) * _highpass(rng.standard_normal(n), 1500) * np.exp(-np.arange(n) / SR / 0.001)
    if rng.random() < 0.3:  # drive
        y = np.tanh(y * rng.uniform(1.5, 4))
    return y


def snare(rng: np.random.Generator) -> np.ndarray:
    t = _t(rng.uniform(0.15, 0.4))
    tone = np.sin(2 * np.pi * rng.uniform(150, 260) * t) * np.exp(-t / rng.uniform(0.02, 0.06))
    nz = _bandpass(rng.standard_normal(t.size), rng.uniform(800, 2500), rng.uniform(5000, 12000))
    nz *= np.exp(-t / rng.uniform(0.05, 0.2))
    mix = rng.uniform(0.3, 0.8)
    return (1 - mix) * tone + mix * 3 * nz


def hat(rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    t = _t(0.5 if open_ else 0.12)
    if rng.random() < 0.5:  # 808-style metallic: inharmonic squares
        base = rng.uniform(300, 500)
        y = sum(np.sign(np.sin(2 * np.pi * base * r * t)) for r in (1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523))
    else:
        y = rng.standard_normal(t.size)
    y = _highpass(y, rng.uniform(5000, 9000), order=3)
    return y * np.exp(-t / (rng.uniform(0.12, 0.3) if open_ else rng.uniform(0.01, 0.045)))


def clap(rng: np.random.Generator) -> np.ndarray:
    t = _t(rng.uniform(0.15, 0.35))
    env = np.zeros(t.size)
    gap = rng.uniform(0.006, 0.012)
    for i in range(rng.integers(2, 5)):
        s = int(i * gap * SR)
        env[s:] += np.exp(-(t[: t.size - s]) / 0.004) * rng.uniform(0.6, 1.0)
    tail_start = int(3 * gap * SR)
    env[tail_start:] += 0.5 * np.exp(-t[: t.size - tail_start] / rng.uniform(0.04, 0.12))
    return _bandpass(rng.standard_normal(t.size), rng.uniform(700, 1300), rng.uniform(2500, 6000)) * env * 2


def tom(rng: np.random.Generator, pitch: float) -> np.ndarray:
    t = _t(rng.uniform(0.2, 0.45))
    f = pitch * (1 + 0.5 * np.exp(-t / 0.03))
    return np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / rng.uniform(0.08, 0.2))


def block(rng: np.random.Generator) -> np.ndarray:
    """Rim shot / woodblock / cowbell-ish click."""
    t = _t(0.12)
    f = rng.uniform(500, 2500)
    y = np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * rng.uniform(1.4, 2.7) * t)
    return y * np.exp(-t / rng.uniform(0.01, 0.05))


VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
          (570, 840, 2410), (440, 1020, 2240), (660, 1720, 2410), (490, 1350, 1690)]


def _formant_filter(x: np.ndarray, formants, bws=(80, 100, 120)) -> np.ndarray:
    y = np.zeros_like(x)
    for f, bw, g in zip(formants, bws, (1.0, 0.7, 0.4)):
        r = np.exp(-np.pi * bw / SR)
        th = 2 * np.pi * f / SR
        y += g * signal.lfilter([1 - r], [1, -2 * r * np.cos(th), r * r], x)
    return y


def syllable(rng: np.random.Generator, f0: float, yell: bool = False) -> np.ndarray:
    """Vowel-ish buzz through formant resonators, optional noise consonant in front."""
    dur = rng.uniform(0.08, 0.3)
    t = _t(dur)
    f = f0 * (1 + rng.uniform(-0.15, 0.15) * t / dur) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    ph = np.cumsum(f) / SR
    src = (ph % 1.0) * 2 - 1  # sawtooth as glottal buzz
    if yell:
        src = np.tanh(3 * src) + 0.3 * rng.standard_normal(t.size)
    v = VOWELS[rng.integers(len(VOWELS))]
    y = _formant_filter(src, v)
    att = rng.uniform(0.005, 0.03)
    env = np.minimum(t / att, 1.0) * np.minimum((dur - t) / 0.03, 1.0).clip(0)
    y *= env
    if rng.random() < 0.5:  # consonant: short noise burst before the vowel
        n = int(rng.uniform(0.01, 0.05) * SR)
        c = _bandpass(rng.standard_normal(n), rng.uniform(1500, 3000), rng.uniform(5000, 9000))
        c *= np.exp(-np.arange(n) / SR / 0.015) * rng.uniform(0.3, 1.0)
        y = np.concatenate([c, y])
    return y / (np.abs(y).max() + 1e-9)


# -------------------------------------------------------------------------------- pitched parts

def midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def tone(rng: np.random.Generator, freq: float, dur: float, kind: str, attack: float = 0.005,
         decay: float | None = None, release: float = 0.05) -> np.ndarray:
    t = _t(dur + release)
    ph = freq * t
    if kind == "saw":
        y = 2 * (ph % 1.0) - 1
        y = y + 2 * (((ph * 1.003) % 1.0)) - 1
    elif kind == "square":
        y = np.sign(np.sin(2 * np.pi * ph))
    elif kind == "tri":
        y = 2 * np.abs(2 * (ph % 1.0) - 1) - 1
    elif kind == "pluck":
        y = sum(np.sin(2 * np.pi * ph * h) * np.exp(-t * h * 3) / h for h in (1, 2, 3, 4, 5))
    else:  # sine with a bit of second harmonic
        y = np.sin(2 * np.pi * ph) + 0.2 * np.sin(4 * np.pi * ph)
    env = np.minimum(t / max(attack, 1e-4), 1.0)
    if decay is not None:
        env = env * np.exp(-t / decay)
    rel = np.clip((dur + release - t) / release, 0, 1)
    return y * env * rel


class Buffer:
    def __init__(self, n: int) -> None:
        self.y = np.zeros(n)

    def add(self, x: np.ndarray, t: float, gain: float = 1.0) -> None:
        s = int(round(t * SR))
        if s >= self.y.size or s + x.size <= 0:
            return
        a, b = max(s, 0), min(s + x.size, self.y.size)
        self.y[a:b] += gain * x[a - s:b - s]


# --------------------------------------------------------------------------------- beat grid

def beat_grid(rng: np.random.Generator, duration: float, start: float) -> tuple[np.ndarray, dict]:
    """Beat times from ``start`` until past ``duration`` following a random tempo curve."""
    bpm = float(np.exp(rng.uniform(np.log(60), np.log(200))))
    mode = rng.choice(["const", "const", "ramp", "step"])
    target = float(np.clip(bpm * rng.uniform(0.8, 1.25), 60, 200))
    t_change = rng.uniform(0.2, 0.8) * duration
    beats = [start]
    while beats[-1] < duration + 2.0:
        t = beats[-1]
        if mode == "ramp":
            b = bpm + (target - bpm) * np.clip((t - start) / max(duration - start, 1), 0, 1)
        elif mode == "step":
            b = bpm if t < t_change else target
        else:
            b = bpm
        beats.append(t + 60.0 / b)
    return np.array(beats), {"bpm": bpm, "tempo_mode": str(mode), "bpm_end": target if mode != "const" else bpm}


def sub_times(beats: np.ndarray, per_beat: int, swing: float) -> np.ndarray:
    """Grid of ``per_beat`` subdivisions per beat (shape [n_beats-1, per_beat]) with swing."""
    frac = np.arange(per_beat) / per_beat
    if swing > 0 and per_beat in (2, 4):
        # delay the off-beat 8ths (per_beat=2) or off 16ths (per_beat=4) by swing*subdivision
        frac = frac.copy()
        frac[1::2] += swing / per_beat
    ibi = np.diff(beats)
    return beats[:-1, None] + ibi[:, None] * frac[None, :]


# ------------------------------------------------------------------------------------ patterns

# drum patterns over one 4/4 bar of 16ths (K kick, S snare, H hat); 3/4 uses 12 steps
PATTERNS_4 = [
    ("rock", "K...S...K.K.S...", "H.H.H.H.H.H.H.H."),
    ("four", "K...K...K...K...", "..H...H...H...H."),
    ("four16", "K...K...K...K...", "HHHHHHHHHHHHHHHH"),
    ("break", "K.........K.....", "H.H.H.H.H.H.H.H."),
    ("break2", "K..K..K...K..K..", "H.H.H.H.H.H.H.H."),
    ("halftime", "K.......S.......", "H.H.H.H.H.H.H.H."),
    ("funk", "K..K..K...K....K", "HHHHHHHHHHHHHHHH"),
    ("dnb", "K.........K.....", "H.H.H.H.H.H.H.H."),
    ("reggaeton", "K...K...K...K...", "H.H.H.H.H.H.H.H."),
    ("disco", "K...K...K...K...", "..H...H...H...H."),
]
SNARE_4 = {"rock": "....S.......S...", "four": "....S.......S...", "four16": "....S.......S...",
           "break": "....S.......S...", "break2": "....S..S....S...", "halftime": "........S.......",
           "funk": "....S..S.S..S..S", "dnb": "....S.......S...", "reggaeton": "...S..S....S..S.",
           "disco": "....S.......S..."}
PATTERNS_3 = [
    ("waltz", "K...........", "....H...H..."),
    ("waltz2", "K.......K...", "H.H.H.H.H.H."),
    ("6_8", "K.....K.....", "H.HH.HH.HH.H"),
]
SNARE_3 = {"waltz": "....S...S...", "waltz2": "....S.......", "6_8": "......S....."}


@dataclass
class Scene:
    beats: np.ndarray
    meter: int
    first_pos: int  # beat_in_bar index (0-based) of beats[0]
    swing: float
    humanize: float


def _jit(rng, sc: Scene) -> float:
    return rng.normal(0, sc.humanize) if sc.humanize > 0 else 0.0


def _beat_steps(sc: Scene, grid: np.ndarray, end: float):
    """Yield ``(i, pos, bar)`` for each beat row of ``grid`` that starts before ``end``:
    ``pos`` is the beat in the bar (0 = downbeat), ``bar`` counts bars from 0."""
    bar = -1
    for i in range(grid.shape[0]):
        pos = (sc.first_pos + i) % sc.meter
        if pos == 0 or bar < 0:
            bar += 1
        if grid[i, 0] > end:
            return
        yield i, pos, bar


def render_pulse(rng, buf: Buffer, sc: Scene, end: float) -> None:
    kind = rng.choice(["kick", "clap", "block", "voice", "kick_clap"])
    if kind == "voice":
        f0 = rng.uniform(90, 350)
        yell = rng.random() < 0.4
        sounds = [syllable(rng, f0, yell) for _ in range(4)]
    elif kind == "kick_clap":
        sounds = [kick(rng), clap(rng)]
    else:
        sounds = [{"kick": kick, "clap": clap, "block": block}[kind](rng)]
    accent = rng.uniform(1.0, 2.0)
    for i, t in enumerate(sc.beats):
        if t > end:
            break
        pos = (sc.first_pos + i) % sc.meter
        if kind == "kick_clap":
            s = sounds[0] if pos % 2 == 0 else sounds[1]
        else:
            s = sounds[rng.integers(len(sounds))]
        buf.add(s, t + _jit(rng, sc), (accent if pos == 0 else 1.0) * rng.uniform(0.8, 1.0))


def render_drums(rng, buf: Buffer, sc: Scene, end: float, active) -> None:
    """Kit with a pattern, syncopation, ghost notes and fills. ``active(bar)`` gates bars."""
    k, s, ho, hc = kick(rng), snare(rng), hat(rng, True), hat(rng, False)
    cl = clap(rng) if rng.random() < 0.4 else None
    toms = [tom(rng, p) for p in sorted(rng.uniform(80, 300, 3))[::-1]]
    if sc.meter == 4:
        name, kp, hp = PATTERNS_4[rng.integers(len(PATTERNS_4))]
        sp = SNARE_4[name]
    else:
        name, kp, hp = PATTERNS_3[rng.integers(len(PATTERNS_3))]
        sp = SNARE_3[name]
    kp, sp, hp = list(kp), list(sp), list(hp)
    # per-track syncopation: move/add kicks on off 8ths/16ths
    for _ in range(rng.integers(0, 3)):
        j = rng.integers(len(kp))
        kp[j] = "K" if kp[j] == "." else kp[j]
    if rng.random() < 0.3:
        hp = ["H" if i % 2 == 0 else "." for i in range(len(hp))]
    g = {"k": rng.uniform(0.6, 1.0), "s": rng.uniform(0.4, 0.9), "h": rng.uniform(0.1, 0.35)}
    grid = sub_times(sc.beats, 4, sc.swing)  # [n_beats-1, 4]
    fill_every = rng.choice([4, 8, 16])
    steps = sc.meter * 4
    for i, pos, bar in _beat_steps(sc, grid, end):
        if not active(bar):
            continue
        fill = (bar % fill_every == fill_every - 1) and pos >= sc.meter - rng.integers(1, 3)
        for q in range(4):
            t = grid[i, q] + _jit(rng, sc)
            st = pos * 4 + q
            if fill:
                if rng.random() < 0.8:
                    d = toms[rng.integers(3)] if rng.random() < 0.6 else s
                    buf.add(d, t, g["s"] * rng.uniform(0.6, 1.0))
                if q == 0 and pos == 0:
                    buf.add(k, t, g["k"])
                continue
            if kp[st % steps] == "K" and rng.random() > 0.03:
                buf.add(k, t, g["k"] * rng.uniform(0.85, 1.0))
            if sp[st % steps] == "S" and rng.random() > 0.03:
                buf.add(s, t, g["s"] * rng.uniform(0.85, 1.0))
                if cl is not None:
                    buf.add(cl, t, g["s"] * 0.7)
            elif rng.random() < 0.05:  # ghost note
                buf.add(s, t, g["s"] * 0.2)
            if hp[st % steps] == "H" and rng.random() > 0.05:
                buf.add(ho if (q == 2 and rng.random() < 0.1) else hc, t, g["h"] * rng.uniform(0.6, 1.0))
        if pos == 0 and bar % fill_every == 0 and rng.random() < 0.5:  # crash-ish on phrase start
            buf.add(hat(rng, True), grid[i, 0], g["h"] * 2)


PROGRESSIONS = [[0, 5, 3, 4], [0, 3, 4, 4], [0, 4, 5, 3], [5, 3, 0, 4], [0, 0, 3, 4], [1, 4, 0, 0]]
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]


def triad(root: int, scale: list[int], degree: int) -> list[int]:
    """MIDI notes of the triad on scale ``degree`` (0-based), an octave above ``root``."""
    return [root + 12 + scale[(degree + o) % 7] + 12 * ((degree + o) // 7) for o in (0, 2, 4)]


def render_harmony(rng, buf: Buffer, sc: Scene, end: float, parts: set[str], active) -> None:
    """Bass, chords (stabs), pads and melody following a chord progression, one chord per bar."""
    root = rng.integers(36, 48)
    scale = MAJOR if rng.random() < 0.5 else MINOR
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    bars_per_chord = rng.choice([1, 1, 2])
    bass_kind = rng.choice(["saw", "square", "sine", "tri"])
    bass_cut = rng.uniform(300, 1500)
    pad_kind = rng.choice(["saw", "sine", "tri"])
    stab_kind = rng.choice(["pluck", "saw", "tri"])
    mel_kind = rng.choice(["pluck", "tri", "sine", "square"])
    bass_pat = rng.choice(["root1", "beats", "eighths", "offbeat", "syncop"])
    stab_pat = rng.choice(["beats", "offbeats", "two_four", "arp"])
    gains = {p: rng.uniform(0.15, 0.5) for p in ("bass", "pad", "stab", "mel")}
    ib = float(np.median(np.diff(sc.beats)))

    def chord(deg: int) -> list[int]:
        return triad(root, scale, deg)

    bass_buf = np.zeros_like(buf.y)
    pad_buf = np.zeros_like(buf.y)
    grid8 = sub_times(sc.beats, 2, sc.swing)
    for i, pos, bar in _beat_steps(sc, grid8, end):
        t0 = grid8[i, 0]
        if not active(bar):
            continue
        deg = prog[(bar // bars_per_chord) % len(prog)]
        ch = chord(deg)
        if "bass" in parts:
            bn = root + scale[deg % 7]
            hits = {"root1": [(0, sc.meter * ib * 0.9)] if pos == 0 else [],
                    "beats": [(0, ib * 0.8)],
                    "eighths": [(0, ib * 0.4), (1, ib * 0.4)],
                    "offbeat": [(1, ib * 0.4)] + ([(0, ib * 0.4)] if pos == 0 else []),
                    "syncop": [(0, ib * 0.6)] if pos % 2 == 0 else [(1, ib * 0.4)]}[bass_pat]
            for q, d in hits:
                n = bn + (12 if (q == 1 and rng.random() < 0.3) else 0)
                x = tone(rng, midi_hz(n), d, bass_kind, attack=0.004, decay=rng.uniform(0.2, 1.0))
                s = int(grid8[i, q] * SR)
                e = min(s + x.size, bass_buf.size)
                if s < e:
                    bass_buf[s:e] += x[: e - s] * (1.2 if pos == 0 and q == 0 else 1.0)
        if "pad" in parts and pos == 0:
            d = ib * sc.meter * bars_per_chord if bar % bars_per_chord == 0 else 0
            if d:
                x = sum(tone(rng, midi_hz(n + 12) * rng.uniform(0.997, 1.003), d, pad_kind,
                             attack=rng.uniform(0.02, 0.4), release=0.2) for n in ch)
                s = int(t0 * SR)
                e = min(s + x.size, pad_buf.size)
                if s < e:
                    pad_buf[s:e] += x[: e - s]
        if "stab" in parts:
            qs = {"beats": [0], "offbeats": [1], "two_four": [0] if pos % 2 == 1 else [],
                  "arp": [0, 1]}[stab_pat]
            for q in qs:
                notes = ch if stab_pat != "arp" else [ch[(2 * pos + q) % 3] + 12]
                x = sum(tone(rng, midi_hz(n + 12), ib * 0.35, stab_kind, decay=0.15) for n in notes)
                buf.add(x, grid8[i, q] + _jit(rng, sc), gains["stab"] / len(notes))
        if "mel" in parts:
            for q in (0, 1):
                if rng.random() < (0.55 if q == 0 else 0.3):
                    n = root + 24 + scale[rng.integers(7)] + 12 * (rng.random() < 0.2)
                    x = tone(rng, midi_hz(n), ib * rng.choice([0.3, 0.5, 0.9]), mel_kind,
                             decay=rng.uniform(0.1, 0.6))
                    buf.add(x, grid8[i, q] + _jit(rng, sc), gains["mel"])
    if "bass" in parts:
        buf.y += gains["bass"] * _lowpass(bass_buf, bass_cut)
    if "pad" in parts:
        buf.y += gains["pad"] * 0.4 * _lowpass(pad_buf, rng.uniform(800, 5000))


def _talk(rng, buf: Buffer, end: float, f0: float, yell: bool, gain: float) -> None:
    """Unrhythmic talk: syllables one after another with random gaps and pauses."""
    t = 0.0
    while t < end:
        x = syllable(rng, f0 * rng.uniform(0.8, 1.25), yell)
        buf.add(x, t, gain * rng.uniform(0.5, 1.0))
        t += x.size / SR + rng.exponential(0.12) + (rng.random() < 0.1) * rng.uniform(0.3, 1.2)


def render_voice(rng, buf: Buffer, sc: Scene, end: float, active, rhythmic: bool = True) -> None:
    """Rhythmic speech/yelling bursts on beats and 8ths (rap/chant-like), or unrhythmic talk."""
    f0 = rng.uniform(90, 300)
    yell = rng.random() < 0.35
    g = rng.uniform(0.2, 0.7)
    if not rhythmic:
        _talk(rng, buf, end, f0, yell, g)
        return
    grid8 = sub_times(sc.beats, 2, sc.swing)
    density = rng.uniform(0.3, 0.9)
    for i, pos, bar in _beat_steps(sc, grid8, end):
        if not active(bar):
            continue
        for q in (0, 1):
            if rng.random() < (density if q == 0 else density * 0.5):
                x = syllable(rng, f0 * rng.uniform(0.85, 1.2), yell)
                buf.add(x, grid8[i, q] + _jit(rng, sc) - 0.01, g * (1.3 if q == 0 else 0.8))


def render_claps(rng, buf: Buffer, sc: Scene, end: float) -> None:
    """Audience-style clapping on the beat (or on 2 and 4) with many slightly spread hands."""
    n_people = rng.integers(1, 12)
    on24 = sc.meter == 4 and rng.random() < 0.4
    claps = [clap(rng) for _ in range(min(n_people, 4))]
    spread = rng.uniform(0.005, 0.03)
    for i, t in enumerate(sc.beats):
        if t > end:
            break
        pos = (sc.first_pos + i) % sc.meter
        if on24 and pos % 2 == 0:
            continue
        for p in range(n_people):
            buf.add(claps[p % len(claps)], t + rng.normal(0, spread), rng.uniform(0.3, 0.6) / np.sqrt(n_people))


NO_BEAT_KINDS = ("white noise", "pink noise", "hum", "talk", "claps out of time", "clicks")
STEADY_NO_BEAT_KINDS = ("white noise", "pink noise", "hum")   # no events: few seeds are needed
# evaluation only: never used for training anything (not the network, not the music head), so
# that a detector trained on :data:`NO_BEAT_KINDS` is also checked on sound it has not seen
UNSEEN_NO_BEAT_KINDS = ("brown noise", "loud pink noise", "swelling noise", "fan", "babble", "rain")
STEADY_UNSEEN_KINDS = ("brown noise", "loud pink noise", "swelling noise", "fan")
# a second evaluation-only set, defined (session 19) after the first had been looked at, so that
# a detector changed in the light of the first is checked on sound nobody has seen it on
UNSEEN_NO_BEAT_KINDS_2 = ("hiss", "vacuum", "traffic", "applause", "crowd", "typing")
STEADY_UNSEEN_KINDS_2 = ("hiss", "vacuum", "traffic")


def no_beat_audio(kind: str, seconds: float, seed: int = 0) -> np.ndarray:
    """Audio with no beat in it, at ``SR``, for checking that a tracker stays quiet.

    ``kind``: one of :data:`NO_BEAT_KINDS`: white or pink noise (-25 dBFS RMS), mains hum with
    its harmonics and a little hiss, unrhythmic talk (:func:`syllable` s at speech rate), one to
    four people clapping at random (Poisson, 3.5 claps per second in all) and sharp clicks at
    random times (typing, footsteps; 3.5 per second). The event kinds are at -20 dBFS RMS or
    peaks of -1 dBFS, whichever is lower.

    Or one of :data:`UNSEEN_NO_BEAT_KINDS` (for evaluation only): brown noise (-25 dBFS), pink
    noise at -8 dBFS, pink noise swelling and fading at random (wind, traffic), a fan (brown
    noise, a 100-150 Hz motor tone and a blade tone), four to six people talking at once, and
    rain (dense tiny clicks on a brown-noise bed). Or one of :data:`UNSEEN_NO_BEAT_KINDS_2`
    (also for evaluation only): white noise at -10 dBFS, a vacuum cleaner (high-passed noise and
    a 150-250 Hz motor with harmonics), traffic (a rumble with cars passing every few seconds),
    applause (15-40 people clapping at random), a crowd (8-12 people talking over a noise bed)
    and fast typing (bursts of 6-9 key clicks per second).

    Examples
    --------
    >>> y = no_beat_audio("talk", 5.0, seed=1)
    >>> y.shape, y.dtype
    ((220500,), dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    buf = Buffer(n)
    if kind in ("white noise", "pink noise"):
        y = _noise(rng, n, kind.split()[0]) * 10 ** (-25 / 20)
        return y.astype(np.float32)
    if kind in UNSEEN_NO_BEAT_KINDS:
        return _unseen_no_beat(rng, kind, seconds, seed)
    if kind in UNSEEN_NO_BEAT_KINDS_2:
        return _unseen_no_beat_2(rng, kind, seconds)
    if kind == "hum":
        t = np.arange(n) / SR
        y = sum(a * np.sin(2 * np.pi * 50.0 * h * t) for h, a in ((1, 1.0), (2, 0.4), (3, 0.2)))
        return (0.02 * y + 0.002 * rng.standard_normal(n)).astype(np.float32)
    if kind == "talk":
        _talk(rng, buf, seconds, rng.uniform(90, 300), rng.random() < 0.35, 1.0)
    elif kind in ("claps out of time", "clicks"):
        hands = [clap(rng) for _ in range(int(rng.integers(1, 5)))]
        t = rng.exponential(1 / 3.5)
        while t < seconds:
            if kind == "clicks":
                d = int(0.02 * SR)
                x = rng.standard_normal(d) * np.exp(-np.arange(d) / (0.003 * SR))
            else:
                x = hands[int(rng.integers(len(hands)))]
            buf.add(x, t, rng.uniform(0.3, 1.0))
            t += rng.exponential(1 / 3.5)
    else:
        raise ValueError(f"unknown kind {kind!r}; one of "
                         + ", ".join(NO_BEAT_KINDS + UNSEEN_NO_BEAT_KINDS + UNSEEN_NO_BEAT_KINDS_2))
    return _to_event_level(buf.y)


def _to_event_level(y: np.ndarray) -> np.ndarray:
    """-20 dBFS RMS or peaks of -1 dBFS, whichever is lower."""
    rms, peak = float(np.sqrt(np.mean(y ** 2))), float(np.abs(y).max())
    return (y * min(0.1 / max(rms, 1e-12), 0.9 / max(peak, 1e-12))).astype(np.float32)


def _unseen_no_beat(rng: np.random.Generator, kind: str, seconds: float, seed: int) -> np.ndarray:
    """The evaluation-only kinds of :func:`no_beat_audio`."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    if kind == "brown noise":
        return (_noise(rng, n, "brown") * 10 ** (-25 / 20)).astype(np.float32)
    if kind == "loud pink noise":
        return (_noise(rng, n, "pink") * 10 ** (-8 / 20)).astype(np.float32)
    if kind == "swelling noise":
        k = max(2, int(seconds / 4))
        env_db = np.interp(t, np.sort(rng.uniform(0, seconds, k)), rng.uniform(-18, 0, k))
        return (_noise(rng, n, "pink") * 10 ** ((env_db - 20) / 20)).astype(np.float32)
    if kind == "fan":
        f_motor, f_blade = rng.uniform(100, 150), rng.uniform(20, 40)
        y = (_noise(rng, n, "brown") + 0.3 * np.sin(2 * np.pi * f_motor * t)
             + 0.2 * np.sin(2 * np.pi * f_blade * t) * _noise(rng, n, "pink"))
        return (y / y.std() * 10 ** (-25 / 20)).astype(np.float32)
    buf = Buffer(n)
    if kind == "babble":
        for _ in range(int(rng.integers(4, 7))):
            _talk(rng, buf, seconds, rng.uniform(90, 300), rng.random() < 0.2, 1.0)
        return _to_event_level(buf.y)
    # rain: ~150 tiny drops per second on a brown-noise bed
    d = int(0.004 * SR)
    drop = np.exp(-np.arange(d) / (0.0008 * SR))
    times = np.sort(rng.uniform(0, seconds, int(150 * seconds)))
    for tt in times:
        buf.add(drop * rng.standard_normal(d), float(tt), rng.uniform(0.05, 1.0))
    return _to_event_level(buf.y + 0.05 * _noise(rng, n, "brown"))


def _unseen_no_beat_2(rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
    """The kinds of :data:`UNSEEN_NO_BEAT_KINDS_2`."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    if kind == "hiss":     # loud enough to clip now and then, as a real input would
        return np.clip(_noise(rng, n, "white") * 10 ** (-10 / 20), -1, 1).astype(np.float32)
    if kind == "vacuum":
        f = rng.uniform(150, 250)
        y = _highpass(_noise(rng, n, "pink"), 300.0) + sum(
            0.3 / h * np.sin(2 * np.pi * f * h * t + rng.uniform(0, 6.3)) for h in (1, 2, 3, 4))
        return np.clip(y / y.std() * 10 ** (-12 / 20), -1, 1).astype(np.float32)
    if kind == "traffic":
        env = np.full(n, 0.3)
        at = rng.uniform(0, 4)
        while at < seconds:
            env += np.exp(-0.5 * ((t - at) / rng.uniform(0.6, 1.5)) ** 2) * rng.uniform(0.5, 2.0)
            at += rng.uniform(2.5, 8.0)
        y = _lowpass(_noise(rng, n, "brown") + 0.3 * _noise(rng, n, "pink"), 2000.0) * env
        return (y / y.std() * 10 ** (-20 / 20)).astype(np.float32)
    buf = Buffer(n)
    if kind == "applause":
        hands = [clap(rng) for _ in range(6)]
        for _ in range(int(rng.integers(15, 41))):
            at = rng.exponential(1 / 3.0)
            while at < seconds:
                buf.add(hands[int(rng.integers(len(hands)))], at, rng.uniform(0.1, 0.4))
                at += rng.exponential(1 / 3.0)
        return _to_event_level(buf.y)
    if kind == "crowd":
        for _ in range(int(rng.integers(8, 13))):
            _talk(rng, buf, seconds, rng.uniform(90, 300), rng.random() < 0.1,
                  rng.uniform(0.3, 1.0))
        return _to_event_level(buf.y + 0.05 * buf.y.std() * _noise(rng, n, "pink"))
    # typing: words of 3-8 keys at 6-9 per second, short pauses between words
    at, d = 0.0, int(0.015 * SR)
    while at < seconds:
        rate = rng.uniform(6, 9)
        for _ in range(int(rng.integers(3, 9))):
            x = rng.standard_normal(d) * np.exp(-np.arange(d) / (0.002 * SR))
            buf.add(_highpass(x, 1000.0), at, rng.uniform(0.4, 1.0))
            at += rng.exponential(1 / rate)
        at += rng.uniform(0.15, 0.6)
    return _to_event_level(buf.y)


def no_beat_set(seconds: float, seeds: int, first_seed: int = 0,
                unseen: int = 0, steady_seeds: int = 1) -> dict[str, np.ndarray]:
    """``"kind #seed"`` -> :func:`no_beat_audio` for every kind: the steady ones (noises, hum)
    with ``steady_seeds`` seeds from ``first_seed`` (one by default), the event kinds with
    ``seeds``; ``unseen`` 1 or 2: the kinds of :data:`UNSEEN_NO_BEAT_KINDS` or
    :data:`UNSEEN_NO_BEAT_KINDS_2` instead (no detector was trained on them)."""
    kinds, steady = {0: (NO_BEAT_KINDS, STEADY_NO_BEAT_KINDS),
                     1: (UNSEEN_NO_BEAT_KINDS, STEADY_UNSEEN_KINDS),
                     2: (UNSEEN_NO_BEAT_KINDS_2, STEADY_UNSEEN_KINDS_2)}[int(unseen)]
    return {f"{kind} #{s}": no_beat_audio(kind, seconds, s) for kind in kinds
            for s in range(first_seed, first_seed + (steady_seeds if kind in steady else seeds))}


# ------------------------------------------------------------------------------ recording chain

def _noise(rng, n: int, colour: str) -> np.ndarray:
    w = rng.standard_normal(n)
    if colour == "white":
        return w
    spec = np.fft.rfft(w)
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    spec /= f ** (0.5 if colour == "pink" else 1.0)
    y = np.fft.irfft(spec, n)
    return y / (y.std() + 1e-12)


def _peaking(x: np.ndarray, f0: float, gain_db: float, q: float) -> np.ndarray:
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SR
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    aa = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return signal.lfilter(b, aa, x)


# ------------------------------------------------------------------ ensemble (classical-like)

def piano_note(rng: np.random.Generator, freq: float, dur: float, vel: float = 1.0) -> np.ndarray:
    """Struck string: slightly inharmonic partials with pitch-dependent decay, a hammer thump
    and damping at note off."""
    held = min(dur, 3.0)
    t = _t(held + 0.12)
    b = 10 ** rng.uniform(-4.5, -3.5)
    tau0 = float(np.clip(4.0 * (110.0 / freq) ** 0.6, 0.3, 6.0))
    y = np.zeros_like(t)
    for h in range(1, 9):
        fh = freq * h * np.sqrt(1 + b * h * h)
        if fh > SR * 0.45:
            break
        amp = rng.uniform(0.6, 1.0) / h ** (1.4 - 0.4 * vel)
        y += amp * np.sin(2 * np.pi * fh * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t * h ** 0.7 / tau0)
    n = min(int(0.006 * SR), t.size)
    y[:n] += 0.3 * vel * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.0015 * SR))
    env = np.minimum(t / 0.002, 1.0) * np.clip((held + 0.12 - t) / 0.12, 0, 1)
    return y * env * vel


def bowed_note(rng: np.random.Generator, freq: float, dur: float, kind: str = "strings",
               vel: float = 1.0) -> np.ndarray:
    """Bowed string or wind: soft attack, delayed vibrato, sustained, released."""
    attack = rng.uniform(0.04, 0.25) if kind == "strings" else rng.uniform(0.03, 0.1)
    release = rng.uniform(0.08, 0.25)
    t = _t(dur + release)
    vib = 1 + rng.uniform(0.001, 0.004) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t) * np.minimum(t / 0.3, 1)
    ph = np.cumsum(freq * vib) / SR
    if kind == "strings":
        y = 2 * (ph % 1.0) - 1
    else:  # wind: mostly sine, a few harmonics, breath
        y = np.sin(2 * np.pi * ph) + 0.3 * np.sin(4 * np.pi * ph) + 0.12 * np.sin(6 * np.pi * ph)
        y = y + 0.05 * rng.standard_normal(t.size)
    env = np.minimum(t / attack, 1.0) ** 1.5 * np.clip((dur + release - t) / release, 0, 1)
    swell = 1 + rng.uniform(-0.2, 0.3) * np.sin(np.pi * np.clip(t / max(dur, 1e-3), 0, 1))
    return y * env * swell * vel


def rubato_grid(rng: np.random.Generator, duration: float, start: float, meter: int) -> tuple[np.ndarray, dict]:
    """Beat times with expressive timing: a slowly wandering tempo and ritardandi at phrase ends."""
    bpm = float(np.exp(rng.uniform(np.log(50), np.log(160))))
    sigma = rng.uniform(0.005, 0.03)
    phrase = meter * int(rng.choice([2, 4]))
    rit = rng.uniform(0.05, 0.3) if rng.random() < 0.7 else 0.0
    beats, dev, i = [start], 0.0, 0
    while beats[-1] < duration + 2.0:
        dev = 0.92 * dev + rng.normal(0, sigma)
        k = i % phrase - (phrase - meter)
        slow = rit * (k + 1) / meter if k >= 0 else 0.0
        beats.append(beats[-1] + 60.0 / (bpm * np.exp(dev - slow)))
        i += 1
    return np.array(beats), {"bpm": bpm, "tempo_mode": "rubato", "rubato_sigma": float(sigma),
                             "ritardando": float(rit)}


def render_ensemble(rng, buf: Buffer, sc: Scene, end: float) -> dict:
    """Classical-like textures without drums: accompaniment figures (Alberti bass, block chords,
    waltz oom-pah-pah, arpeggios, sustained chords), a melody and a bass line on piano, strings,
    winds or pizzicato; loose timing, chords rolled, harmony changing by the bar."""
    root = int(rng.integers(36, 50))
    scale = MAJOR if rng.random() < 0.6 else MINOR
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    inst = {p: rng.choice(["piano", "piano", "strings", "wind", "pizz"]) for p in ("acc", "mel", "bass")}
    acc = rng.choice(["alberti", "block", "arp3", "sustain"] + (["waltz", "waltz"] if sc.meter == 3 else []))
    loose = rng.uniform(0.004, 0.02)
    accent = rng.uniform(1.0, 1.35)
    gains = {"acc": rng.uniform(0.2, 0.5), "mel": rng.uniform(0.3, 0.7), "bass": rng.uniform(0.2, 0.5)}

    def note(part: str, midi: float, dur: float, vel: float) -> np.ndarray:
        f = midi_hz(midi)
        k = inst[part]
        if k == "piano":
            return piano_note(rng, f, dur, vel)
        if k == "pizz":
            return tone(rng, f, min(dur, 0.5), "pluck", attack=0.002, decay=rng.uniform(0.1, 0.3)) * vel
        return bowed_note(rng, f, dur, "strings" if k == "strings" else "wind", vel)

    def chord(deg: int) -> list[int]:
        return triad(root, scale, deg)

    def at(t: float) -> float:
        return t + rng.normal(0, loose)

    beats = sc.beats
    per = {"alberti": int(rng.choice([2, 4])), "arp3": 3}.get(acc, 1)
    grid = sub_times(beats, per, 0.0)
    mel_pitch = root + 24 + scale[int(rng.integers(7))]
    parts_on = {"acc"} | ({"mel"} if rng.random() < 0.8 else set()) | ({"bass"} if rng.random() < 0.6 else set())
    for i in range(grid.shape[0]):
        if beats[i] > end:
            break
        pos = (sc.first_pos + i) % sc.meter
        bar = (sc.first_pos + i) // sc.meter
        ch = chord(prog[bar % len(prog)])
        ib = beats[i + 1] - beats[i]
        vel = (accent if pos == 0 else 1.0) * rng.uniform(0.75, 1.0)
        # accompaniment
        if acc == "alberti":
            order = [0, 2, 1, 2]
            for q in range(per):
                n = ch[order[(q + pos * per) % 4]]
                buf.add(note("acc", n, ib / per * 1.5, vel * (1.0 if q == 0 else 0.7)), at(grid[i, q]), gains["acc"])
        elif acc == "arp3":
            for q in range(3):
                buf.add(note("acc", ch[q] + 12 * (q == 2 and rng.random() < 0.5), ib / 3 * 1.5,
                             vel * (1.0 if q == 0 else 0.7)), at(grid[i, q]), gains["acc"])
        elif acc == "block":
            t0 = at(beats[i])
            for j, n in enumerate(ch):
                buf.add(note("acc", n, ib * 0.9, vel), t0 + j * rng.uniform(0, 0.012), gains["acc"] / 2)
        elif acc == "waltz":
            if pos == 0:
                buf.add(note("acc", ch[0] - 12, ib * 0.95, vel), at(beats[i]), gains["acc"])
            else:
                t0 = at(beats[i])
                for n in ch[1:]:
                    buf.add(note("acc", n, ib * 0.6, vel * 0.7), t0, gains["acc"] / 2)
        elif acc == "sustain" and pos == 0:
            bar_len = float(beats[min(i + sc.meter, len(beats) - 1)] - beats[i])
            t0 = at(beats[i])
            for n in ch:
                buf.add(note("acc", n, bar_len * 0.98, vel * 0.8), t0, gains["acc"] / 2)
        # bass line on the downbeat (and mid-bar in 4/4)
        if "bass" in parts_on and (pos == 0 or (sc.meter == 4 and pos == 2)):
            n = root + scale[prog[bar % len(prog)] % 7] - 12 * (rng.random() < 0.4)
            buf.add(note("bass", n, ib * (2 if sc.meter == 4 else sc.meter) * 0.95, vel), at(beats[i]), gains["bass"])
        # melody: one rhythm cell per beat
        if "mel" in parts_on:
            cell = [[0.0], [0.0, 0.5], [0.0, 0.75], [0.0, 1 / 3, 2 / 3], [], [0.0, 0.25, 0.5, 0.75]][
                int(rng.choice(6, p=[0.35, 0.25, 0.1, 0.08, 0.12, 0.1]))]
            for k, f in enumerate(cell):
                step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2]))
                mel_pitch = int(np.clip(mel_pitch + step, root + 19, root + 36))
                dur = ((cell[k + 1] if k + 1 < len(cell) else 1.0) - f) * ib
                if k + 1 == len(cell) and rng.random() < 0.3:
                    dur += ib  # tied over
                buf.add(note("mel", mel_pitch, dur, vel * (1.0 if f == 0 else 0.8)),
                        at(beats[i] + f * ib), gains["mel"])
    return {"scene": "ensemble", "acc": str(acc), "instruments": {k: str(v) for k, v in inst.items()}}


# ------------------------------------------------------------------------- rock and metal bands

# 4/4 bars of 16ths: (name, kick, snare, cymbal); the cymbal row is a closed hat or a ride
BAND_PATTERNS = [
    ("rock", "K...S...K.K.S...", "....S.......S...", "H.H.H.H.H.H.H.H."),
    ("punk", "K.K...K.K.K...K.", "....S.......S...", "H.H.H.H.H.H.H.H."),
    ("skank", "K...K...K...K...", "..S...S...S...S.", "H...H...H...H..."),
    ("skank_ride", "K...K...K...K...", "..S...S...S...S.", "H.H.H.H.H.H.H.H."),
    ("double_bass", "KKKKKKKKKKKKKKKK", "....S.......S...", "H...H...H...H..."),
    ("double_bass8", "K.K.K.K.K.K.K.K.", "....S.......S...", "H.H.H.H.H.H.H.H."),
    ("blast", "K.K.K.K.K.K.K.K.", "S.S.S.S.S.S.S.S.", "H.H.H.H.H.H.H.H."),
    ("halftime", "K.......K.K.....", "........S.......", "H.H.H.H.H.H.H.H."),
    ("gallop", "K.KKK.KKK.KKK.KK", "....S.......S...", "H...H...H...H..."),
    ("offbeat_hat", "K...K...K...K...", "....S.......S...", "..H...H...H...H."),
]
# guitar riffs over one beat of 16ths: (name, mask, palm-muted)
RIFFS = [("chug8", "X.X.", True), ("chug16", "XXXX", True), ("gallop", "X.XX", True),
         ("offbeat", "..X.", False), ("beats", "X...", False), ("held", "X...", False),
         ("syncop", None, True)]


def _power_chord(rng, root: int, dur: float, palm: bool) -> np.ndarray:
    """Undistorted power chord (root, fifth, octave) as detuned saws; distortion comes later."""
    t = _t(dur + 0.02)
    notes = (root, root + 7) if palm else (root, root + 7, root + 12)
    y = np.zeros(t.size)
    for n in notes:
        for d in (0.998, 1.002):
            y += 2 * ((midi_hz(n) * d * t) % 1.0) - 1
    env = np.minimum(t / 0.002, 1.0) * np.exp(-t / (rng.uniform(0.05, 0.12) if palm
                                                    else rng.uniform(0.8, 2.5)))
    env *= np.clip((dur + 0.02 - t) / 0.02, 0, 1)
    return y * env * (0.6 if palm else 1.0)


def render_band(rng, buf: Buffer, sc: Scene, end: float) -> dict:
    """A rock or metal band: drums, distorted rhythm guitar and bass, in sections of 2-8 bars.

    Beats are the quarter notes. The patterns put snare, cymbals or guitar stabs on the
    off-beats in many bars (skank, off-beat hats, off-beat riffs), so the loudest onsets are not
    always on the beat."""
    k, s, hc, ride = kick(rng), snare(rng), hat(rng, False), hat(rng, True)
    crash = hat(rng, True)
    toms = [tom(rng, p) for p in sorted(rng.uniform(80, 300, 3))[::-1]]
    g = {"k": rng.uniform(0.6, 1.0), "s": rng.uniform(0.5, 1.0), "h": rng.uniform(0.1, 0.35)}
    guitar = np.zeros_like(buf.y)
    bass = np.zeros_like(buf.y)
    grid = sub_times(sc.beats, 4, sc.swing * (rng.random() < 0.3))
    ib = float(np.median(np.diff(sc.beats)))
    root0 = int(rng.integers(38, 46))
    scale = [0, 1, 3, 5, 7, 8, 10] if rng.random() < 0.5 else MINOR
    steps = sc.meter * 4
    n_bars = grid.shape[0] // sc.meter + 2
    intro = int(rng.integers(1, 5)) if rng.random() < 0.35 else 0   # guitar alone
    sections = []
    b = 0
    while b < n_bars:
        ln = int(rng.choice([2, 4, 4, 8]))
        drums_on = b >= intro and rng.random() > 0.1
        guitar_on = rng.random() > 0.12 or not drums_on
        pat = BAND_PATTERNS[rng.integers(len(BAND_PATTERNS))]
        riff = RIFFS[rng.integers(len(RIFFS))]
        mask = riff[1] or "".join("X" if rng.random() < 0.5 else "." for _ in range(4))
        roots = [root0 + scale[int(rng.integers(len(scale)))] * (rng.random() < 0.6)
                 for _ in range(4)]
        sections += [(drums_on, guitar_on, pat, riff, mask, roots)] * ln
        b += ln
    for i, pos, bar in _beat_steps(sc, grid, end):
        drums_on, guitar_on, (name, kp, sp, hp), riff, mask, roots = sections[min(bar, n_bars - 1)]
        new_section = pos == 0 and (bar == 0 or sections[bar - 1] is not sections[bar])
        fill = drums_on and pos == sc.meter - 1 and bar + 1 < len(sections) and \
            sections[bar + 1] is not sections[bar] and rng.random() < 0.5
        root = roots[(bar * sc.meter + pos) // 2 % 4]
        for q in range(4):
            t = grid[i, q] + _jit(rng, sc)
            st = (pos * 4 + q) % 16 if sc.meter == 4 else pos * 4 + q
            if drums_on:
                if fill:
                    buf.add(toms[rng.integers(3)] if rng.random() < 0.6 else s, t,
                            g["s"] * rng.uniform(0.6, 1.0))
                else:
                    if kp[st % 16] == "K" and rng.random() > 0.02:
                        buf.add(k, t, g["k"] * rng.uniform(0.8, 1.0))
                    if sp[st % 16] == "S" and rng.random() > 0.02:
                        buf.add(s, t, g["s"] * rng.uniform(0.85, 1.0))
                    if hp[st % 16] == "H":
                        buf.add(ride if name.endswith("ride") else hc, t,
                                g["h"] * rng.uniform(0.6, 1.0))
                if q == 0 and new_section:
                    buf.add(crash, t, g["h"] * 3)
            if guitar_on and mask[q] == "X":
                if riff[0] == "held":
                    if q != 0 or pos % 2:
                        continue
                    dur = 2 * ib
                else:
                    dur = ib / 4 * (1.8 if riff[2] else 1.5)
                x = _power_chord(rng, root, dur, riff[2])
                sidx = int(round(t * SR))
                e = min(sidx + x.size, guitar.size)
                if sidx < e:
                    guitar[sidx:e] += x[: e - sidx]
                    tb = _t(dur + 0.02)[: e - sidx]
                    bass[sidx:e] += np.sin(2 * np.pi * midi_hz(root - 12) * tb) * np.exp(-tb / 0.3)
    drive = rng.uniform(4, 20)
    guitar = np.tanh(drive * _highpass(guitar, 100) / (np.abs(guitar).max() + 1e-9))
    guitar = _lowpass(_lowpass(guitar, rng.uniform(3000, 6500)), rng.uniform(4000, 8000))
    drums_rms = max(float(np.sqrt(np.mean(buf.y ** 2))), 0.05)
    level = drums_rms / (np.sqrt(np.mean(guitar ** 2)) + 1e-9)
    buf.y += guitar * level * rng.uniform(0.5, 2.0)
    bl = float(np.sqrt(np.mean(buf.y ** 2)) + 1e-9) / (np.sqrt(np.mean(bass ** 2)) + 1e-9)
    buf.y += _lowpass(bass, 400) * bl * rng.uniform(0.2, 0.6)
    return {"scene": "band", "intro_bars": intro}


def recording_chain(rng, y: np.ndarray, level: int) -> tuple[np.ndarray, dict]:
    info = {}
    n = y.size
    # room: early reflections + exponentially decaying noise tail
    if rng.random() < 0.6:
        rt60 = float(rng.uniform(0.15, 2.0))
        ir_len = int(min(rt60, 1.5) * SR)
        ir = rng.standard_normal(ir_len) * np.exp(-6.9 * np.arange(ir_len) / (rt60 * SR))
        ir = _lowpass(ir, rng.uniform(2000, 10000))
        ir[0] = 0
        for _ in range(rng.integers(2, 7)):
            ir[int(rng.uniform(0.003, 0.04) * SR)] += rng.uniform(0.1, 0.6)
        ir /= np.sqrt(np.sum(ir ** 2)) + 1e-9
        wet = rng.uniform(0.1, 0.7)
        y = (1 - wet) * y + wet * signal.oaconvolve(y, ir)[:n]
        info["rt60"] = rt60
    # microphone colouring
    if rng.random() < 0.7:
        y = _highpass(y, float(np.exp(rng.uniform(np.log(30), np.log(400)))))
        if rng.random() < 0.6:
            y = _lowpass(y, float(np.exp(rng.uniform(np.log(2500), np.log(16000)))))
        for _ in range(rng.integers(0, 3)):
            y = _peaking(y, float(np.exp(rng.uniform(np.log(100), np.log(8000)))),
                         rng.uniform(-9, 9), rng.uniform(0.5, 3))
    # level changes: slow piecewise-linear gain in dB
    if rng.random() < 0.5:
        k = rng.integers(2, 6)
        pts = np.sort(rng.uniform(0, n, k))
        env_db = np.interp(np.arange(n), np.concatenate([[0], pts, [n]]),
                           rng.uniform(-15, 3, k + 2))
        y = y * 10 ** (env_db / 20)
    y = y / (np.sqrt(np.mean(y ** 2)) + 1e-9)
    # background noise
    if rng.random() < 0.6:
        colour = rng.choice(["white", "pink", "brown"])
        snr = rng.uniform(0, 35) if level > 0 else rng.uniform(10, 40)
        y = y + _noise(rng, n, colour) * 10 ** (-snr / 20)
        info["snr_db"] = float(snr)
    # overall level and occasional soft clipping
    gain_db = rng.uniform(-45, -8)
    y = y * 10 ** (gain_db / 20)
    if rng.random() < 0.1:
        drive = rng.uniform(2, 10)
        y = np.tanh(y * drive / (np.abs(y).max() + 1e-9)) * 10 ** (-6 / 20)
    info["gain_db"] = float(gain_db)
    return y, info


# ------------------------------------------------------------------------------------- tracks

def generate_track(seed: int, level: int, duration: float = 30.0,
                   grid: np.ndarray | None = None) -> SynthTrack:
    """Render one synthetic track of the given curriculum level (deterministic in ``seed``).

    ``grid``: the beat times to play (seconds, increasing; e.g. a tempo step for
    ``bench/bench_tempo_step.py``) instead of a random tempo curve; the rest of the scene is drawn
    as usual (without a grid, the track is exactly what it always was for that seed)."""
    rng = np.random.default_rng([seed, level, 7919])
    n = int(duration * SR)
    buf = Buffer(n)
    if grid is None:
        lead = rng.uniform(0, 4) if rng.random() < 0.4 else rng.uniform(0, 0.5)
        beats, info = beat_grid(rng, duration, lead)
    else:
        beats = np.asarray(grid, np.float64)
        lead = float(beats[0])
        ibi = np.diff(beats)
        info = {"bpm": 60.0 / float(ibi[0]), "tempo_mode": "grid", "bpm_end": 60.0 / float(ibi[-1])}
    meter = 3 if rng.random() < 0.3 else 4
    if level == 4:
        meter = 3 if rng.random() < 0.4 else 4
        if rng.random() < 0.65 and grid is None:
            beats, info = rubato_grid(rng, duration, lead, meter)
    first_pos = int(rng.integers(meter)) if rng.random() < 0.5 else 0
    swing = float(rng.uniform(0.1, 0.5)) if rng.random() < 0.25 else 0.0
    humanize = float(rng.uniform(0.002, 0.012)) if rng.random() < 0.5 else 0.0
    sc = Scene(beats, meter, first_pos, swing, humanize)
    info.update(level=level, meter=meter, swing=swing, lead_s=lead)
    end = duration
    n_bars = int(len(beats) / meter) + 2

    def always(_bar: int) -> bool:
        return True

    if level == 0:
        choice = rng.choice(["pulse", "pulse", "claps", "voice"])
        if choice == "pulse":
            render_pulse(rng, buf, sc, end)
        elif choice == "claps":
            render_claps(rng, buf, sc, end)
        else:
            render_voice(rng, buf, sc, end, always)
        info["scene"] = str(choice)
    elif level == 1:
        render_drums(rng, buf, sc, end, always)
        if rng.random() < 0.15:
            render_claps(rng, buf, sc, end)
    elif level == 2:
        render_drums(rng, buf, sc, end, always)
        parts = {p for p in ("bass", "pad", "stab", "mel") if rng.random() < 0.7} or {"bass"}
        render_harmony(rng, buf, sc, end, parts, always)
        r = rng.random()
        if r < 0.25:
            render_voice(rng, buf, sc, end, lambda b: (b // 4) % 2 == 0)
        elif r < 0.35:
            render_claps(rng, buf, sc, end)
        info["parts"] = sorted(parts)
    elif level == 4:
        info.update(render_ensemble(rng, buf, sc, end))
    elif level == 5:
        info.update(render_band(rng, buf, sc, end))
        if rng.random() < 0.3:
            render_voice(rng, buf, sc, end, always)
    else:
        parts = {p for p in ("bass", "pad", "stab", "mel") if rng.random() < 0.75} or {"stab"}
        if rng.random() < 0.35:  # no drums at all
            render_harmony(rng, buf, sc, end, parts | {"bass"}, always)
            info["scene"] = "no_drums"
        else:  # drum breaks: sections of 2-8 bars without drums
            on = np.ones(n_bars, bool)
            b = int(rng.integers(2, 8))
            while b < n_bars:
                ln = int(rng.integers(2, 9))
                on[b:b + ln] = False
                b += ln + int(rng.integers(4, 12))
            render_drums(rng, buf, sc, end, lambda bb: bool(on[min(bb, n_bars - 1)]))
            render_harmony(rng, buf, sc, end, parts, always)
            if rng.random() < 0.2:
                render_voice(rng, buf, sc, end, lambda bb: bool(on[min(bb, n_bars - 1)]))
            info["scene"] = "breaks"
    # some tracks: unrhythmic talk or noise in the lead-in (no beats there)
    if lead > 1.0 and rng.random() < 0.5:
        pre = Buffer(int(lead * SR))
        render_voice(rng, pre, sc, lead - 0.2, always, rhythmic=False)
        buf.y[: pre.y.size] += pre.y * rng.uniform(0.2, 1.0)
    y = buf.y
    if np.abs(y).max() == 0:
        y = y + 1e-6 * rng.standard_normal(n)
    y, rinfo = recording_chain(rng, y, level)
    info.update(rinfo)
    keep = beats < duration
    beats = beats[keep]
    bib = ((first_pos + np.arange(beats.size)) % meter) + 1
    return SynthTrack(y.astype(np.float32), beats, bib.astype(np.int64), info)


def main() -> None:
    import soundfile as sf

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=2, help="tracks per level")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for level in LEVELS:
        for i in range(a.n):
            tr = generate_track(a.seed + i, level, a.duration)
            stem = out / f"synth_l{level}_{a.seed + i:05d}"
            sf.write(stem.with_suffix(".wav"), tr.audio / max(1e-9, np.abs(tr.audio).max()) * 0.9, SR)
            stem.with_suffix(".beats").write_text(
                "".join(f"{t:.4f}\t{b}\n" for t, b in zip(tr.beats, tr.beat_in_bar)))
            print(stem.name, tr.info)


if __name__ == "__main__":
    main()
