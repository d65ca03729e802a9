"""File input: decode a file to mono at the model rate and hand it out hop by hop.

The hops go through the same :class:`~realtime.frontend.Frontend` as the live stream, so a file
and a live recording of it give identical frames.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr


log = logging.getLogger("beatd")


class AudioFileError(Exception):
    """A file that cannot be read as audio; the message names the file and the reason."""


def read_audio(path: str | Path, sample_rate: int, channel: int | None = None) -> np.ndarray:
    """Decode ``path`` to float32 mono at ``sample_rate``.

    Parameters
    ----------
    path : audio file (anything libsndfile reads: WAV, FLAC, OGG, MP3 with libsndfile >= 1.1).
    sample_rate : target rate; the file is resampled with soxr (high quality) when it differs.
    channel : take this channel (0-based) instead of the mean of all channels.

    Examples
    --------
    >>> y = read_audio("song.flac", 44100)  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    info = check_audio_file(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports format/truncation problems as RuntimeError
        raise AudioFileError(f"{path}: cannot read as audio ({exc})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: the file holds no audio samples")
    m = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", info.extra_info or "", re.M)
    if (m and int(m.group(2)) < int(m.group(1))) or 0 < data.shape[0] < info.frames:
        log.warning("%s: truncated: the header announces more audio than the file holds; "
                    "analysing the %.2f s that are there", path, data.shape[0] / sr)
    if channel is not None:
        if not 0 <= channel < data.shape[1]:
            raise AudioFileError(f"{path}: has {data.shape[1]} channel(s), no channel {channel}")
        y = data[:, channel]
    else:
        y = data.mean(axis=1)
    if sr != sample_rate:
        y = soxr.resample(y, sr, sample_rate, quality="HQ")
    y = np.ascontiguousarray(y, dtype=np.float32)
    bad = ~np.isfinite(y)
    if bad.any():
        y[bad] = 0.0
    return y


def check_audio_file(path: str | Path) -> "sf._SoundFileInfo":
    """The file's format information; :class:`AudioFileError` naming the file if it is not audio.

    Cheap (reads the header only), so callers can refuse a bad file before loading anything.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    try:
        return sf.info(str(path))
    except Exception as exc:
        raise AudioFileError(f"{path}: not an audio file libsndfile can read ({exc})") from None
