"""beatd beside madmom's online tracker on the chart *validation* split (not the dev set).

Usage::

    .venv/bin/python bench/peers_on_val.py [--peers madmom-online] [--out FILE]

The dev set has only 15 non-classical files; the chart validation split (held-back songs of the
training sources, ``export/dataset.py``) has about 60 tracks of real music. Both trackers are
scored the same way as ``export.tune_tracker`` scores beatd: only the beats within 1 s of the
chart's annotated span count (a chart annotates only its own span), F-measure (±70 ms), AMLt and
time to lock by :func:`realtime.evaluate.score_file`, one table per game and overall
(:func:`realtime.evaluate.compare_markdown`). Caveat: these songs come from the same
sources as beatd's training data (other songs, same games and styles), so the comparison favours
beatd; the dev set is the fair one. Peer outputs are cached under ``.cache/peers_val/``; chart
audio that the peers' sox may not read (MP3, Opus) is decoded to FLAC there first, with ffmpeg.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import emit  # noqa: E402
from compare_peers import cache_batch, peer_run  # noqa: E402

from export import dataset as D  # noqa: E402
from export.tune_tracker import in_span, track_and_score  # noqa: E402
from realtime.evaluate import Evaluation, compare_markdown, score_file  # noqa: E402
from realtime.network import BeatNetwork, default_model_path  # noqa: E402
from realtime.tracker import TrackerParams  # noqa: E402

CACHE = ROOT / ".cache" / "peers_val"


def readable(audio: Path) -> Path:
    """``audio``, or a FLAC copy of it (ffmpeg) when sox may lack a handler for its format."""
    if audio.suffix.lower() in (".ogg", ".flac", ".wav"):
        return audio
    out = CACHE / "audio" / audio.parent.name / (audio.stem + ".flac")
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(audio),
                        str(out)], check=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peers", nargs="*", default=["madmom-online"])
    ap.add_argument("--charts", type=Path, default=D.CHARTS_DIR)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    tracks = [t for t in D.chart_tracks(a.charts, 1, False, lambda *_: None) if t.split == "val"]
    audio = {t.name: readable(Path(t.meta["audio"])) for t in tracks}
    for name in a.peers:
        cache_batch(name, list(audio.values()), CACHE)
    net = BeatNetwork(default_model_path())
    evals = [Evaluation("beatd")] + [Evaluation(name) for name in a.peers]
    for t in tracks:
        feats, _, _ = D.track_arrays(t)
        ref = D.PARAMS.frame_time(t.beat_frames)
        scores = [track_and_score(TrackerParams(), net.process_sequence(feats), ref)]
        for name in a.peers:
            est, _ = peer_run(name, audio[t.name], CACHE)
            scores.append(score_file(est[in_span(est, ref)], ref))
        for ev, sc in zip(evals, scores):    # grouped by game, like the dev set by folder
            ev.files.append(replace(sc, folder=D.game_of(t), track=t.name))
    text = (f"Chart validation split: {len(tracks)} tracks, "
            f"{sum(t.n_frames for t in tracks) / D.PARAMS.frame_rate / 3600:.2f} h\n\n"
            + compare_markdown(evals))
    emit(text, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
