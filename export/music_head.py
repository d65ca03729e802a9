"""A "music present" head on a trained beat network (training side; issue #4's start gate).

The beat tracker's start gate waits until its beat grid predicts the activation better than
chance, which keeps it quiet on noise and talk but also on music whose beats are faint
(classical). This head tells the two apart so that the tracker can start sooner on music only
(``[tracker] music_threshold``, ``music_lock_gain``).

It is a small ReLU network (``--hidden`` units; 0: a logistic regression) on the network's own
GRU outputs (both layers, per frame), fitted with the network frozen, so the beat and downbeat
activations stay exactly as they were. The
exported model pair gets a third activation column, ``music`` (``beatd.model.outputs`` =
``beat,downbeat,music``).

Training data (training side only; never the dev set): positives are the chart tracks of the
training split, the training pieces of the rendered ASAP classical excerpts and synthetic
tracks, each cut to at most ``--max-s`` and augmented like the network's crops
(:func:`export.dataset._augment_levels`: gain, EQ, level changes, noise floor); negatives are
:func:`export.synth.no_beat_audio` of every training kind (seeds from
:data:`export.dataset.NO_BEAT_FIRST_SEED`), each in ``--neg-copies`` augmented copies with a
random spectral tilt of -30 .. +15 dB over the band range and, half of the time, another
negative mixed in (up to ``--neg-mix`` others), then ``--neg-boost-db`` louder at most. The
evaluation-only kinds (:data:`export.synth.UNSEEN_NO_BEAT_KINDS`, ``UNSEEN_NO_BEAT_KINDS_2``) are
never used. ``--ambient`` adds recorded ambience and read speech (:mod:`export.ambient`) as a
further group of negatives; ``--lowpass-p`` band-limits a share of every group's examples, since
most of those recordings are 16 kHz and a band limit must not be what says "no music".
``--quiet-p`` puts 1-5 s of digital silence or faint noise before a share of the examples: the
network runs through silence in the daemon, and a head that never saw sound start after a quiet
stretch takes any such onset for music.

Usage::

    python -m export.music_head --model models/beatd_gru.onnx --out models --name beatd_gru \\
        --version 3
"""
from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np

from export import dataset as D
from export.onnx_export import export_weights, sequence_graph, weights_from_onnx
from realtime.frontend import FrontendParams

STRIDE = 5          # every 5th frame (20 per second) is a training example


def gru_outputs_session(w: dict):
    """An onnxruntime session of the sequence graph of weights ``w`` that also gives both GRU
    layers' outputs (``x1``, ``x2``: [T, 1, H])."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from export.onnx_export import OPSET

    g = sequence_graph(w)
    for name in (f"x{i + 1}" for i in range(len(w["gru"]))):
        g.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"]), \
        [f"x{i + 1}" for i in range(len(w["gru"]))]


def head_inputs(sess, names: list[str], logmel: np.ndarray) -> np.ndarray:
    """The head's input per frame: the GRU layers' outputs side by side, [T, layers * H]."""
    x = D.full_features(logmel)[None].astype(np.float32)
    outs = sess.run(names, {"features": x})
    return np.concatenate([o[:, 0] for o in outs], axis=1)


def _gain(lm: np.ndarray, db) -> np.ndarray:
    """Log-mel frames ``db`` louder (a number, or one per band: exact in this domain)."""
    return np.log1p(np.expm1(np.maximum(lm, 0)) * 10 ** (np.asarray(db) / 20)).astype(np.float32)


def _tilt(rng: np.random.Generator, lm: np.ndarray) -> np.ndarray:
    """A random spectral tilt (-30 .. +15 dB from the lowest to the highest band)."""
    return _gain(lm, rng.uniform(-30, 15) * np.linspace(0, 1, lm.shape[1]))


def _mix(a: np.ndarray, b: np.ndarray, gain_db: float) -> np.ndarray:
    """Two log-mel signals mixed (magnitudes added: approximate for incoherent sounds)."""
    n = min(len(a), len(b))
    return np.log1p(np.expm1(np.maximum(a[:n], 0))
                    + np.expm1(np.maximum(b[:n], 0)) * 10 ** (gain_db / 20)).astype(np.float32)


def _cut(rng: np.random.Generator, lm: np.ndarray, max_frames: int) -> np.ndarray:
    if len(lm) <= max_frames:
        return lm
    s = 0 if rng.random() < 0.3 else int(rng.integers(0, len(lm) - max_frames))
    return lm[s:s + max_frames]


def _lowpass(rng: np.random.Generator, lm: np.ndarray, p: float) -> np.ndarray:
    """With probability ``p``, silence the mel bands above a cutoff uniform in 5.5-11 kHz (so
    that a band limit, as in 16 or 22.05 kHz recordings, does not tell music from the rest)."""
    if p <= 0 or rng.random() >= p:
        return lm
    out = lm.copy()
    out[:, _band_centres(lm.shape[1]) > rng.uniform(5500.0, 11000.0)] = 0.0
    return out


@functools.lru_cache(maxsize=4)
def _band_centres(n_mels: int) -> np.ndarray:
    """Centre frequencies (Hz) of the frontend's ``n_mels`` mel bands."""
    import librosa

    return librosa.mel_frequencies(n_mels + 2, fmin=D.PARAMS.fmin, fmax=D.PARAMS.fmax)[1:-1]


def _with_quiet(rng: np.random.Generator, lm: np.ndarray, beds: list[np.ndarray],
                p: float) -> tuple[np.ndarray, int]:
    """With probability ``p``: ``lm`` preceded by 1-5 s of a quiet bed -> (frames, prefix
    length), so that the head also sees sound that starts after a quiet stretch."""
    if p <= 0 or rng.random() >= p:
        return lm, 0
    bed = beds[int(rng.integers(len(beds)))]
    k = int(rng.uniform(1.0, 5.0) * D.PARAMS.frame_rate)
    return np.concatenate([np.resize(bed, (k, bed.shape[1])), lm]).astype(np.float32), k


def examples(sess, names, seed: int, max_s: float, chart_stride: int, asap_stride: int,
             synth_per_level: int, neg_per_kind: int, neg_copies: int, neg_mix: int = 1,
             neg_boost_db: float = 0.0, synth_levels: int = 4, ambient: bool = False,
             ambient_copies: int = 2, ambient_weight: float = 0.5, lowpass_p: float = 0.0,
             quiet_p: float = 0.0, log=print):
    """(inputs [N, D], labels [N], weights [N], summary): positives weighted so that charts,
    ASAP and synthetic count equally, synthetic negatives as much as all positives together,
    recorded ambience and speech (``ambient``: :func:`export.ambient.ambient_tracks`, up to
    ``ambient_copies`` cuts per file, half of them mixed with another negative) ``ambient_weight``
    times that. ``lowpass_p``: see :func:`_lowpass`; ``quiet_p``: the share of examples preceded
    by a quiet stretch (:func:`_with_quiet`; the prefix's frames are not examples). Both draw
    from their own random streams, so the other draws are those of a fit without them."""
    from export.asap import asap_tracks

    rng = np.random.default_rng(seed)
    rng_lp = np.random.default_rng(seed + 2)
    rng_q = np.random.default_rng(seed + 3)
    beds = D.quiet_beds(seed=seed) if quiet_p > 0 else []

    def inputs(lm: np.ndarray) -> np.ndarray:
        lm, k = _with_quiet(rng_q, lm, beds, quiet_p)
        return head_inputs(sess, names, lm)[k:][::STRIDE]

    max_frames = int(max_s * D.PARAMS.frame_rate)
    charts = [t for t in D.chart_tracks(D.CHARTS_DIR, 2, False, lambda *_: None)
              if t.split == "train"][::chart_stride]
    asap = [t for t in asap_tracks(workers=2, progress=False) if t.split == "train"][::asap_stride]
    synth = D.synth_tracks(synth_per_level, 0, "train", 2, False, levels=synth_levels)
    neg = D.no_beat_tracks(neg_per_kind, 2, False)
    amb = []
    if ambient:
        from export.ambient import ambient_tracks

        amb = ambient_tracks(workers=2, progress=False)
    groups: dict[str, list[np.ndarray]] = {"charts": [], "asap": [], "synth": [], "negative": []}
    for name, tracks in (("charts", charts), ("asap", asap), ("synth", synth)):
        for tr in tracks:
            lm = D._augment_levels(rng, _lowpass(rng_lp, _cut(rng, tr.logmel, max_frames),
                                                 lowpass_p))
            groups[name].append(inputs(lm))
    for _ in range(neg_copies):
        for tr in neg:
            lm = _cut(rng, tr.logmel, max_frames)
            if rng.random() < 0.5:
                for _ in range(1 if neg_mix <= 1 else int(rng.integers(1, neg_mix + 1))):
                    other = neg[int(rng.integers(len(neg)))].logmel
                    lm = _mix(lm, _cut(rng, other, max_frames), rng.uniform(-20, 10))
            lm = D._augment_levels(rng, _lowpass(rng_lp, _tilt(rng, lm), lowpass_p))
            if neg_boost_db > 0:
                lm = _gain(lm, rng.uniform(0, neg_boost_db))
            groups["negative"].append(inputs(lm))
    if amb:
        rng_a = np.random.default_rng(seed + 1)
        pool = neg + amb
        groups["ambient"] = []
        for _ in range(ambient_copies):
            for tr in amb:
                lm = _cut(rng_a, tr.logmel, max_frames)
                if rng_a.random() < 0.5:
                    other = pool[int(rng_a.integers(len(pool)))].logmel
                    lm = _mix(lm, _cut(rng_a, other, max_frames), rng_a.uniform(-20, 10))
                lm = D._augment_levels(rng_a, _lowpass(rng_lp, _tilt(rng_a, lm), lowpass_p))
                groups["ambient"].append(inputs(lm))
    xs, ys, ws = [], [], []
    n_pos = sum(sum(len(a) for a in groups[g]) for g in ("charts", "asap", "synth"))
    for g, arrs in groups.items():
        x = np.concatenate(arrs)
        share = {"negative": n_pos, "ambient": ambient_weight * n_pos}.get(g, n_pos / 3)
        xs.append(x)
        ys.append(np.full(len(x), 0.0 if g in ("negative", "ambient") else 1.0))
        ws.append(np.full(len(x), share / len(x)))
    summary = {"tracks": {"charts": len(charts), "asap": len(asap), "synth": len(synth),
                          "negative": len(neg) * neg_copies,
                          **({"ambient": len(amb) * ambient_copies} if amb else {})},
               "hours": {g: round(sum(len(a) for a in arrs) * STRIDE / D.PARAMS.frame_rate
                                  / 3600, 3) for g, arrs in groups.items()}}
    log(f"[music] examples {summary}")
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws), summary


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, hidden: int, c: float,
        seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weighted fit (scikit-learn) -> layers [(weights [D_in, D_out], bias [D_out]), ...]: a
    logistic regression (``hidden`` 0, L2 strength ``1/c``) or one ReLU layer of ``hidden`` units
    and a logistic output (adam, L2 ``1e-4 / c``)."""
    if hidden <= 0:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=w)
        return [(clf.coef_.T.astype(np.float64), clf.intercept_.astype(np.float64))]
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier((hidden,), alpha=1e-4 / c, batch_size=1024, max_iter=25,
                        random_state=seed, tol=1e-5).fit(x, y, sample_weight=w / w.mean())
    return [(W.astype(np.float64), b.astype(np.float64))
            for W, b in zip(clf.coefs_, clf.intercepts_)]


def predict(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The head's music probability for inputs ``x`` [N, D] (what the ONNX graph computes)."""
    for i, (W, b) in enumerate(layers):
        x = x @ W + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return 1.0 / (1.0 + np.exp(-x[:, 0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/beatd_gru.onnx",
                    help="streaming model file whose network the head reads (kept frozen)")
    ap.add_argument("--out", default="models")
    ap.add_argument("--name", default="beatd_gru")
    ap.add_argument("--version", required=True)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--max-s", type=float, default=60.0, help="longest cut of a track (s)")
    ap.add_argument("--chart-stride", type=int, default=2, help="every n-th training chart track")
    ap.add_argument("--asap-stride", type=int, default=2, help="every n-th ASAP training excerpt")
    ap.add_argument("--synth-per-level", type=int, default=12)
    ap.add_argument("--synth-levels", type=int, default=4,
                    help="synthetic curriculum levels 0..N-1 as positives (5: with the "
                         "classical-like ensembles of level 4)")
    ap.add_argument("--neg-per-kind", type=int, default=25)
    ap.add_argument("--neg-copies", type=int, default=6)
    ap.add_argument("--neg-mix", type=int, default=1,
                    help="at most this many other negatives mixed into a negative")
    ap.add_argument("--neg-boost-db", type=float, default=0.0,
                    help="negatives up to this much louder, on top of the usual augmentation")
    ap.add_argument("--ambient", action="store_true",
                    help="add the recorded ambience and speech of export.ambient as negatives")
    ap.add_argument("--ambient-copies", type=int, default=2, help="cuts per ambient file")
    ap.add_argument("--ambient-weight", type=float, default=0.5,
                    help="the ambient group's weight, as a fraction of all positives'")
    ap.add_argument("--lowpass-p", type=float, default=0.0,
                    help="probability that an example is low-passed at 5.5-11 kHz")
    ap.add_argument("--quiet-p", type=float, default=0.0,
                    help="share of examples preceded by 1-5 s of silence or faint noise")
    ap.add_argument("--hidden", type=int, default=32, help="ReLU units (0: logistic regression)")
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    a = ap.parse_args()
    t0 = time.time()
    w, meta = weights_from_onnx(a.model)
    w.pop("music_gru", None)    # the new head reads this model's own GRU layers, not a branch
    sess, names = gru_outputs_session(w)
    x, y, wt, summary = examples(sess, names, a.seed, a.max_s, a.chart_stride, a.asap_stride,
                                 a.synth_per_level, a.neg_per_kind, a.neg_copies, a.neg_mix,
                                 a.neg_boost_db, a.synth_levels, a.ambient, a.ambient_copies,
                                 a.ambient_weight, a.lowpass_p, a.quiet_p)
    w["music"] = fit(x, y, wt, a.hidden, a.c, a.seed)
    p = predict(w["music"], x)
    acc = float(np.sum(wt * ((p > 0.5) == (y > 0.5))) / np.sum(wt))
    train = json.loads(meta.get("beatd.train.summary", "{}"))
    base = f"{Path(a.model).name} version {meta.get('beatd.model.version')}"
    train["music_head"] = {**summary, "seed": a.seed, "hidden": a.hidden, "c": a.c,
                           "neg_mix": a.neg_mix, "neg_boost_db": a.neg_boost_db,
                           "synth_levels": a.synth_levels, "ambient": a.ambient,
                           "ambient_copies": a.ambient_copies,
                           "ambient_weight": a.ambient_weight, "lowpass_p": a.lowpass_p,
                           "quiet_p": a.quiet_p,
                           "weighted_train_accuracy": round(acc, 4), "base_model": base,
                           "minutes": round((time.time() - t0) / 60, 1)}
    extra = {"arch": json.loads(meta.get("beatd.model.arch", "{}")),
             "peak_threshold": float(meta.get("beatd.model.peak_threshold", "0.3")),
             "train_summary": train}
    p1, p2 = export_weights(w, a.out, a.name, a.version, FrontendParams.from_metadata(meta), extra)
    print(f"[music] weighted training accuracy {acc:.4f}; wrote {p1} and {p2} "
          f"in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
