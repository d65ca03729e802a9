"""Causal beat-phase and bar tracking with predictive beat emission.

Algorithm
---------
*Beat phase and tempo* are tracked by forward filtering (the HMM forward algorithm, one step per
frame) in a joint tempo-phase state space, the "bar pointer" model of Whiteley et al. as used by
madmom's online ``DBNBeatTrackingProcessor``:

* one tempo state per integer beat interval ``I`` (frames) between ``max_bpm`` and ``min_bpm``,
  and for each tempo ``I`` phase states ``p = 0 .. I-1`` (frames since the last beat); ``p``
  advances by one per frame, and at the end of a beat period the tempo may change to ``I'`` with
  probability ``~ exp(-transition_lambda * |I'/I - 1|)``;
* observation: states within ``+-beat_region * I`` frames of the beat (and ``beat_region_early
  * I`` more before it; by default only the beat frame itself) see the beat activation ``a``,
  all others ``(1 - a) / (observation_lambda - 1)``;
* every frame a small probability ``eps`` is moved to a restart distribution over all
  states, weighted per tempo by the online tempo estimate (:mod:`realtime.tempo`) times a
  log-normal tempo prior. This is what lets the tracker re-lock after a tempo step or a wrong
  lock in a few beats, which the purely local tempo transitions cannot do. ``eps`` is
  surprise-driven: the tracker keeps an exponential average (``fit_window_s``) of the
  information gain ``log(P(a | tracked grid) / P(a | beats at random with the same tempo))``
  of each frame's activation ``a``;
  ``eps = restart_prob * min(1, exp(-restart_decay * gain per beat))``,
  so a grid that predicts the beats well is not disturbed (no octave flips on strong
  off-beats), while one that stops predicting them re-locks quickly;
* optionally (``tempo_weight`` > 0; off by default) at each beat (phase 0) the hypothesis of
  tempo ``T`` is weighted by ``(w(T) / max w) ** tempo_weight``, ``w`` = online comb score (plus
  a small floor) times the prior, to push ambiguous metrical levels towards the prior;
* while holding through a break (no beat evidence: the peak envelope of the activation above
  its running mean is below ``evidence_floor``) and on silent frames, the filter coasts: it
  predicts without applying observations, so the phase is carried through the break.

Each tempo's phases are stored as a ring (advancing a frame moves an offset, not the data), so a
frame costs one vectorisable pass over the ~5800 states plus the banded tempo transitions. The
whole frame (tempo update, filter, evidence, state machine, emission, bars) is one numba kernel
on preallocated arrays, with the scalar state in one vector; it runs over one frame per call
live (:meth:`BeatTracker.process`) or over a whole file (:meth:`BeatTracker.process_sequence`,
``beatd analyze``): about 20-30 us per frame on the development VM (see BENCHMARKS.md).

*Prediction.* From the filtered distribution the tracker derives, each frame, the posterior
distribution of the number of frames until the next beat, restricted to the tempi within +-10 %
of the most probable tempo (so two metrical levels are never mixed). Its mode (refined to a
sub-frame mean around the mode) is the predicted next beat. A beat is committed (emitted) as soon as its
predicted time is at most ``lookahead_ms`` ahead of the newest audio sample, so an output can
schedule it; a committed beat is never emitted again (any later prediction closer than
``min_gap`` of the beat period to the last committed beat is the same beat), which also keeps
the beat spacing sane after a re-lock.

*Bars* are tracked by a small HMM over (meter, beat in bar) for the meters in ``meters``
(3/4 and 4/4 by default), advanced by one position per committed beat; when a committed beat's
time has passed, the largest downbeat and beat activations around it update that HMM
(observation ``x = downbeat / beat``, the probability that this beat is a downbeat). The
``beat_in_bar`` of a new beat is the most probable position predicted from the beats before it.

Confidence
----------
``BeatEvent.confidence = p_window * salience``, in [0, 1]:

* ``p_window``: the tracker's posterior probability that the beat falls within
  ``+-confidence_window_ms`` (70 ms, the usual evaluation tolerance; at most 15 % of the beat
  period) of the emitted time;
* ``salience``: an exponentially weighted mean (over about 3 beats) of the peak network beat
  activation (a probability) around the recent emitted beats; it decays when the beats are
  not in the audio, e.g. while holding through a break.

So 0.9 means "the tracker is sure of the timing and the network clearly hears the recent beats";
a confident grid with no audible beats (holding) or clear beats with an ambiguous phase both give
low values.

States
------
``LISTENING`` (no beat evidence yet), ``LOCKING`` (evidence, phase not yet certain: no beats
emitted), ``LOCKED`` (emitting; entered when ``p_window >= lock_threshold`` for a beat still at
least ``lookahead_ms`` ahead, the average information gain per beat exceeds ``lock_gain``
and the online tempo's periodicity score reaches ``lock_periodicity``;
back to LOCKING when the gain stays below ``unlock_gain`` for ``unlock_s``), ``HOLDING`` (the
beat evidence stopped: beats continue on the tracked grid for ``hold_s``, or indefinitely while
the tempo is locked), ``LOST`` (the hold expired; like listening). A silent frame (``process(..., active=False)``, from
:class:`SilenceGate`) counts as no evidence and mutes emission, so no beats come out of silence
or a low noise floor; a flat or random activation without periodic peaks does not lock either.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numba
import numpy as np

from realtime.frontend import FrontendParams
from realtime.tempo import (TempoEstimator, TempoParams, _acf_update, _comb_score, _comb_scores,
                            _ew_mean)


class TrackerState(enum.IntEnum):
    """Tracker states (see the module docstring)."""

    LISTENING = 0
    LOCKING = 1
    LOCKED = 2
    HOLDING = 3
    LOST = 4


class BeatEvent(NamedTuple):
    """One committed beat.

    ``time``: stream seconds of the beat (the frontend's time base, already in the future when
    committed); ``beat_index``: 0, 1, 2 ... counting the beats emitted since the stream start or
    :meth:`BeatTracker.reset`; ``beat_in_bar``: 1 = downbeat; ``bpm``: tempo at this beat;
    ``confidence``: in [0, 1] (module docstring).
    """

    time: float
    beat_index: int
    beat_in_bar: int
    bpm: float
    confidence: float


@dataclass(frozen=True)
class TrackerParams:
    """Parameters of :class:`BeatTracker` (config section ``[tracker]``).

    Attributes
    ----------
    min_bpm, max_bpm : tempo range of the state space (BPM).
    num_tempi : number of log-spaced beat intervals (tempo states); 0 = every whole-frame
        interval in the range. Fewer is faster; the phase resolution is one frame either way.
    transition_lambda : tempo stiffness; higher = smaller tempo changes between beats.
    observation_lambda : contrast of the observation model: states outside the beat region see
        ``(1 - a) / (observation_lambda - 1)``.
    beat_region : half width of the beat region as a fraction of the beat period (0: the single
        beat frame, which keeps sharp activation peaks from favouring faster metrical levels).
        The phases ``d`` frames from the beat see the activation with weight ``clip(w - d + 1,
        0, 1)`` for the width ``w = beat_region * period`` in frames, so the region grows
        continuously with the period (until session 20 it was ``floor(w)`` whole frames, and
        its width jumped, e.g. from 1 to 3 frames between 119 and 121 BPM at 0.02).
    beat_region_early : a further region before the beat only (same weighting): an activation
        peak up to this fraction of the period before the grid's beat still counts as the beat.
    music_observation_lambda, music_beat_region_early : the observation model while the music
        gate is open (see ``music_threshold``): ``observation_lambda`` replaced by this (0: no
        change) and this added to ``beat_region_early``. A sharper model follows the weak,
        freely timed beats of classical music better, but on hum, noise or talk it finds weak
        periodic bumps in the activation and its grid never unlocks (session 20: 50-120
        beats per minute on sound without a beat as the model of every frame), so it applies
        only while the network hears music. A network without a music output never uses it.
        24 was chosen in session 20 (ASAP classical validation F 0.293 instead of 0.252, false
        beats not raised; BENCHMARKS.md). A region before the beat as well locked later and
        beat more on babble, so it is off.
    activation_floor : activations are clipped to ``[floor, 1 - floor]`` before the filter
        (one missed or spurious beat then cannot erase a hypothesis).
    restart_prob : probability per frame of jumping to the restart distribution (re-locking)
        while the tracked grid explains the activation no better than chance; it shrinks as
        ``exp(-restart_decay * gain per beat)`` when the grid predicts the beats well.
    restart_decay : how fast the re-locking pressure vanishes with the information gain (nats
        per beat) of the tracked grid.
    fit_window_s : time constant of the average information gain that drives re-locking.
    tempo_weight : exponent of the per-beat tempo weight (online tempo score times prior,
        relative to the best tempo); 0 (default) disables it. It settles ambiguous metrical
        levels towards the prior, but on real music it also pulled the tracker between levels
        related by 3:2 (see BENCHMARKS.md), so it is off by default.
    lookahead_ms : commit a beat this long before its time (relative to the newest sample). It
        must cover the input block, the worker's reaction and negative output offsets; 100 ms
        tracks as well as 80 on the chart validation split (``export.tune_tracker``).
    confidence_window_ms : half width of the window for ``p_window`` (see Confidence).
    lock_threshold : ``p_window`` needed to start emitting (LOCKING -> LOCKED).
    lock_gain : and the average information gain per beat (nats) must exceed this: the grid
        must predict the activation better than chance.
    lock_periodicity : and the online tempo's comb score of the tracked tempo (1 = perfectly
        periodic activation, about 0 for noise; :meth:`TempoEstimator.score`) must reach this.
        Random activations that lock by chance score at most 0.03 there, music at its first
        lock 0.29 (median; 94 % above 0.05). 0.02 / 0.05 for these two (was 0.1 / none) locks
        on 30 s cold-start excerpts of the chart validation split in 1.24 s instead of 1.50 s,
        with F / AMLt 0.859 / 0.854 (0.858 / 0.849), whole tracks unchanged (F 0.872, lock
        1.50 s), and still no beats on 24 minutes of random activations
        (``export.tune_tracker --excerpt 30``; tests/test_tracker.py).
    gate_mean_window_s : the autocorrelation behind ``lock_periodicity`` and the re-lock tempo
        weights. 0 (default): its running mean starts at 0 and follows the tempo window, as
        when the defaults were validated; during the first seconds that mean's offset makes
        every tempo look periodic, so the gain condition does the work there. > 0: a
        bias-corrected running mean of this window (seconds), as in the reported tempo
        (:mod:`realtime.tempo`): random activations then score near 0 from the first frame.
        With 1.0 and the defaults, rendered classical piano lost F 0.004 (session 18), so it is
        not the default; it is meant for a looser ``lock_gain``.
    unlock_gain, unlock_s : LOCKED falls back to LOCKING (stops emitting) after the average
        information gain per beat stayed below ``unlock_gain`` for ``unlock_s`` seconds while
        there was beat evidence: the grid predicts the activation worse than chance. (A merely
        imprecise phase, low ``p_window``, keeps emitting: it shows in the confidence.) -0.25:
        on sound without a beat (random clicks, the rhythm of speech) a locked grid's gain sits
        far below zero (median -0.3 to -0.4 nats per beat), on expressive classical music near
        zero (5 % of the time below -0.24), on steady music above +0.4. 0.0 stopped a third of
        the beats of classical music (ASAP validation F 0.160); off (-inf, session 9) kept
        emitting on talk, 47.6 beats per minute in ``bench/bench_false_beats.py``, against 17.1
        at -0.25 with the validation scores unchanged (``export.tune_tracker --asap
        --synth-level 0 1 2 3 --synth-n 8 --set unlock_gain=...``, session 10). ``unlock_s``
        1.0 instead of 1.5 (with ``relock_gain`` 0.2): 7.0 instead of 8.9 beats per minute
        on audio without a beat, ASAP F 0.206 instead of 0.210, charts unchanged.
    relock_gain : after such an unlock, the information gain per beat needed to lock again
        (instead of ``lock_gain``) until the tracker locks or the evidence ends: sound that
        made the grid fail once must show a beat more clearly before beats resume. 0.2 (was
        0.02, no difference): beats per minute on audio without a beat (``tune_tracker``'s
        no-beat column) 17.1 -> 8.9 with the validation scores level (ASAP F 0.210 instead of
        0.212, synthetic 0.767 instead of 0.771; session 10).
    lock_llr : strict start, off at 0. When > 0 it replaces ``lock_gain``: the information
        gain summed over the frames since the beat evidence began (never below 0; nats) must
        reach this before beats start. Sound without a beat then almost never starts them, at
        the price of a slower lock. With 3 (session 11): beats per minute on audio without a
        beat (talk, claps and clicks at random) 0.3 instead of 7.0 on ``tune_tracker``'s
        seeds and 8.3 instead of 16.9 on ``bench/bench_false_beats.py``'s (a chance start
        still runs on), none on random activations; on the validation data, chart median
        lock 2.49 s instead of 1.50 s, chart F 0.865 instead of 0.868, ASAP classical F 0.125
        instead of 0.206 (weak beats take long to sum up). For rooms with talk between songs;
        off by default because of the lock time.
    music_threshold, music_lock_gain, music_window_s : the music gate. While the network's
        music output (``export.music_head``; none for a network without one), averaged over
        ``music_window_s``, is at least ``music_threshold``, the gain per beat needed to lock is
        ``music_lock_gain`` instead of ``lock_gain``: music with faint beats can start sooner
        than noise or talk. A lock that only this allowed is on credit: until its gain reaches
        ``relock_gain`` (``lock_gain`` until session 20: a chance grid on random activations
        could reach that under the sharper music model and then never stop) with the
        ordinary periodicity, it falls back to LOCKING (after ``unlock_s``) when the music
        output drops below the threshold. ``music_lock_gain`` equal to ``lock_gain`` turns it
        off.
        Defaults (session 19, rules written before the runs): the threshold from training data
        only (augmented sound without a beat reaches a 1 s mean of 0.8 on 0.3 % of frames,
        rendered classical piano on 90 %), and the gain condition off while music is heard
        (-10). On the validation data, against the gate without it: ASAP classical F 0.246
        instead of 0.206, chart median lock 1.12 s instead of 1.51 s, chart and synthetic F
        and AMLt slightly higher, beats on sound without a beat unchanged (7.0 and 16.9 per
        minute). A lock on random activations while the network says music is possible by
        design; the credit rule ends it. The threshold belongs to the head (session 30: a
        head refitted with recorded ambience among its negatives needed 0.5 for the same
        training-side rates; not adopted).
    music_from_zero : the music mean starts from "no music" (0 at full weight), so the gate
        opens once the network has said music for a while (at a steady 1.0, ln 2 windows:
        0.69 s), not on its first frames, whose output, from the network's zero state, can be
        high on anything (white noise: 0.84). Off (default): bias-corrected from the first
        frame, which at the default threshold is safe; at 0.5 the first frames of white noise
        opened the gate (session 30; on, the chart validation tracks then lock in 1.48 s
        instead of 1.18 s, BENCHMARKS.md).
    music_lock_periodicity : the periodicity bar while the music gate is open, in place of
        ``lock_periodicity`` (equal: no difference). A lock that needed it is on credit too.
        0 (session 19, rule written before the runs; informed by a look at the validation
        data, confirmed on fresh data): the charts' median lock 0.83 s instead of 1.12 s, ASAP
        F 0.252 instead of 0.246, beats on sound without a beat unchanged on the bench and
        fewer on the evaluation-only kinds (a lock on credit ends when the music output falls).
    music_absent : the other side: while that mean is below this, the network hears no music,
        and locking needs ``relock_gain``; a lock falls back to LOCKING (after ``unlock_s``)
        while the gain stays below ``relock_gain``. 0 turns it off. Off by default (session
        19, with the other defaults): 0.5 cuts beats on sound without a beat from 16.9 / 10.8 /
        41.1 / 56.8 to 6.4 / 3.3 / 29.0 / 32.2 per minute (``bench_false_beats.py``, seeds 0
        and 400, unseen sets 1 and 2) at a small cost on music (synthetic F -0.006, ASAP F
        -0.001, chart median lock 0.87 s instead of 0.83 s); the head does not hear "no
        music" in babble, crowds or applause, which stay at 60-130 per minute. For rooms with
        talk and claps between songs. (Session 30: with a head that has heard recorded
        ambience, 0.2 cuts applause to 5 and babble to 28 per minute; not adopted,
        BENCHMARKS.md.)
    unlock_threshold : ``p_window`` needed to resume emitting when the beats come back after a
        break (HOLDING -> LOCKED; below it, HOLDING -> LOCKING).
    evidence_floor : the peak envelope of the beat activation above its running mean must reach
        this for beat evidence.
    evidence_decay_s : time constant of that peak envelope and of the running mean (seconds).
    hold_s : how long beats continue through a break without evidence (HOLDING -> LOST).
    min_gap : a new beat must be at least this fraction of the beat period after the last one.
    meters : beats per bar considered by the bar tracker.
    bar_switch_prob : probability per beat of a jump of the bar position / meter.
    lock_correction : with a locked tempo, beats follow a clock at the locked period and the
        tracked phase moves each beat by at most this fraction of the period.
    tap_reset_s : a tap later than this after the previous tap starts a new tap sequence.
    tap_count : number of recent taps in the tap-tempo regression.
    prior_bpm, prior_octaves : log-normal tempo prior of the restart distribution (and of the
        online tempo's candidates). ``prior_octaves`` 0.5 and ``evidence_floor`` 0.03 (were 0.8
        and 0.05) were chosen together on validation data (session 9, ``export.tune_tracker
        --asap --synth-level 0 1 2 3 --synth-n 8``): ASAP classical excerpts F 0.217 instead of
        0.196, chart tracks F / AMLt 0.869 / 0.871 unchanged, synthetic levels 0-3 0.776 instead
        of 0.766, 30 s chart excerpts 0.855 instead of 0.856, no beat on random activations.
    """

    min_bpm: float = 55.0
    max_bpm: float = 215.0
    num_tempi: int = 0
    transition_lambda: float = 100.0
    observation_lambda: float = 16.0
    beat_region: float = 0.0
    beat_region_early: float = 0.0
    music_observation_lambda: float = 24.0
    music_beat_region_early: float = 0.0
    activation_floor: float = 0.01
    restart_prob: float = 1e-3
    restart_decay: float = 4.0
    fit_window_s: float = 2.0
    tempo_weight: float = 0.0
    lookahead_ms: float = 100.0
    confidence_window_ms: float = 70.0
    lock_threshold: float = 0.3
    lock_gain: float = 0.02
    lock_periodicity: float = 0.05
    gate_mean_window_s: float = 0.0
    unlock_threshold: float = 0.25
    unlock_gain: float = -0.25
    unlock_s: float = 1.0
    relock_gain: float = 0.2
    lock_llr: float = 0.0
    music_threshold: float = 0.8
    music_lock_gain: float = -10.0
    music_window_s: float = 1.0
    music_from_zero: bool = False
    music_absent: float = 0.0
    music_lock_periodicity: float = 0.0
    evidence_floor: float = 0.03
    evidence_decay_s: float = 1.0
    hold_s: float = 4.0
    min_gap: float = 0.6
    meters: tuple = (3, 4)
    bar_switch_prob: float = 0.02
    lock_correction: float = 0.03
    tap_reset_s: float = 2.0
    tap_count: int = 8
    prior_bpm: float = 120.0
    prior_octaves: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.min_bpm < self.max_bpm:
            raise ValueError(f"tracker tempo range must satisfy 0 < min_bpm < max_bpm "
                             f"(got {self.min_bpm}, {self.max_bpm})")
        if self.observation_lambda <= 1 or self.transition_lambda <= 0:
            raise ValueError("observation_lambda must be > 1 and transition_lambda > 0")
        if (min(self.beat_region, self.beat_region_early, self.music_beat_region_early) < 0
                or self.beat_region + self.beat_region_early + self.music_beat_region_early
                >= 0.5):
            raise ValueError("beat_region, beat_region_early and music_beat_region_early must "
                             "be >= 0 with a sum below 0.5")
        if self.music_observation_lambda != 0 and self.music_observation_lambda <= 1:
            raise ValueError("music_observation_lambda must be 0 (observation_lambda) or > 1")
        if not 0 <= self.restart_prob < 1 or not 0 <= self.activation_floor < 0.5:
            raise ValueError("restart_prob must be in [0, 1) and activation_floor in [0, 0.5)")
        if not self.meters or any(int(m) < 2 for m in self.meters):
            raise ValueError("meters must list beats per bar >= 2")
        if (not 0.0 < self.music_threshold <= 1.0 or self.music_window_s <= 0
                or not 0.0 <= self.music_absent < self.music_threshold):
            raise ValueError("music_threshold must be in (0, 1], music_absent in "
                             "[0, music_threshold) and music_window_s > 0")
        if self.lookahead_ms < 0 or self.hold_s < 0 or self.gate_mean_window_s < 0:
            raise ValueError("lookahead_ms, hold_s and gate_mean_window_s must be >= 0")


# --------------------------------------------------------------------------------------------
# numba kernels (no allocation)

# indices into the kernel's float output vector
_O_DSTAR, _O_DMEAN, _O_PWIN, _O_INTERVAL, _O_MASS, _O_SCALE, _O_PBEAT = 0, 1, 2, 3, 4, 5, 6
# the float per-tempo rows after _dbn_step's first five in ``BeatTracker._tf``
_TF_PERIODS, _TF_SCORES, _TF_PRIOR = 5, 6, 7


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def _dbn_step(a, use_obs, fwd, ti, trans, tf, eps, onb_scale, ra, rb, hist_c, win, out):
    """One forward-filter step; then the next-beat histogram and the prediction summary.

    Each tempo block of ``fwd`` is a ring: phase ``p`` of tempo ``i`` is stored at
    ``first[i] + (p + c0[i]) % intervals[i]``; advancing all phases by one frame is just
    ``c0[i] -= 1``, so the per-frame cost is one pass over the states plus the (banded) tempo
    transitions. ``fwd`` is stored unnormalised; ``out[_O_SCALE]`` is the factor that normalises
    it (applied lazily in the next step). ``ti`` and ``tf`` pack the per-tempo int and float
    arrays (fewer arguments: numba's call overhead grows with their number). ``ra`` and ``rb``
    are the widths of the beat region after and before the beat, as fractions of the period.
    """
    first, intervals, c0, band_lo, band_hi = ti[0], ti[1], ti[2], ti[3], ti[4]
    win_lo, win_hi = ti[5], ti[6]
    mask, tw, restart_t, lastbuf, tmass = tf[0], tf[1], tf[2], tf[3], tf[4]
    nt = intervals.shape[0]
    scale = out[_O_SCALE]
    # probability leaving each tempo's last phase (its slot becomes the new phase 0)
    for j in range(nt):
        n = intervals[j]
        q = c0[j] - 1
        if q < 0:
            q += n
        lastbuf[j] = fwd[first[j] + q] * scale
        c0[j] = q  # new phase-0 slot = old last-phase slot
    for i in range(nt):
        tmass[i] = 0.0
    for j in range(nt):
        v = lastbuf[j]
        if v == 0.0:
            continue
        for i in range(band_lo[j], band_hi[j]):
            tmass[i] += v * trans[j, i]
    keep = 1.0 - eps
    if use_obs:
        ob = a
        onb = (1.0 - a) * onb_scale
    else:
        ob = 1.0
        onb = 1.0
    total = 0.0
    p0sum = 0.0  # predicted probability mass of "a beat now" (before the observation)
    pksum = 0.0  # the same, with the beat region's states at their weights
    for i in range(nt):
        f = first[i]
        n = intervals[i]
        c = c0[i]
        mk = mask[i]
        add = eps * restart_t[i] / n
        sk = keep * mk * scale
        # phase 0 (the beat)
        v = keep * mk * tw[i] * tmass[i] + add
        p0sum += v
        v *= ob
        fwd[f + c] = v
        m = v
        # phases 1 .. n-1, in two runs of the ring without wrap tests
        lim = n - c
        for p in range(1, lim):
            q = f + c + p
            v = (fwd[q] * sk + add) * onb
            fwd[q] = v
            m += v
        for p in range(max(lim, 1), n):
            q = f + c + p - n
            v = (fwd[q] * sk + add) * onb
            fwd[q] = v
            m += v
        wa = n * ra
        wb = n * rb
        if (wa > 0.0 or wb > 0.0) and onb > 0.0:
            # beat region: the phases d = 1, 2 .. frames after (before) the beat see the beat
            # activation with weight clip(w - d + 1, 0, 1) for the region's width w in frames,
            # so the region grows continuously with the beat period
            r = ob / onb - 1.0
            for d in range(1, min(int(max(wa, wb)) + 1, n // 2) + 1):
                wt = min(max(wa - d + 1.0, 0.0), 1.0)
                if wt > 0.0:
                    q = f + (c + d) % n
                    v0 = fwd[q]
                    fwd[q] = v0 * (1.0 + wt * r)
                    m += v0 * wt * r
                    pksum += v0 * wt
                wt = min(max(wb - d + 1.0, 0.0), 1.0)
                if wt > 0.0 and n - d != d:
                    q = f + (c + n - d) % n
                    v0 = fwd[q]
                    fwd[q] = v0 * (1.0 + wt * r)
                    m += v0 * wt * r
                    pksum += v0 * wt
        tmass[i] = m
        total += m
    # predicted beat probability of this frame, before the observation: the mass that sees
    # the beat activation (phase 0 and the beat region at its weights) / all mass
    rest = total - p0sum * ob
    if onb > 0.0:
        pksum /= onb    # states of the beat region: their mass before the observation
        pre = p0sum + (rest - pksum * (ob - onb)) / onb
    else:
        pre = p0sum + rest
    out[_O_PBEAT] = (p0sum + pksum) / pre if pre > 0.0 else 0.0
    if total <= 0.0 or not np.isfinite(total):
        # numerical collapse: restart from the restart distribution
        total = 0.0
        for i in range(nt):
            f = first[i]
            n = intervals[i]
            v = restart_t[i] / n
            for q in range(n):
                fwd[f + q] = v
            tmass[i] = restart_t[i]
            total += restart_t[i]
    inv = 1.0 / total
    out[_O_SCALE] = inv
    for i in range(nt):
        tmass[i] *= inv
    nh = hist_c.shape[0]
    # MAP tempo cluster: the +-10 % window of tempi with the most mass
    imap = 0
    bm = -1.0
    cum = lastbuf  # reuse as prefix sums of the tempo masses (lastbuf is free now)
    acc = 0.0
    for i in range(nt):
        cum[i] = acc
        acc += tmass[i]
    for i in range(nt):
        hi = win_hi[i]
        cm = (acc if hi >= nt else cum[hi]) - cum[win_lo[i]]
        if cm > bm:
            bm = cm
            imap = i
    sw = 0.0
    si = 0.0
    for j in range(win_lo[imap], win_hi[imap]):
        sw += tmass[j]
        si += tmass[j] * intervals[j]
    interval = si / sw if sw > 0.0 else float(intervals[imap])
    # next-beat histogram of that cluster only (no mixing of metrical levels)
    for k in range(nh):
        hist_c[k] = 0.0
    for i in range(win_lo[imap], win_hi[imap]):
        f = first[i]
        n = intervals[i]
        c = c0[i]
        hist_c[0] += fwd[f + c] * inv
        for p in range(1, n):
            q = c + p
            if q >= n:
                q -= n
            hist_c[n - p] += fwd[f + q] * inv
    dstar = 0
    best = -1.0
    for k in range(nh):
        if hist_c[k] > best:
            best = hist_c[k]
            dstar = k
    w = win
    cap = int(0.15 * interval)
    w = min(w, cap)
    w = max(w, 1)
    # p_window: all hypotheses (any tempo) with a beat within +-w frames of the prediction,
    # i.e. phase p = n - d (p = 0 for d = 0) for d in [dstar - w, dstar + w]
    pw = 0.0
    for i in range(nt):
        f = first[i]
        n = intervals[i]
        c = c0[i]
        for d in range(dstar - w, dstar + w + 1):
            if d < 0 or d >= n:
                continue
            p = n - d
            if p == n:
                p = 0
            q = c + p
            if q >= n:
                q -= n
            pw += fwd[f + q]
    pw *= inv
    sm = 0.0
    sd = 0.0
    for k in range(dstar - 3, dstar + 4):
        if 0 <= k < nh:
            sm += hist_c[k]
            sd += hist_c[k] * k
    out[_O_DSTAR] = dstar
    out[_O_DMEAN] = sd / sm if sm > 0.0 else float(dstar)
    out[_O_PWIN] = pw
    out[_O_INTERVAL] = interval
    out[_O_MASS] = bm


@numba.njit(cache=True, nogil=True)
def _restart_weights(scores, prior, mask, floor, out):
    """Restart distribution per tempo: prior * (floor + tempo score), masked, normalised."""
    tot = 0.0
    for i in range(out.shape[0]):
        v = prior[i] * (floor + scores[i]) * mask[i]
        out[i] = v
        tot += v
    if tot > 0.0:
        for i in range(out.shape[0]):
            out[i] /= tot


@numba.njit(cache=True, nogil=True)
def _tempo_weights(restart_t, gamma, tw):
    """Per-beat tempo weights ``(w_i / max w) ** gamma`` from the restart distribution."""
    mx = 0.0
    for i in range(restart_t.shape[0]):
        mx = max(mx, restart_t[i])
    for i in range(restart_t.shape[0]):
        tw[i] = (restart_t[i] / mx) ** gamma if mx > 0.0 else 1.0


@numba.njit(cache=True, nogil=True)
def _bar_predict(belief, st_meter, st_pos, switch, pred, pos_prob):
    """Advance the bar HMM by one beat: ``pred``; marginal of the position in ``pos_prob``."""
    ns = belief.shape[0]
    for s in range(ns):
        pred[s] = 0.0
    for s in range(ns):
        m = st_meter[s]
        p = (st_pos[s] + 1) % m
        # state index of (m, p): states of one meter are contiguous, ordered by position
        t = s - st_pos[s] + p
        pred[t] += belief[s] * (1.0 - switch)
        if ns > 1:
            for u in range(ns):
                if u != t:
                    pred[u] += belief[s] * switch / (ns - 1)
    for k in range(pos_prob.shape[0]):
        pos_prob[k] = 0.0
    for s in range(ns):
        pos_prob[st_pos[s]] += pred[s]


@numba.njit(cache=True, nogil=True)
def _bar_update(pred, st_pos, x, belief):
    """Bar HMM observation: ``x`` = probability that the observed beat is a downbeat."""
    tot = 0.0
    for s in range(pred.shape[0]):
        v = pred[s] * (x if st_pos[s] == 0 else 1.0 - x)
        belief[s] = v
        tot += v
    if tot > 0.0:
        for s in range(pred.shape[0]):
            belief[s] /= tot
    else:
        for s in range(pred.shape[0]):
            belief[s] = pred[s]


@numba.njit(cache=True, nogil=True)
def _ring_max(ring_b, ring_d, pos, n_back_lo, n_back_hi, out):
    """Max beat and downbeat activation ``n_back_hi .. n_back_lo`` frames back (0 = newest)."""
    n = ring_b.shape[0]
    mb = 0.0
    md = 0.0
    for back in range(n_back_lo, n_back_hi + 1):
        if back < 0 or back >= n:
            continue
        q = pos - 1 - back
        while q < 0:
            q += n
        mb = max(mb, ring_b[q])
        md = max(md, ring_d[q])
    out[0] = mb
    out[1] = md


# scalar tracker state, one float64 vector (``BeatTracker._sv``) so that the per-frame loop runs
# in one numba call: indices
(_S_FRAME, _S_STATE, _S_WAS_LOCKED, _S_ENV, _S_BASE, _S_GAIN, _S_INTERVAL, _S_LOW_SINCE,
 _S_HOLD_START, _S_MANUAL_UNTIL, _S_LAST_COMMIT, _S_BEAT_INDEX, _S_PENDING, _S_PENDING_FRAME,
 _S_SALIENCE, _S_OFFSET, _S_LOCKED_BPM, _S_PWIN, _S_BPM, _S_NEXT_BEAT, _S_RING_POS,
 _S_N_RECENT, _S_RELOCKING, _S_LLR, _S_MUSIC, _S_MUSIC_WEIGHT, _S_MUSIC_LOCK) = range(27)
_N_S = 27
# parameters of the per-frame loop (``BeatTracker._pv``): indices
(_P_EVIDENCE_FLOOR, _P_ACTIVATION_FLOOR, _P_RESTART_PROB, _P_RESTART_DECAY, _P_LOCK_THRESHOLD,
 _P_LOCK_GAIN, _P_LOCK_PERIODICITY, _P_UNLOCK_GAIN, _P_UNLOCK_S, _P_UNLOCK_THRESHOLD, _P_HOLD_S,
 _P_LOOKAHEAD_FRAMES, _P_MIN_GAP, _P_LOCK_CORRECTION, _P_BAR_SWITCH, _P_ENV_DECAY, _P_GAIN_DECAY,
 _P_HOP_S, _P_DELAY_S, _P_FPS, _P_ONB_SCALE, _P_WIN, _P_TEMPO_ALPHA, _P_TEMPO_FPS,
 _P_N_HARMONICS, _P_TEMPO_WEIGHT, _P_RELOCK_GAIN, _P_N_POS, _P_LOCK_LLR,
 _P_TEMPO_MEAN_ALPHA, _P_MUSIC_ALPHA, _P_MUSIC_THRESHOLD, _P_MUSIC_LOCK_GAIN,
 _P_MUSIC_ABSENT, _P_MUSIC_LOCK_PERIODICITY, _P_REGION_AFTER, _P_REGION_BEFORE,
 _P_MUSIC_ONB_SCALE, _P_MUSIC_REGION_BEFORE, _P_MUSIC_FROM_ZERO) = range(40)
_N_P = 40
_N_RECENT = 8  # emitted beats remembered for "this is beat one"

_LISTENING, _LOCKING, _LOCKED, _HOLDING, _LOST = 0, 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def _set_state(sv, st):
    """Enter state ``st`` (entering LOCKED marks the stream as once locked and seeds the
    salience from the evidence envelope; LOCKED, LISTENING and LOST end a re-lock after an
    unlock, see ``relock_gain``; LISTENING and LOST clear the summed gain, see ``lock_llr``)."""
    if st != sv[_S_STATE]:
        sv[_S_STATE] = st
        if st != _LOCKING:
            sv[_S_RELOCKING] = 0.0
        if st == _LISTENING or st == _LOST:
            sv[_S_LLR] = 0.0
        if st == _LOCKED:
            sv[_S_WAS_LOCKED] = 1.0
            if sv[_S_SALIENCE] <= 0.0:
                sv[_S_SALIENCE] = min(1.0, sv[_S_ENV])


@numba.njit(cache=True, nogil=True)
def _gain_per_beat(sv):
    """The averaged information gain (per frame) times the tracked beat interval: nats per
    beat, the unit of ``lock_gain``, ``relock_gain``, ``unlock_gain`` and ``restart_decay``."""
    return sv[_S_GAIN] * sv[_S_INTERVAL]


@numba.njit(cache=True, nogil=True)
def _music_on(sv, pv):
    """The network's music output, averaged over ``music_window_s``, is at least
    ``music_threshold``."""
    return sv[_S_MUSIC] >= pv[_P_MUSIC_THRESHOLD]


@numba.njit(cache=True, nogil=True)
def _music_absent(sv, pv):
    """The network's averaged music output is below ``music_absent`` (never for a network
    without a music output: its mean is NaN)."""
    return sv[_S_MUSIC] < pv[_P_MUSIC_ABSENT]


@numba.njit(cache=True, nogil=True)
def _gain_passes(sv, pv):
    """The start gate's evidence condition: after an unlock the gain per beat must reach
    ``relock_gain``; with the strict start the gain summed since the evidence began must reach
    ``lock_llr``; while the network hears no music, ``relock_gain``; otherwise the gain per
    beat ``lock_gain``, or ``music_lock_gain`` while the network hears music (the lock is then
    on credit, see ``music_lock_gain``)."""
    if sv[_S_RELOCKING] > 0.0 or _music_absent(sv, pv):
        return _gain_per_beat(sv) >= pv[_P_RELOCK_GAIN]
    if pv[_P_LOCK_LLR] > 0.0:
        return sv[_S_LLR] >= pv[_P_LOCK_LLR]
    if _music_on(sv, pv) and _gain_per_beat(sv) >= pv[_P_MUSIC_LOCK_GAIN]:
        return True
    return _gain_per_beat(sv) >= pv[_P_LOCK_GAIN]


@numba.njit(cache=True, nogil=True)
def _update_restart(tf, t_r, n_harmonics, tempo_weight):
    """Restart distribution and per-beat tempo weights from the online tempo's comb scores
    (an all-zero masked distribution unmasks every tempo)."""
    mask, tw, restart_t = tf[0], tf[1], tf[2]
    _comb_scores(t_r, tf[_TF_PERIODS], n_harmonics, tf[_TF_SCORES])
    _restart_weights(tf[_TF_SCORES], tf[_TF_PRIOR], mask, 0.05, restart_t)
    tot = 0.0
    for i in range(restart_t.shape[0]):
        tot += restart_t[i]
    if tot <= 0.0:
        for i in range(mask.shape[0]):
            mask[i] = 1.0
        _restart_weights(tf[_TF_SCORES], tf[_TF_PRIOR], mask, 0.05, restart_t)
    _tempo_weights(restart_t, tempo_weight, tw)


@numba.njit(cache=True, nogil=True)
def _observe_pending(sv, k, ring_b, ring_d, scratch, bar_pred, st_pos, bar_belief):
    """Bar HMM update and salience from the activations around the pending beat."""
    back_centre = k - sv[_S_PENDING_FRAME]
    lo = int(math.floor(back_centre - 3))
    hi = int(math.ceil(back_centre + 4))
    _ring_max(ring_b, ring_d, int(sv[_S_RING_POS]), max(0, lo), hi, scratch)
    mb, md = scratch[0], scratch[1]
    x = md / mb if mb > 1e-3 else 0.5
    x = min(max(x, 0.0), 1.0)
    strength = min(1.0, mb / 0.3)
    x = 0.5 + (x - 0.5) * strength * 0.9
    _bar_update(bar_pred, st_pos, x, bar_belief)
    sv[_S_SALIENCE] = 0.65 * sv[_S_SALIENCE] + 0.35 * mb
    sv[_S_PENDING] = 0.0


@numba.njit(cache=True, nogil=True)
def _track(beats, downs, actives, musics, sv, pv, fwd, ti, trans, tf, hist_c, out, t_mean,
           t_hist, t_pos, t_r, bar, st_meter, st_pos, ring_b, ring_d, scratch, recent, events):
    """Run the tracker over ``len(beats)`` frames (``musics``: the network's music output per
    frame, or one NaN for a network without one); write each committed beat as a row
    ``(time, beat_index, beat_in_bar, bpm, confidence)`` of ``events`` and return their number.

    ``bar`` stacks the bar HMM's belief, prediction and position marginal (padded rows).
    All state lives in the arguments (``sv`` scalars, the rest arrays); nothing is allocated.
    """
    bar_belief, bar_pred = bar[0], bar[1]
    n_pos = int(pv[_P_N_POS])  # the longest bar
    pos_prob = bar[2, :n_pos]
    hop_s = pv[_P_HOP_S]
    delay_s = pv[_P_DELAY_S]
    fps = pv[_P_FPS]
    n_ev = 0
    for j in range(beats.shape[0]):
        active = actives[j]
        k = int(sv[_S_FRAME]) + 1
        sv[_S_FRAME] = k
        b = beats[j] if active else 0.0
        # ring of activations for the bar tracker
        rp = int(sv[_S_RING_POS])
        ring_b[rp] = b
        ring_d[rp] = downs[j] if active else 0.0
        sv[_S_RING_POS] = (rp + 1) & 63
        _acf_update(b, pv[_P_TEMPO_ALPHA], pv[_P_TEMPO_MEAN_ALPHA], t_mean, t_hist, t_pos, t_r)
        # music output: exponential mean over music_window_s of the sounding frames, from
        # "no music" (music_from_zero) or bias-corrected from the first one (NaN, "unknown",
        # before it and throughout without a music output)
        if active:
            mu = musics[j] if musics.shape[0] > 1 else musics[0]
            if sv[_S_MUSIC_WEIGHT] == 0.0 and pv[_P_MUSIC_FROM_ZERO] > 0.0 and math.isfinite(mu):
                sv[_S_MUSIC] = 0.0
                sv[_S_MUSIC_WEIGHT] = 1.0
            _ew_mean(mu, pv[_P_MUSIC_ALPHA], sv, _S_MUSIC)
        if k % 25 == 0:
            _update_restart(tf, t_r, int(pv[_P_N_HARMONICS]), pv[_P_TEMPO_WEIGHT])
        # beat evidence: peak envelope of the activation above its slow running mean (a flat
        # activation, however high, is no evidence of beats)
        if k == 0:
            sv[_S_BASE] = b
        sv[_S_BASE] += (1.0 - pv[_P_ENV_DECAY]) * (b - sv[_S_BASE])
        env = max(sv[_S_ENV] * pv[_P_ENV_DECAY], b - sv[_S_BASE])
        sv[_S_ENV] = env
        evidence = env >= pv[_P_EVIDENCE_FLOOR]
        manual = sv[_S_MANUAL_UNTIL] >= (k + 1.0) * hop_s
        af = pv[_P_ACTIVATION_FLOOR]
        a = min(max(b, af), 1.0 - af)
        state = int(sv[_S_STATE])
        # observations are applied to every sounding frame, except while holding through a
        # break (then the filter coasts and carries the phase)
        observe = active and (evidence or state != _HOLDING)
        eps = 0.0
        if observe:
            # re-locking pressure: full restart_prob while the tracked grid predicts the
            # activation no better than chance, vanishing as its predictions get good
            # (floored at 1e-12: the restart mass also keeps every state far from denormals)
            eps = max(1e-12, pv[_P_RESTART_PROB] * min(1.0, math.exp(
                -pv[_P_RESTART_DECAY] * _gain_per_beat(sv))))
        # the observation model: sharper while the network hears music (music_observation_*)
        ra = pv[_P_REGION_AFTER]
        if _music_on(sv, pv):
            onb_scale, rb = pv[_P_MUSIC_ONB_SCALE], pv[_P_MUSIC_REGION_BEFORE]
        else:
            onb_scale, rb = pv[_P_ONB_SCALE], pv[_P_REGION_BEFORE]
        _dbn_step(a, observe, fwd, ti, trans, tf, eps, onb_scale, ra, rb, hist_c,
                  int(pv[_P_WIN]), out)
        pwin = out[_O_PWIN]
        sv[_S_PWIN] = pwin
        interval = out[_O_INTERVAL]
        sv[_S_INTERVAL] = interval
        if observe:
            # information gain of the tracker's beat prediction over a tempo-only null model
            # (the beat and its region at a random phase)
            onb = (1.0 - a) * onb_scale
            pb = out[_O_PBEAT]
            pi = min(1.0, 1.0 / interval + ra + rb)
            g = math.log((pb * a + (1.0 - pb) * onb) / (pi * a + (1.0 - pi) * onb))
            sv[_S_GAIN] += (1.0 - pv[_P_GAIN_DECAY]) * (g - sv[_S_GAIN])
            if pv[_P_LOCK_LLR] > 0.0:
                # the gain summed since the evidence began (CUSUM: never below 0, capped)
                sv[_S_LLR] = min(max(sv[_S_LLR] + g, 0.0), 1.5 * pv[_P_LOCK_LLR])
        locked_bpm = sv[_S_LOCKED_BPM]
        bpm = locked_bpm if locked_bpm > 0.0 else 60.0 * fps / interval
        sv[_S_BPM] = bpm
        d_mean = out[_O_DMEAN]
        t_pred = (k + d_mean + 1.0) * hop_s - delay_s
        sv[_S_NEXT_BEAT] = t_pred + sv[_S_OFFSET]

        # observe the pending (committed, now past) beat for bars and salience
        if sv[_S_PENDING] > 0.0 and k >= sv[_S_PENDING_FRAME] + 3:
            _observe_pending(sv, k, ring_b, ring_d, scratch, bar_pred, st_pos, bar_belief)

        # state machine
        if (state == _LISTENING or state == _LOST) and evidence:
            _set_state(sv, _LOCKING)
            state = _LOCKING
        if state == _LOCKING:
            if not evidence and not manual:
                _set_state(sv, _LOST if sv[_S_WAS_LOCKED] > 0.0 else _LISTENING)
            else:
                go = manual
                credit = False
                if (not go and pwin >= pv[_P_LOCK_THRESHOLD]
                        and d_mean >= pv[_P_LOOKAHEAD_FRAMES]
                        and _gain_passes(sv, pv)):
                    # periodicity of the tracked tempo (the online tempo's comb score)
                    comb = _comb_score(t_r, 60.0 * pv[_P_TEMPO_FPS] / bpm,
                                       int(pv[_P_N_HARMONICS]))
                    music = _music_on(sv, pv)
                    go = comb >= (pv[_P_MUSIC_LOCK_PERIODICITY] if music
                                  else pv[_P_LOCK_PERIODICITY])
                    # on the music gate's credit when the gain or the periodicity alone would
                    # not have passed
                    credit = music and (comb < pv[_P_LOCK_PERIODICITY] or (
                        sv[_S_RELOCKING] <= 0.0 and pv[_P_LOCK_LLR] <= 0.0
                        and _gain_per_beat(sv) < pv[_P_LOCK_GAIN]))
                if go:
                    sv[_S_MUSIC_LOCK] = 1.0 if credit else 0.0
                    _set_state(sv, _LOCKED)
        elif state == _LOCKED:
            if (sv[_S_MUSIC_LOCK] > 0.0 and _gain_per_beat(sv) >= pv[_P_RELOCK_GAIN]
                    and _comb_score(t_r, 60.0 * pv[_P_TEMPO_FPS] / bpm,
                                    int(pv[_P_N_HARMONICS])) >= pv[_P_LOCK_PERIODICITY]):
                sv[_S_MUSIC_LOCK] = 0.0   # the grid has earned the lock on its own
            if not evidence and not manual:
                sv[_S_HOLD_START] = k
                _set_state(sv, _HOLDING)
            elif ((_gain_per_beat(sv) < pv[_P_UNLOCK_GAIN]
                   or (sv[_S_MUSIC_LOCK] > 0.0 and not _music_on(sv, pv))
                   or (_music_absent(sv, pv) and _gain_per_beat(sv) < pv[_P_RELOCK_GAIN]))
                  and not manual and locked_bpm <= 0.0):
                if sv[_S_LOW_SINCE] < 0.0:
                    sv[_S_LOW_SINCE] = k
                elif (k - sv[_S_LOW_SINCE]) >= pv[_P_UNLOCK_S] * fps:
                    _set_state(sv, _LOCKING)
                    sv[_S_RELOCKING] = 1.0
            else:
                sv[_S_LOW_SINCE] = -1.0
        elif state == _HOLDING:
            if evidence or manual:
                sv[_S_LOW_SINCE] = -1.0
                _set_state(sv, _LOCKED if (pwin >= pv[_P_UNLOCK_THRESHOLD] or manual)
                           else _LOCKING)
            elif (k - sv[_S_HOLD_START]) >= pv[_P_HOLD_S] * fps and locked_bpm <= 0.0:
                _set_state(sv, _LOST)
        state = int(sv[_S_STATE])
        if state != _LOCKED:
            sv[_S_LOW_SINCE] = -1.0

        # predictive emission
        if not active or (state != _LOCKED and state != _HOLDING):
            continue
        period_s = interval / fps
        last = sv[_S_LAST_COMMIT]
        if locked_bpm > 0.0:
            # locked tempo: a steady clock at the locked period; the tracked phase may pull
            # each beat by at most `lock_correction` of the period
            lp = 60.0 / locked_bpm
            t_lock = last + lp
            if abs(t_pred - t_lock) < 0.5 * lp:
                c = pv[_P_LOCK_CORRECTION] * lp
                t_pred = t_lock + min(max(t_pred - t_lock, -c), c)
            elif t_pred > t_lock - 0.5 * lp and last > (k + 1.0) * hop_s - 2 * lp:
                t_pred = t_lock  # no tracked beat near the clock: keep the clock
            d_mean = (t_pred + delay_s) / hop_s - 1.0 - k
            period_s = lp
        if d_mean > pv[_P_LOOKAHEAD_FRAMES]:
            continue
        if t_pred < last + pv[_P_MIN_GAP] * period_s:
            continue
        # commit the beat
        if sv[_S_PENDING] > 0.0:
            _observe_pending(sv, k, ring_b, ring_d, scratch, bar_pred, st_pos, bar_belief)
        _bar_predict(bar_belief, st_meter, st_pos, pv[_P_BAR_SWITCH], bar_pred, pos_prob)
        beat_in_bar = 1
        for q in range(1, n_pos):
            if pos_prob[q] > pos_prob[beat_in_bar - 1]:
                beat_in_bar = q + 1
        sv[_S_PENDING] = 1.0
        sv[_S_PENDING_FRAME] = k + d_mean
        sv[_S_LAST_COMMIT] = t_pred
        idx = sv[_S_BEAT_INDEX]
        sv[_S_BEAT_INDEX] = idx + 1.0
        # remember the last _N_RECENT beats (time without nudge, index) in a ring
        r = int(sv[_S_N_RECENT])
        recent[r % _N_RECENT, 0] = t_pred
        recent[r % _N_RECENT, 1] = idx
        sv[_S_N_RECENT] = r + 1
        row = events[n_ev]
        row[0] = t_pred + sv[_S_OFFSET]
        row[1] = idx
        row[2] = beat_in_bar
        row[3] = bpm
        row[4] = max(0.0, min(1.0, pwin * sv[_S_SALIENCE]))
        n_ev += 1
    return n_ev


# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _gate_kernel(hops, alpha, lo, hi, instant, state, out):
    """Gate each row of ``hops`` [n, hop_length] into ``out[:n]``; ``state`` holds the smoothed
    mean square and the open flag. A hop whose own mean square is below ``instant`` closes the
    gate at once and keeps it closed."""
    ms, is_open = state[0], state[1] > 0.0
    for k in range(hops.shape[0]):
        acc = 0.0
        for i in range(hops.shape[1]):
            v = float(hops[k, i])
            acc += v * v
        h = acc / max(1, hops.shape[1])
        ms = alpha * ms + (1.0 - alpha) * h
        if is_open and (ms < lo or h < instant):
            is_open = False
        elif not is_open and ms > hi and h >= instant:
            is_open = True
        out[k] = is_open
    state[0], state[1] = ms, 1.0 if is_open else 0.0


class SilenceGate:
    """Level gate: ``True`` (sound present) unless the smoothed RMS level stays below a floor.

    The level is an exponentially smoothed mean square per hop (``smooth_s``) in dBFS; the gate
    closes below ``floor_db`` and opens again above ``floor_db + hysteresis_db``. A hop whose own
    level is ``instant_db`` or more below the floor (digital silence: the music was stopped)
    closes it at once instead of after the smoother's decay (about 0.8 s from -15 dBFS), so no
    predicted beat comes out of the silence. One numba call gates all hops of a wake-up.

    Examples
    --------
    >>> g = SilenceGate(441, 44100)
    >>> g.process_hop(np.zeros(441, np.float32))
    False
    """

    def __init__(self, hop_length: int, sample_rate: int, floor_db: float = -50.0,
                 hysteresis_db: float = 3.0, smooth_s: float = 0.1,
                 instant_db: float = 20.0) -> None:
        self.floor_db = floor_db
        self.hysteresis_db = hysteresis_db
        self._alpha = math.exp(-hop_length / (smooth_s * sample_rate))
        self._lo = 10.0 ** (floor_db / 10.0)
        self._hi = 10.0 ** ((floor_db + hysteresis_db) / 10.0)
        self._instant = 10.0 ** ((floor_db - instant_db) / 10.0)
        self._state = np.zeros(2, np.float64)
        self._one = np.zeros(1, np.bool_)
        self.reset()

    def reset(self) -> None:
        """Start closed (silent) with no level history."""
        self._state[:] = 0.0

    @property
    def open(self) -> bool:
        """Whether sound is present (after the last hop)."""
        return bool(self._state[1] > 0.0)

    def process_hop(self, hop: np.ndarray) -> bool:
        """Feed one hop of samples; return whether sound is present."""
        _gate_kernel(np.asarray(hop)[None], self._alpha, self._lo, self._hi, self._instant,
                     self._state, self._one)
        return bool(self._one[0])

    def process_hops(self, hops: np.ndarray, out: np.ndarray) -> None:
        """Gate value of each row of ``hops`` [n, hop_length] into ``out[:n]`` (the same as
        :meth:`process_hop` per row)."""
        _gate_kernel(hops, self._alpha, self._lo, self._hi, self._instant, self._state, out)

    def process_signal(self, y: np.ndarray, hop_length: int) -> np.ndarray:
        """Gate value for every complete hop of ``y`` (same as :meth:`process_hop` per hop)."""
        n = len(y) // hop_length
        out = np.zeros(n, bool)
        _gate_kernel(np.asarray(y[:n * hop_length]).reshape(n, hop_length), self._alpha,
                     self._lo, self._hi, self._instant, self._state, out)
        return out


def _sv_field(i: int, doc: str) -> property:
    """A float attribute stored in the scalar state vector ``_sv`` (shared with the kernel)."""
    def get(self) -> float:
        return float(self._sv[i])

    def set(self, v: float) -> None:
        self._sv[i] = v

    return property(get, set, doc=doc)


def _event(row: np.ndarray) -> BeatEvent:
    return BeatEvent(float(row[0]), int(row[1]), int(row[2]), float(row[3]), float(row[4]))


class BeatTracker:
    """Online beat, tempo and bar tracker; one :meth:`process` call per activation frame.

    The per-frame work runs in one numba call (:meth:`process` for one frame, or
    :meth:`process_sequence` for many: a file); all state lives in preallocated arrays, the
    scalars in one vector, so the manual-control methods and the kernel share it.

    Parameters
    ----------
    params : :class:`TrackerParams`.
    frontend : the frontend timing (frame rate, ``frame_time``); the network's ``.params``.
    tempo_params : parameters of the embedded :class:`~realtime.tempo.TempoEstimator`
        (available as ``.tempo``); its range is widened to the tracker's range if narrower.

    Examples
    --------
    >>> tr = BeatTracker()
    >>> act = np.zeros(600); act[::50] = 1.0               # 120 BPM
    >>> events = [e for a in act if (e := tr.process(a, 0.0)) is not None]
    >>> round(events[-1].bpm)
    120
    """

    bpm = _sv_field(_S_BPM, "Current tempo (BPM): the locked tempo, else the tracked one.")
    p_window = _sv_field(_S_PWIN, "Posterior probability that the next beat is within "
                                  "``confidence_window_ms`` of its prediction.")
    next_beat_time = _sv_field(_S_NEXT_BEAT, "Predicted time of the next beat (stream s).")
    offset_s = _sv_field(_S_OFFSET, "Nudge offset added to every beat time (seconds).")
    _manual_until = _sv_field(_S_MANUAL_UNTIL, "Stream time until which a tap keeps emitting.")
    _last_commit = _sv_field(_S_LAST_COMMIT, "Time of the last committed beat (no nudge).")

    @property
    def frame(self) -> int:
        """Index of the last processed frame (-1 before the first)."""
        return int(self._sv[_S_FRAME])

    @property
    def gain_per_beat(self) -> float:
        """Average information gain of the tracked grid (nats per beat; ``fit_window_s``):
        how much better than beats at random times it predicts the activation (the start
        gate's ``lock_gain``, the unlock's ``unlock_gain``)."""
        return float(_gain_per_beat(self._sv))

    @property
    def music(self) -> float:
        """The network's music output averaged over ``music_window_s`` (what the music gate
        compares with ``music_threshold``); NaN without a music output or before sound."""
        return float(self._sv[_S_MUSIC])

    @property
    def state(self) -> TrackerState:
        """Current :class:`TrackerState`."""
        return TrackerState(int(self._sv[_S_STATE]))

    @property
    def locked_bpm(self) -> float | None:
        """The tempo held by :meth:`lock_tempo`, or None."""
        v = float(self._sv[_S_LOCKED_BPM])
        return v if v > 0.0 else None

    @locked_bpm.setter
    def locked_bpm(self, bpm: float | None) -> None:
        self._sv[_S_LOCKED_BPM] = bpm if bpm else 0.0

    def __init__(self, params: TrackerParams = TrackerParams(),
                 frontend: FrontendParams = FrontendParams(),
                 tempo_params: TempoParams | None = None) -> None:
        self.params = params
        self.frontend = frontend
        p = params
        fps = frontend.frame_rate
        self.fps = fps
        self._delay_s = frontend.n_fft / 2.0 / frontend.sample_rate  # frame time -> newest sample
        self._hop_s = frontend.hop_length / frontend.sample_rate
        if tempo_params is None:
            tempo_params = TempoParams(min_bpm=p.min_bpm, max_bpm=p.max_bpm, fps=fps,
                                       prior_bpm=p.prior_bpm, prior_octaves=p.prior_octaves)
        self.tempo = TempoEstimator(tempo_params)   # reported tempo (``tempo.estimate()``)
        # the start gate's periodicity and the re-lock weights (``gate_mean_window_s``; by
        # default the estimator as it was before session 18, which the defaults were validated
        # with); the kernel updates these arrays in place
        legacy = p.gate_mean_window_s <= 0.0
        if not legacy and p.gate_mean_window_s == tempo_params.mean_window_s:
            self._gate_tempo = self.tempo        # the same autocorrelation: update it once
        else:
            self._gate_tempo = TempoEstimator(
                replace(tempo_params, mean_window_s=tempo_params.window_s if legacy
                        else p.gate_mean_window_s), mean_from_zero=legacy)
        self._acf = self._gate_tempo.acf_state

        i_min = max(2, int(math.floor(60.0 * fps / p.max_bpm)))
        i_max = int(math.ceil(60.0 * fps / p.min_bpm))
        if p.num_tempi and p.num_tempi < i_max - i_min + 1:
            # log-spaced beat intervals (madmom's num_tempi): fewer states at slow tempi
            iv = np.round(np.exp(np.linspace(math.log(i_min), math.log(i_max), p.num_tempi)))
            self._intervals = np.unique(iv.astype(np.int64))
        else:
            self._intervals = np.arange(i_min, i_max + 1, dtype=np.int64)
        nt = len(self._intervals)
        self._first = np.zeros(nt, np.int64)
        self._first[1:] = np.cumsum(self._intervals)[:-1]
        n_states = int(self._intervals.sum())
        self.n_states = n_states
        ratio = self._intervals[None, :] / self._intervals[:, None]
        trans = np.exp(-p.transition_lambda * np.abs(ratio - 1.0))
        trans[trans < 1e-9] = 0.0
        self._trans = trans / trans.sum(axis=1, keepdims=True)
        nz = self._trans > 0
        self._band_lo = np.argmax(nz, axis=1).astype(np.int64)
        self._band_hi = (nt - np.argmax(nz[:, ::-1], axis=1)).astype(np.int64)
        self._c0 = np.zeros(nt, np.int64)
        self._lastbuf = np.zeros(nt, np.float64)
        self._bpm_grid = 60.0 * fps / self._intervals
        self._prior = self.tempo.prior(self._bpm_grid)
        self._mask = np.ones(nt, np.float64)
        self._restart_t = np.zeros(nt, np.float64)
        self._tw = np.ones(nt, np.float64)
        self._scores = np.zeros(nt, np.float64)
        self._periods = self._intervals.astype(np.float64)
        self._fwd = np.zeros(n_states, np.float64)
        self._hist_c = np.zeros(i_max + 1, np.float64)
        iv = self._intervals.astype(np.float64)
        self._win_lo = np.searchsorted(iv, iv / 1.1, side="right").astype(np.int64)
        self._win_hi = np.searchsorted(iv, iv * 1.1, side="left").astype(np.int64)
        self._tmass = np.zeros(nt, np.float64)
        # pack the per-tempo arrays for the kernel; the attributes become views of the rows
        self._ti = np.ascontiguousarray(np.stack([
            self._first, self._intervals, self._c0, self._band_lo, self._band_hi,
            self._win_lo, self._win_hi]).astype(np.int64))
        (self._first, self._intervals, self._c0, self._band_lo, self._band_hi,
         self._win_lo, self._win_hi) = self._ti
        self._tf = np.ascontiguousarray(np.stack([
            self._mask, self._tw, self._restart_t, self._lastbuf, self._tmass, self._periods,
            self._scores, self._prior]))
        (self._mask, self._tw, self._restart_t, self._lastbuf, self._tmass, self._periods,
         self._scores, self._prior) = self._tf
        self._out = np.zeros(8, np.float64)
        # parameters of the per-frame kernel
        pv = np.zeros(_N_P, np.float64)
        tp = self.tempo.params
        for i, v in ((_P_EVIDENCE_FLOOR, p.evidence_floor),
                     (_P_ACTIVATION_FLOOR, p.activation_floor),
                     (_P_RESTART_PROB, p.restart_prob), (_P_RESTART_DECAY, p.restart_decay),
                     (_P_LOCK_THRESHOLD, p.lock_threshold), (_P_LOCK_GAIN, p.lock_gain),
                     (_P_LOCK_PERIODICITY, p.lock_periodicity), (_P_UNLOCK_GAIN, p.unlock_gain),
                     (_P_UNLOCK_S, p.unlock_s), (_P_UNLOCK_THRESHOLD, p.unlock_threshold),
                     (_P_HOLD_S, p.hold_s),
                     (_P_LOOKAHEAD_FRAMES, (p.lookahead_ms * 1e-3 + self._delay_s) * fps),
                     (_P_MIN_GAP, p.min_gap), (_P_LOCK_CORRECTION, p.lock_correction),
                     (_P_BAR_SWITCH, p.bar_switch_prob),
                     (_P_ENV_DECAY, math.exp(-1.0 / (p.evidence_decay_s * fps))),
                     (_P_GAIN_DECAY, math.exp(-1.0 / (p.fit_window_s * fps))),
                     (_P_HOP_S, self._hop_s), (_P_DELAY_S, self._delay_s), (_P_FPS, fps),
                     (_P_ONB_SCALE, 1.0 / (p.observation_lambda - 1.0)),
                     (_P_WIN, max(1, int(round(p.confidence_window_ms * 1e-3 * fps)))),
                     (_P_TEMPO_ALPHA, self._acf.alpha),
                     (_P_TEMPO_MEAN_ALPHA, self._acf.mean_alpha), (_P_TEMPO_FPS, tp.fps),
                     (_P_N_HARMONICS, tp.n_harmonics), (_P_TEMPO_WEIGHT, p.tempo_weight),
                     (_P_RELOCK_GAIN, p.relock_gain), (_P_N_POS, max(int(m) for m in p.meters)),
                     (_P_LOCK_LLR, p.lock_llr),
                     (_P_MUSIC_ALPHA, math.exp(-1.0 / (p.music_window_s * fps))),
                     (_P_MUSIC_THRESHOLD, p.music_threshold),
                     (_P_MUSIC_LOCK_GAIN, p.music_lock_gain),
                     (_P_MUSIC_ABSENT, p.music_absent),
                     (_P_MUSIC_LOCK_PERIODICITY, p.music_lock_periodicity),
                     (_P_REGION_AFTER, p.beat_region),
                     (_P_REGION_BEFORE, p.beat_region + p.beat_region_early),
                     (_P_MUSIC_ONB_SCALE, 1.0 / ((p.music_observation_lambda
                                                 or p.observation_lambda) - 1.0)),
                     (_P_MUSIC_REGION_BEFORE, p.beat_region + p.beat_region_early
                      + p.music_beat_region_early),
                     (_P_MUSIC_FROM_ZERO, float(p.music_from_zero))):
            pv[i] = v
        self._pv = pv
        self._sv = np.zeros(_N_S, np.float64)
        # bar HMM: belief, prediction and position marginal stacked (one kernel argument)
        meters = [int(m) for m in p.meters]
        self._st_meter = np.array([m for m in meters for _ in range(m)], np.int64)
        self._st_pos = np.array([q for m in meters for q in range(m)], np.int64)
        self._bar = np.zeros((3, len(self._st_meter)), np.float64)
        self._bar_belief, self._bar_pred = self._bar[0], self._bar[1]
        self._pos_prob = self._bar[2, :max(meters)]
        # activation ring (for the bar observation and salience)
        self._ring_b = np.zeros(64, np.float64)  # size 64: index arithmetic uses & 63
        self._ring_d = np.zeros(64, np.float64)
        self._scratch = np.zeros(2, np.float64)  # _ring_max's output
        self._recent = np.zeros((_N_RECENT, 2), np.float64)  # (time without nudge, index)
        # one-frame buffers of process()
        self._in_b = np.zeros(1, np.float64)
        self._in_d = np.zeros(1, np.float64)
        self._in_a = np.ones(1, np.bool_)
        self._in_m = np.zeros(1, np.float64)
        self._no_music = np.full(1, np.nan)   # a network without a music output
        self._ev1 = np.zeros((1, 5), np.float64)
        self._taps: list[float] = []
        self.reset()

    # ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (new stream); manual settings (locks, nudge) are cleared too."""
        self.tempo.reset()
        if self._gate_tempo is not self.tempo:
            self._gate_tempo.reset()
        self._c0[:] = 0
        self._out[:] = 0.0
        self._mask[:] = 1.0
        self._refresh_restart()
        self._seed_from_restart()
        self._bar_belief[:] = 1.0 / len(self._bar_belief)
        self._ring_b[:] = 0.0
        self._ring_d[:] = 0.0
        sv = self._sv
        sv[:] = 0.0
        sv[_S_FRAME] = -1.0
        sv[_S_STATE] = float(TrackerState.LISTENING)
        sv[_S_INTERVAL] = 50.0
        sv[_S_LOW_SINCE] = -1.0
        sv[_S_MANUAL_UNTIL] = -1.0
        sv[_S_LAST_COMMIT] = -1e9
        sv[_S_NEXT_BEAT] = math.nan
        sv[_S_MUSIC] = math.nan
        self._taps = []

    def _refresh_restart(self) -> None:
        _update_restart(self._tf, self._acf.r, self.tempo.params.n_harmonics,
                        self.params.tempo_weight)

    def _seed_from_restart(self) -> None:
        for i, (f, n) in enumerate(zip(self._first, self._intervals)):
            self._fwd[f:f + n] = self._restart_t[i] / n
        self._normalize_fwd()

    def _normalize_fwd(self) -> None:
        tot = float(self._fwd.sum())
        if tot > 0:
            self._fwd /= tot
        self._out[_O_SCALE] = 1.0

    def _slot(self, i: int, phase: int) -> int:
        """Index in the state vector of tempo ``i``, phase ``phase`` (frames since the beat)."""
        n = int(self._intervals[i])
        return int(self._first[i]) + (phase + int(self._c0[i])) % n

    def frame_time(self, k: float) -> float:
        """Stream time of (fractional) frame ``k`` (same as ``FrontendParams.frame_time``)."""
        return (k + 1.0) * self._hop_s - self._delay_s

    def _set_state(self, st: TrackerState) -> None:
        _set_state(self._sv, int(st))

    def _run(self, beat: np.ndarray, downbeat: np.ndarray, active: np.ndarray,
             music: np.ndarray, events: np.ndarray) -> int:
        """The kernel over these frames; committed beats as rows of ``events``; their number."""
        n = _track(beat, downbeat, active, music, self._sv, self._pv, self._fwd, self._ti,
                   self._trans, self._tf, self._hist_c, self._out, self._acf.mean, self._acf.hist,
                   self._acf.pos, self._acf.r,
                   self._bar, self._st_meter, self._st_pos,
                   self._ring_b, self._ring_d, self._scratch, self._recent, events)
        if self._gate_tempo is self.tempo:       # the kernel updated it
            self.tempo.frames_done += len(beat)
        else:
            self.tempo.process_sequence(beat, active)
        return n

    def process(self, beat: float, downbeat: float = 0.0, active: bool = True,
                music: float = math.nan) -> BeatEvent | None:
        """Consume one frame of activations; return the beat committed at this frame, if any.

        ``active=False`` marks a silent frame (from :class:`SilenceGate`): it counts as no beat
        evidence and no beat is emitted. ``music``: the network's music output (NaN for a
        network without one; see ``music_threshold`` and ``music_absent``).
        """
        self._in_b[0] = beat
        self._in_d[0] = downbeat
        self._in_a[0] = active
        self._in_m[0] = music
        if self._run(self._in_b, self._in_d, self._in_a, self._in_m, self._ev1):
            return _event(self._ev1[0])
        return None

    def process_sequence(self, beat: np.ndarray, downbeat: np.ndarray | None = None,
                         active: np.ndarray | None = None,
                         music: np.ndarray | None = None) -> list[BeatEvent]:
        """Consume many frames in one kernel call (a file); return all events.

        The same events and final state as :meth:`process` on each frame in turn.
        """
        beat = np.ascontiguousarray(beat, np.float64)
        downbeat = (np.zeros_like(beat) if downbeat is None
                    else np.ascontiguousarray(downbeat, np.float64))
        active = (np.ones(len(beat), np.bool_) if active is None
                  else np.ascontiguousarray(active, np.bool_))
        if music is None:
            music = self._no_music
        else:
            music = np.ascontiguousarray(music, np.float64)
            if len(music) != len(beat):
                raise ValueError(f"music has {len(music)} frames, beat {len(beat)}")
        events = np.zeros((len(beat), 5), np.float64)  # at most one beat per frame
        n = self._run(beat, downbeat, active, music, events)
        return [_event(r) for r in events[:n]]

    def commit_due(self) -> float:
        """Stream time of the newest sample with which the next beat not yet committed will
        probably be committed (its predicted time minus ``lookahead_ms``); NaN when there is
        nothing to track (listening, lost).

        A real-time caller can sleep until that audio has arrived instead of polling.
        """
        if self.state not in (TrackerState.LOCKING, TrackerState.LOCKED, TrackerState.HOLDING):
            return math.nan
        t = self.next_beat_time - self.offset_s
        period = 60.0 / self.bpm if self.bpm > 0 else 0.5
        if t < self._last_commit + self.params.min_gap * period:   # that one is committed
            t = self._last_commit + period
        return t - self.params.lookahead_ms * 1e-3

    def _recent_beats(self) -> list[tuple[float, int]]:
        """The last emitted beats, oldest first: (time without nudge, beat_index)."""
        n = int(self._sv[_S_N_RECENT])
        return [(float(self._recent[i % _N_RECENT, 0]), int(self._recent[i % _N_RECENT, 1]))
                for i in range(max(0, n - _N_RECENT), n)]

    # --------------------------------------------------------------------------- manual API
    def _grid_to(self, period_s: float, beat_time: float, spread: float = 1.0) -> None:
        """Collapse the tracker onto a beat grid: period ``period_s``, a beat at ``beat_time``
        (stream seconds, without the nudge offset)."""
        i_target = period_s * self.fps
        k = max(self.frame, 0)
        t_k = self.frame_time(k)
        self._fwd[:] = 0.0
        for i, (f, n) in enumerate(zip(self._first, self._intervals)):
            if self._mask[i] == 0.0:
                continue
            dt = abs(n - i_target)
            if dt > 1.5:
                continue
            w_t = math.exp(-0.5 * (dt / 0.6) ** 2)
            pos = ((t_k - beat_time) * self.fps) % n
            for q in range(n):
                dd = min(abs(q - pos), n - abs(q - pos))
                if dd <= 3 * spread:
                    self._fwd[self._slot(i, q)] += w_t * math.exp(-0.5 * (dd / spread) ** 2)
        if self._fwd.sum() <= 0:
            self._seed_from_restart()
        else:
            self._normalize_fwd()

    def tap(self, t: float) -> float | None:
        """Register a tap at stream time ``t``; return the tap tempo (BPM) once there are two.

        The tempo and the phase are the least-squares line through the recent taps
        (``t_i = t0 + i * period``); the tracker is set to that grid and keeps following the
        audio from there (and emits at once, as a manual lock, for ``hold_s``).
        """
        p = self.params
        if self._taps and (t - self._taps[-1] > p.tap_reset_s or t <= self._taps[-1]):
            self._taps = []
        self._taps.append(float(t))
        if len(self._taps) > p.tap_count:
            del self._taps[0]
        if len(self._taps) < 2:
            return None
        ts = np.array(self._taps)
        idx = np.arange(len(ts), dtype=np.float64)
        period, t0 = np.polyfit(idx, ts, 1)
        bpm = 60.0 / period
        lo, hi = p.min_bpm, p.max_bpm
        if not lo <= bpm <= hi:
            return None
        last_fit = t0 + period * idx[-1]
        if self.locked_bpm is not None:
            self.lock_tempo(bpm)
        self._grid_to(period, last_fit - self.offset_s)
        self._manual_until = t + p.hold_s
        self._last_commit = min(self._last_commit, last_fit - self.offset_s)
        self._set_state(TrackerState.LOCKED)
        return float(bpm)

    def nudge(self, ms: float) -> None:
        """Shift all following beats by ``ms`` milliseconds (positive = later); cumulative."""
        self.offset_s += ms * 1e-3

    def _set_window(self, lo_bpm: float, hi_bpm: float) -> None:
        lo_bpm = max(lo_bpm, self.params.min_bpm)
        hi_bpm = min(hi_bpm, self.params.max_bpm)
        mask = ((self._bpm_grid >= lo_bpm) & (self._bpm_grid <= hi_bpm)).astype(np.float64)
        if mask.sum() < 2:  # at least the two intervals around the centre
            c = 60.0 * self.fps / math.sqrt(lo_bpm * hi_bpm)
            order = np.argsort(np.abs(self._intervals - c))
            mask[order[:2]] = 1.0
        self._mask[:] = mask
        self._refresh_restart()

    def _current_grid(self) -> tuple[float, float]:
        period_s = 60.0 / self.bpm if self.bpm > 0 else 0.5
        return period_s, self.next_beat_time - self.offset_s

    def _scale_tempo(self, factor: float) -> bool:
        period_s, nb = self._current_grid()
        new_bpm = 60.0 / period_s * factor
        if not self.params.min_bpm <= new_bpm <= self.params.max_bpm:
            return False
        if not math.isfinite(nb):
            nb = self.frame_time(max(self.frame, 0))
        if self.locked_bpm is not None:
            self.locked_bpm = new_bpm
            self._set_window(new_bpm * 0.98, new_bpm * 1.02)
        else:
            self._set_window(new_bpm / 1.12, new_bpm * 1.12)
        self._grid_to(period_s / factor, nb)
        self._bar_belief[:] = 1.0 / len(self._bar_belief)
        self.bpm = new_bpm
        return True

    def double(self) -> bool:
        """Double the tempo (keep the next beat); the tracker stays near the new tempo until
        :meth:`release_tempo`. Returns False if the result is outside the tempo range."""
        return self._scale_tempo(2.0)

    def half(self) -> bool:
        """Halve the tempo (keep the next beat); see :meth:`double`."""
        return self._scale_tempo(0.5)

    def lock_tempo(self, bpm: float | None = None, tolerance: float = 0.02) -> float:
        """Hold the tempo at ``bpm`` (default: the current tempo). The tracker's tempo states are
        restricted to ``+-tolerance`` around it, and beats come from a steady clock at exactly
        ``bpm`` whose phase the audio may pull by at most ``lock_correction`` of a period per
        beat; holding never times out while locked. Returns the BPM."""
        if bpm is None:
            bpm = self.bpm if self.bpm > 0 else self.params.prior_bpm
        bpm = float(min(max(bpm, self.params.min_bpm), self.params.max_bpm))
        _, nb = self._current_grid()
        self.locked_bpm = bpm
        self._set_window(bpm * (1.0 - tolerance), bpm * (1.0 + tolerance))
        if math.isfinite(nb):
            self._grid_to(60.0 / bpm, nb)
        self.bpm = bpm
        return bpm

    def release_tempo(self) -> None:
        """Undo :meth:`lock_tempo`, :meth:`half` and :meth:`double`: the full tempo range again."""
        self.locked_bpm = None
        self._mask[:] = 1.0
        self._refresh_restart()

    unlock_tempo = release_tempo

    def set_downbeat(self, t: float | None = None) -> int:
        """"This is beat one": the beat nearest stream time ``t`` (default: the last emitted beat)
        becomes a downbeat and the following beats count from it. Returns that beat's index."""
        period_s = 60.0 / self.bpm if self.bpm > 0 else 0.5
        cands = self._recent_beats()
        if cands:
            cands.append((cands[-1][0] + period_s, cands[-1][1] + 1))
        if not cands:
            # nothing emitted yet: the next beat will be the downbeat
            self._bar_belief[:] = 0.0
            for s, (m, q) in enumerate(zip(self._st_meter, self._st_pos)):
                if q == int(m) - 1:
                    self._bar_belief[s] = 1.0
            self._bar_belief /= self._bar_belief.sum()
            return int(self._sv[_S_BEAT_INDEX])
        if t is None:
            j = cands[-2][1] if len(cands) > 1 else cands[-1][1]
        else:
            tt = t - self.offset_s
            j = min(cands, key=lambda c: abs(c[0] - tt))[1]
        # belief refers to beat `ref` (the last observed one); if a beat is pending the belief
        # is before it. Position of the reference beat relative to downbeat j:
        pending = self._sv[_S_PENDING] > 0.0
        ref = int(self._sv[_S_BEAT_INDEX]) - 1 - (1 if pending else 0)
        meter_mass = {}
        for s, m in enumerate(self._st_meter):
            meter_mass[int(m)] = meter_mass.get(int(m), 0.0) + self._bar_belief[s]
        self._bar_belief[:] = 0.0
        for s, (m, q) in enumerate(zip(self._st_meter, self._st_pos)):
            if q == (ref - j) % int(m):
                self._bar_belief[s] = max(meter_mass[int(m)], 1e-3)
        self._bar_belief /= self._bar_belief.sum()
        if pending:
            _bar_predict(self._bar_belief, self._st_meter, self._st_pos,
                         self.params.bar_switch_prob, self._bar_pred, self._pos_prob)
        return int(j)
