"""Online tempo estimation: exponentially weighted autocorrelation of the beat activation.

Per frame, :meth:`TempoEstimator.process` updates, in numba and without allocating, a recursive
autocorrelation over a sliding, exponentially weighted window::

    w_t    = beta * w_{t-1} + (1 - beta)                    (weight seen so far, w_0 = 0)
    m_t    = m_{t-1} + (1 - beta) / w_t * (a_t - m_{t-1})   (running mean of the activation)
    v_t    = a_t - m_t
    r_t[L] = alpha * r_{t-1}[L] + (1 - alpha) * v_t * v_{t-L}  (L = 0 .. max lag)

``alpha = exp(-1 / (window_s * fps))``: each lag costs one multiply-add per frame, so the whole
update is O(max lag) (about 400 multiply-adds for 60 BPM and 4 harmonics at 100 frames/s), no
recomputation over the window.

The mean has its own, shorter window (``beta = exp(-1 / (mean_window_s * fps))``) and is
bias-corrected by ``w_t``: it is the exponentially weighted mean of the frames seen so far,
``a_1`` at the first frame. A mean that started at 0 and followed the 5 s window would leave
``v_t`` offset by the activation's level for seconds after the start (or after any change of
level), and that offset correlates with itself at every lag: a flat activation scored 0.88 at
every tempo after 5 s and 0.999 after 30 s (session 18).

A tempo ``T`` (beat period ``P = 60 * fps / T`` frames, fractional) is scored by a comb over the
first ``n_harmonics`` multiples of its period (linear interpolation between integer lags)::

    S(T) = sum_k w_k * r[k * P] / (r[0] * sum_k w_k),     w_k = 1 / k

which is 1 for a perfectly periodic activation and about 0 for noise. A beat train at ``T`` also
scores high at ``T/2``, ``T/3``, ..., so the octave is chosen with a log-normal prior
(``prior_bpm``, ``prior_octaves``); :meth:`TempoEstimator.estimate` reports the best tempo and
its relatives at the other metrical levels (x1/2, x2, x2/3, x3/2, x1/3, x3) with their scores,
so that a caller can say "80 or 160 BPM".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

#: Metrical relatives reported by :meth:`TempoEstimator.estimate`, as factors of the best tempo.
METRICAL_FACTORS = (0.5, 2.0, 2.0 / 3.0, 1.5, 1.0 / 3.0, 3.0)


@dataclass(frozen=True)
class TempoParams:
    """Parameters of :class:`TempoEstimator` (config section ``[tempo]``).

    Attributes
    ----------
    min_bpm, max_bpm : range of tempi considered (BPM).
    window_s : time constant of the exponential window of the autocorrelation (seconds); longer
        is steadier, shorter follows tempo changes faster.
    n_harmonics : multiples of the beat period summed by the comb score.
    prior_bpm : centre of the log-normal tempo prior (BPM).
    prior_octaves : standard deviation of the prior, in octaves (log2 units); large = flat.
    resolution : spacing of the tempo grid used to find the peak (fraction, 0.005 = 0.5 %).
    mean_window_s : time constant of the running mean removed before the autocorrelation
        (seconds); short, so that a change of the activation's level is not taken for periodicity,
        and longer than a beat period at the slowest tempi would be pointless (the mean would
        not be steadier where it matters).
    fps : activation frame rate (frames per second).
    """

    min_bpm: float = 60.0
    max_bpm: float = 200.0
    window_s: float = 5.0
    n_harmonics: int = 4
    prior_bpm: float = 120.0
    prior_octaves: float = 0.8
    resolution: float = 0.005
    mean_window_s: float = 1.0
    fps: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.min_bpm < self.max_bpm:
            raise ValueError(f"tempo range must satisfy 0 < min_bpm < max_bpm "
                             f"(got {self.min_bpm}, {self.max_bpm})")
        if (self.window_s <= 0 or self.mean_window_s <= 0 or self.fps <= 0
                or self.n_harmonics < 1 or self.resolution <= 0):
            raise ValueError("window_s, mean_window_s, fps and resolution must be > 0 and "
                             "n_harmonics >= 1")
        if self.prior_octaves <= 0:
            raise ValueError("prior_octaves must be > 0")


class TempoCandidate(NamedTuple):
    """One metrical interpretation: ``bpm``, ``factor`` (relative to the best tempo), ``score``
    (normalised autocorrelation comb score in [0, 1]) and ``weight`` (score times prior)."""

    bpm: float
    factor: float
    score: float
    weight: float


class TempoEstimate(NamedTuple):
    """Result of :meth:`TempoEstimator.estimate`.

    ``bpm`` is the best tempo (score times prior), ``score`` its comb score in [0, 1] (0 when
    there is no periodic activation at all), ``candidates`` the best tempo first and then its
    metrical relatives inside the tempo range, each a :class:`TempoCandidate`.
    """

    bpm: float
    score: float
    candidates: tuple


@numba.njit(cache=True, nogil=True)
def _ew_mean(x, alpha, state, i):
    """One step of a bias-corrected exponentially weighted mean (module docstring) kept in
    ``state[i]`` with its weight in ``state[i + 1]``; returns the new mean. At weight 0 (the
    first value) the mean is ``x``, whatever ``state[i]`` held (also NaN, "unknown")."""
    w = alpha * state[i + 1] + (1.0 - alpha)
    m = x if state[i + 1] == 0.0 else state[i] + (1.0 - alpha) / w * (x - state[i])
    state[i] = m
    state[i + 1] = w
    return m


@numba.njit(cache=True, nogil=True)
def _acf_update(a, alpha, mean_alpha, mean_state, hist, pos, r):
    """One frame of the recursive EW autocorrelation (see module docstring); ``mean_state``
    holds the running mean and its weight. No allocation."""
    v = a - _ew_mean(a, mean_alpha, mean_state, 0)
    n = hist.shape[0]
    p = pos[0]
    hist[p] = v
    beta = 1.0 - alpha
    for lag in range(r.shape[0]):
        q = p - lag
        if q < 0:
            q += n
        r[lag] = alpha * r[lag] + beta * v * hist[q]
    p += 1
    if p >= n:
        p = 0
    pos[0] = p


@numba.njit(cache=True, nogil=True)
def _acf_update_frames(beats, actives, alpha, mean_alpha, mean_state, hist, pos, r):
    """:func:`_acf_update` over many frames in one call; a frame whose ``actives`` entry is
    False (below the silence gate) counts as activation 0."""
    for j in range(beats.shape[0]):
        _acf_update(beats[j] if actives[j] else 0.0, alpha, mean_alpha, mean_state, hist, pos, r)


@numba.njit(cache=True, nogil=True)
def _comb_score(r, period, n_harmonics):
    """Normalised comb score of one (fractional) period in frames (module docstring)."""
    nl = r.shape[0]
    wsum = 0.0
    for k in range(1, n_harmonics + 1):
        wsum += 1.0 / k
    acc = 0.0
    for k in range(1, n_harmonics + 1):
        x = period * k
        i0 = int(x)
        if i0 + 1 >= nl:
            break
        f = x - i0
        acc += ((1.0 - f) * r[i0] + f * r[i0 + 1]) / k
    s = acc / (wsum * r[0]) if r[0] > 1e-12 else 0.0
    return max(s, 0.0)


@numba.njit(cache=True, nogil=True)
def _comb_scores(r, periods, n_harmonics, out):
    """:func:`_comb_score` of each period; writes ``out``."""
    for j in range(periods.shape[0]):
        out[j] = _comb_score(r, periods[j], n_harmonics)


class AcfState(NamedTuple):
    """The arrays of a :class:`TempoEstimator` that its per-frame update changes, for a stage
    that runs that update (``_acf_update``) and the comb score inside its own numba loop (the
    beat tracker): ``alpha`` the window's decay, ``mean_alpha`` the running mean's, then the
    running mean with its weight, the history ring, its position and the autocorrelation ``r``
    (lags 0, 1, ...)."""

    alpha: float
    mean_alpha: float
    mean: np.ndarray
    hist: np.ndarray
    pos: np.ndarray
    r: np.ndarray


class TempoEstimator:
    """Online tempo of a beat activation; one allocation-free :meth:`process` call per frame.

    Examples
    --------
    >>> est = TempoEstimator(TempoParams())
    >>> act = np.zeros(1000); act[::50] = 1.0          # 120 BPM at 100 frames/s
    >>> for a in act: est.process(a)
    >>> round(est.estimate().bpm)
    120
    """

    def __init__(self, params: TempoParams = TempoParams(), *,
                 mean_from_zero: bool = False) -> None:
        """``mean_from_zero``: the running mean starts at 0 without the bias correction (the
        estimator before session 18, which the beat tracker's start gate and re-lock weights
        were validated with; :class:`~realtime.tracker.BeatTracker` keeps one for them)."""
        self.params = params
        p = params
        self._alpha = math.exp(-1.0 / (p.window_s * p.fps))
        self._mean_alpha = math.exp(-1.0 / (p.mean_window_s * p.fps))
        max_period = 60.0 * p.fps / p.min_bpm
        self._n_lags = int(math.ceil(max_period * p.n_harmonics)) + 2
        self._r = np.zeros(self._n_lags, np.float64)
        self._hist = np.zeros(self._n_lags, np.float64)
        self._pos = np.zeros(1, np.int64)
        self._mean = np.zeros(2, np.float64)  # mean, its weight
        self._weight0 = 1.0 if mean_from_zero else 0.0   # weight 1: no correction, m_0 = 0
        self._mean[1] = self._weight0
        n = int(math.ceil(math.log(p.max_bpm / p.min_bpm) / math.log1p(p.resolution))) + 1
        self.grid_bpm = p.min_bpm * np.exp(np.linspace(0.0, math.log(p.max_bpm / p.min_bpm), n))
        self._grid_periods = 60.0 * p.fps / self.grid_bpm
        self.grid_prior = self.prior(self.grid_bpm)
        self._grid_scores = np.zeros(n, np.float64)
        self.frames_done = 0

    def reset(self) -> None:
        """Forget all past activation."""
        self._r[:] = 0.0
        self._hist[:] = 0.0
        self._pos[0] = 0
        self._mean[0] = 0.0
        self._mean[1] = self._weight0
        self.frames_done = 0

    @property
    def acf_state(self) -> AcfState:
        """The arrays the per-frame update works on (shared, not copies): :class:`AcfState`."""
        return AcfState(self._alpha, self._mean_alpha, self._mean, self._hist, self._pos,
                        self._r)

    def prior(self, bpm: float | np.ndarray) -> np.ndarray:
        """Log-normal tempo prior (1 at ``prior_bpm``), as a function of BPM."""
        z = np.log2(np.asarray(bpm, np.float64) / self.params.prior_bpm) / self.params.prior_octaves
        return np.exp(-0.5 * z * z)

    def process(self, beat: float) -> None:
        """Consume one frame of beat activation."""
        _acf_update(float(beat), self._alpha, self._mean_alpha, self._mean, self._hist, self._pos,
                    self._r)
        self.frames_done += 1

    def process_sequence(self, beat: np.ndarray, active: np.ndarray | None = None) -> None:
        """Consume many frames in one numba call (same result as :meth:`process` on each);
        frames where ``active`` is False count as activation 0 (as the beat tracker does)."""
        beat = np.ascontiguousarray(beat, np.float64)
        if active is None:
            active = np.ones(len(beat), np.bool_)
        _acf_update_frames(beat, np.ascontiguousarray(active, np.bool_), self._alpha,
                           self._mean_alpha, self._mean, self._hist, self._pos, self._r)
        self.frames_done += len(beat)

    def scores_at_periods(self, periods: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Comb scores for beat periods given in frames (fractional), written into ``out``."""
        _comb_scores(self._r, periods, self.params.n_harmonics, out)
        return out

    def score(self, bpm: float) -> float:
        """Comb score of one tempo (0 outside the tempo range's lag span); allocates nothing."""
        return float(_comb_score(self._r, 60.0 * self.params.fps / bpm, self.params.n_harmonics))

    def estimate(self) -> TempoEstimate:
        """Best tempo and its metrical relatives (allocates: call it when a reading is needed)."""
        p = self.params
        s = self._grid_scores
        _comb_scores(self._r, self._grid_periods, p.n_harmonics, s)
        w = s * self.grid_prior
        j = int(np.argmax(w))
        if w[j] <= 0.0:
            return TempoEstimate(0.0, 0.0, ())
        bpm = float(self.grid_bpm[j])
        if 0 < j < len(w) - 1:  # parabolic refinement on the log-tempo grid
            den = w[j - 1] - 2.0 * w[j] + w[j + 1]
            if den < 0.0:
                off = 0.5 * (w[j - 1] - w[j + 1]) / den
                bpm *= (1.0 + p.resolution) ** max(-0.5, min(0.5, off))
        best_score = self.score(bpm)
        cands = [TempoCandidate(float(bpm), 1.0, best_score, best_score * float(self.prior(bpm)))]
        for f in METRICAL_FACTORS:
            b = bpm * f
            if p.min_bpm <= b <= p.max_bpm:
                sc = self.score(b)
                cands.append(TempoCandidate(float(b), f, sc, sc * float(self.prior(b))))
        return TempoEstimate(float(bpm), best_score, tuple(cands))
