"""Incremental feature frontend: one log-mel frame (plus positive difference) per hop.

The per-hop work (window, real FFT, mel projection, log compression, positive difference) runs in
numba on preallocated buffers, so a live stream and a file give identical frames sample for
sample. The window and librosa's mel filterbank are built once at start-up (from
``librosa.core.convert``: ``librosa.filters`` imports ``scipy.signal``, two seconds of start-up
for every ``beatd analyze``); librosa computes the offline reference that the tests compare
against.

Frame ``k`` is produced once input samples ``[0, (k+1)*hop)`` have arrived; its window covers
``[(k+1)*hop - n_fft, (k+1)*hop)`` with zeros before the stream start (nothing after the current
sample is used: the frontend is causal). Its time is the window centre, ``frame_time(k)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numba
import numpy as np
from rocket_fft import r2c

METADATA_PREFIX = "beatd.frontend."


@dataclass(frozen=True)
class FrontendParams:
    """Everything needed to rebuild the frontend; stored in the model's ONNX metadata.

    Examples
    --------
    >>> p = FrontendParams()
    >>> p.frame_rate, p.n_features
    (100.0, 128)
    """

    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 441
    window: str = "hann"
    n_mels: int = 64
    fmin: float = 30.0
    fmax: float = 16000.0
    log_mul: float = 1000.0
    diff: bool = True

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    @property
    def n_features(self) -> int:
        """Length of one feature frame (log mel, then positive difference if enabled)."""
        return self.n_mels * (2 if self.diff else 1)

    def frame_time(self, k: float | np.ndarray) -> float | np.ndarray:
        """Stream time in seconds (window centre) of frame ``k``."""
        return ((np.asarray(k) + 1) * self.hop_length - self.n_fft / 2) / self.sample_rate

    def time_to_frame(self, t: float | np.ndarray) -> float | np.ndarray:
        """Inverse of :meth:`frame_time` (fractional frame index)."""
        return (np.asarray(t) * self.sample_rate + self.n_fft / 2) / self.hop_length - 1

    def to_metadata(self) -> dict[str, str]:
        """String key/value pairs for ONNX ``metadata_props``."""
        return {METADATA_PREFIX + k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> "FrontendParams":
        """Rebuild from :meth:`to_metadata` output; a missing key is a ``ValueError`` naming it."""
        kw = {}
        for f in fields(cls):
            key = METADATA_PREFIX + f.name
            if key not in meta:
                raise ValueError(f"model metadata lacks {key!r}: cannot configure the frontend")
            raw = meta[key]
            if f.type in ("bool", bool):
                kw[f.name] = raw in ("True", "true", "1")
            elif f.type in ("int", int):
                kw[f.name] = int(raw)
            elif f.type in ("float", float):
                kw[f.name] = float(raw)
            else:
                kw[f.name] = raw
        return cls(**kw)


def periodic_window(name: str, n_fft: int) -> np.ndarray:
    """The analysis window (``fftbins=True``): Hann directly, others through
    ``librosa.filters.get_window`` (which imports ``scipy.signal``, about 2 s)."""
    if name in ("hann", "hanning"):
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    from librosa.filters import get_window

    return np.asarray(get_window(name, n_fft, fftbins=True), np.float64)


def mel_filterbank(params: FrontendParams) -> np.ndarray:
    """``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`` (Slaney scale and area
    normalisation), built from ``librosa.core.convert`` so that ``scipy.signal`` is not imported;
    the tests check it equals librosa's."""
    from librosa.core.convert import fft_frequencies, mel_frequencies

    fftfreqs = fft_frequencies(sr=params.sample_rate, n_fft=params.n_fft)
    mel_f = mel_frequencies(params.n_mels + 2, fmin=params.fmin, fmax=params.fmax)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)).astype(np.float32)  # librosa's dtype
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float64)


def _mel_bands(params: FrontendParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mel filterbank as packed sparse rows: (weights, start bin, stop bin) per band.

    Band ``m``'s nonzero weights lie at ``weights[offset : offset + stop - start]`` with
    ``offset`` the sum of the earlier bands' widths: a few kilobytes instead of the dense
    n_mels x (n_fft/2 + 1) matrix (fewer cache lines and pages to touch at each wake-up).
    """
    fb = mel_filterbank(params)
    starts = np.zeros(params.n_mels, np.int64)
    stops = np.zeros(params.n_mels, np.int64)
    for m in range(params.n_mels):
        nz = np.flatnonzero(fb[m])
        if nz.size:
            starts[m], stops[m] = nz[0], nz[-1] + 1
    weights = np.concatenate([fb[m, starts[m]:stops[m]] for m in range(params.n_mels)])
    return weights, starts, stops


@numba.njit(cache=True, nogil=True)
def _frame_kernel(buf, hop, window, windowed, spec, axes, fb, starts, stops, log_mul, prev, out,
                  diff):
    """Shift ``hop`` into the window buffer and write one feature frame into ``out``."""
    n = buf.shape[0]
    h = hop.shape[0]
    for i in range(n - h):
        buf[i] = buf[i + h]
    for i in range(h):
        buf[n - h + i] = hop[i]
    for i in range(n):
        windowed[i] = buf[i] * window[i]
    r2c(windowed, spec, axes, True, 1.0, 1)
    n_mels = starts.shape[0]
    w = 0
    for m in range(n_mels):
        acc = 0.0
        for b in range(starts[m], stops[m]):
            acc += fb[w] * np.sqrt(spec[b].real ** 2 + spec[b].imag ** 2)
            w += 1
        v = np.log1p(log_mul * acc)
        out[m] = v
        if diff:
            d = v - prev[m]
            out[n_mels + m] = d if d > 0.0 else 0.0
        prev[m] = v


@numba.njit(cache=True, nogil=True)
def _signal_kernel(y, hop_length, buf, window, windowed, spec, axes, fb, starts, stops, log_mul,
                   prev, frames, diff, tmp):
    """Run :func:`_frame_kernel` over every complete hop of ``y`` (file path, same arithmetic)."""
    for k in range(frames.shape[0]):
        _frame_kernel(buf, y[k * hop_length:(k + 1) * hop_length], window, windowed, spec, axes,
                      fb, starts, stops, log_mul, prev, tmp, diff)
        for j in range(tmp.shape[0]):
            frames[k, j] = tmp[j]


@numba.njit(cache=True, nogil=True)
def _hops_kernel(buf, hops, hop64, window, windowed, spec, axes, fb, starts, stops, log_mul,
                 prev, tmp, diff, out):
    """Run :func:`_frame_kernel` over each row of ``hops`` (float32), frames into ``out``."""
    for k in range(hops.shape[0]):
        for i in range(hop64.shape[0]):
            hop64[i] = hops[k, i]
        _frame_kernel(buf, hop64, window, windowed, spec, axes, fb, starts, stops, log_mul,
                      prev, tmp, diff)
        for j in range(tmp.shape[0]):
            out[k, j] = tmp[j]


class Frontend:
    """Streaming feature extractor with preallocated buffers; one allocation-free call per hop.

    Examples
    --------
    >>> fe = Frontend(FrontendParams())
    >>> frame = fe.process_hop(np.zeros(441, np.float32))
    >>> frame.shape
    (128,)
    """

    def __init__(self, params: FrontendParams) -> None:
        self.params = params
        self._window = periodic_window(params.window, params.n_fft)
        self._fb, self._starts, self._stops = _mel_bands(params)
        self._buf = np.zeros(params.n_fft, np.float64)
        self._windowed = np.zeros(params.n_fft, np.float64)
        self._spec = np.zeros(params.n_fft // 2 + 1, np.complex128)
        self._axes = np.zeros(1, np.int64)
        self._prev = np.zeros(params.n_mels, np.float64)
        self._out64 = np.zeros(params.n_features, np.float64)
        self._out = np.zeros(params.n_features, np.float32)
        self._hop64 = np.zeros(params.hop_length, np.float64)
        self.frames_done = 0

    def reset(self) -> None:
        """Forget all past input (start of a new stream)."""
        self._buf[:] = 0.0
        self._prev[:] = 0.0
        self.frames_done = 0

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        """Consume exactly ``hop_length`` samples and return the new frame.

        The returned array is an internal buffer, overwritten by the next call: copy it to keep it.
        """
        self._hop64[:] = hop
        _frame_kernel(self._buf, self._hop64, self._window, self._windowed, self._spec,
                      self._axes, self._fb,
                      self._starts, self._stops, self.params.log_mul, self._prev, self._out64,
                      self.params.diff)
        self._out[:] = self._out64
        self.frames_done += 1
        return self._out

    def process_hops(self, hops: np.ndarray, out: np.ndarray) -> None:
        """Consume the hops [n, hop_length] (float32) and write their frames into ``out[:n]``.

        The same frames as :meth:`process_hop` on each row, in one call (the live worker takes
        several hops per wake-up; one kernel call instead of one per hop).
        """
        n = hops.shape[0]
        _hops_kernel(self._buf, hops, self._hop64, self._window, self._windowed, self._spec,
                     self._axes, self._fb, self._starts, self._stops, self.params.log_mul,
                     self._prev, self._out64, self.params.diff, out[:n])
        self.frames_done += n

    def process_signal(self, y: np.ndarray) -> np.ndarray:
        """Frames for every complete hop of ``y`` (continuing the stream state).

        Identical to calling :meth:`process_hop` on consecutive hops; trailing samples that do
        not fill a hop are ignored.
        """
        y = np.ascontiguousarray(y, dtype=np.float64)
        n = y.shape[0] // self.params.hop_length
        frames = np.zeros((n, self.params.n_features), np.float64)
        _signal_kernel(y, self.params.hop_length, self._buf, self._window, self._windowed,
                       self._spec, self._axes, self._fb, self._starts, self._stops, self.params.log_mul, self._prev,
                       frames, self.params.diff, self._out64)
        self.frames_done += n
        return frames.astype(np.float32)


def reference_features(y: np.ndarray, params: FrontendParams) -> np.ndarray:
    """Offline reference with librosa (for tests): same frames as :class:`Frontend`."""
    import librosa

    pad = np.concatenate([np.zeros(params.n_fft - params.hop_length), np.asarray(y, np.float64)])
    mel = librosa.feature.melspectrogram(
        y=pad, sr=params.sample_rate, n_fft=params.n_fft, hop_length=params.hop_length,
        window=params.window, center=False, power=1.0, n_mels=params.n_mels,
        fmin=params.fmin, fmax=params.fmax,
    )
    logmel = np.log1p(params.log_mul * mel).T
    if not params.diff:
        return logmel.astype(np.float32)
    d = np.diff(logmel, axis=0, prepend=np.zeros((1, params.n_mels)))
    return np.hstack([logmel, np.maximum(d, 0.0)]).astype(np.float32)
