"""Train the causal beat network from scratch on CPU, then export it to ONNX.

    python -m export.train --out runs/beatd_gru

The plain command reproduces the shipped model (``models/beatd_gru.onnx``): it generates (or
loads from ``.cache/features``) the synthetic curriculum, reads every chart source found under
``.cache/data/charts`` (minus held-out songs), trains ``--steps`` steps with a fixed seed, keeps
the checkpoint with the best validation beat F-measure, and writes into ``--out``:
``last.pt`` (resume point), ``best.pt``, ``<name>.onnx`` + ``<name>.seq.onnx``, ``metrics.json``
and ``report.md``. ``--resume`` continues from ``last.pt``; batch ``i`` depends only on
(seed, i), so an interrupted and resumed run sees the same data as an uninterrupted one.

Validation data is a split of the *training* sources (12 % of chart songs by title hash, plus
separate synthetic seeds); /work/shared/data/dev is never read here.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from export import asap as A
from export import dataset as D
from export import groove as G
from export.metrics import THRESHOLDS, beat_f_measure, causal_peaks
from export.model import TEMPO_CLASSES, build_model, n_params, tempo_class
from realtime.frontend import FrontendParams

PARAMS = FrontendParams()


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="run directory (runs/<name>)")
    ap.add_argument("--name", default="beatd_gru", help="exported model name")
    ap.add_argument("--version", default="2", help="model version written to the metadata")
    ap.add_argument("--arch", default="gru", choices=["gru", "tcn"])
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--proj", type=int, default=64)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=1800)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--crop", type=int, default=1200, help="frames per training sequence")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--synth-per-level", type=int, default=160, help="30 s synthetic tracks per level")
    ap.add_argument("--synth-levels", type=int, nargs="+", default=[4],
                    help="synthetic curriculum levels used: one number N = levels 0..N-1 (4: "
                         "model version 2; 5 adds the classical-like ensembles), several = "
                         "those levels (e.g. 0 1 2 3 5: with rock and metal bands)")
    ap.add_argument("--synth-val-per-level", type=int, default=8)
    ap.add_argument("--synth-seconds", type=float, default=D.SYNTH_DURATION, help="length of a synthetic track")
    ap.add_argument("--charts", default=str(D.CHARTS_DIR), help="chart data root ('' = none)")
    ap.add_argument("--p-charts", type=float, default=0.5, help="share of crops from chart audio")
    ap.add_argument("--game-balance", type=float, default=0.0,
                    help="0 = chart crops in proportion to length; 1 = every rhythm game equally "
                         "often (FNF, StepMania, Clone Hero); between: a mix")
    ap.add_argument("--tempo-balance", type=float, default=0.0, metavar="B",
                    help="0 = chart crops by length (and --game-balance); B > 0 divides each "
                         "track's share by its tempo band's share to the power B (1: every band "
                         "of export.dataset.TEMPO_BANDS_BPM equally often)")
    ap.add_argument("--tempo-stretch", type=float, default=0.0, metavar="P",
                    help="share of chart crops time-stretched to a tempo drawn log-uniformly "
                         "from export.dataset.STRETCH_BPM (0 = none: the usual 0.8-1.25 stretch)")
    ap.add_argument("--asap", type=float, default=0.0, metavar="P",
                    help="share of crops from rendered ASAP classical piano performances "
                         "(export/asap.py; 0 = none, model versions 1-6); the rest are split "
                         "between charts and synthetic as --p-charts says")
    ap.add_argument("--asap-beats", default="tactus", choices=("tactus", "annotated"),
                    help="ASAP beat level: the tapping level (export.asap.tactus) or ASAP's "
                         "denominator-level beats (the version 7 and 8 candidates)")
    ap.add_argument("--groove", type=float, default=0.0, metavar="P",
                    help="share of crops from rendered Groove MIDI Dataset drum performances "
                         "(export/groove.py; 0 = none, model versions up to 36)")
    ap.add_argument("--no-beat", type=float, default=0.0, metavar="P",
                    help="share of crops from audio without a beat (export.synth.no_beat_audio: noise, "
                         "hum, unrhythmic talk, claps and clicks at random times; zero targets)")
    ap.add_argument("--quiet-p", type=float, default=0.0, metavar="P",
                    help="share of training sequences that begin with 1-5 s of digital silence or "
                         "faint white / pink noise (-100 .. -55 dBFS; no beat there): sound that "
                         "starts after an idle input, as the daemon hears it")
    ap.add_argument("--no-beat-per-kind", type=int, default=40,
                    help="30 s no-beat tracks per event kind (a quarter as many per steady kind)")
    ap.add_argument("--downbeat-weight", type=float, default=1.0,
                    help="weight of the downbeat output's loss terms (downbeats are rarer)")
    ap.add_argument("--offbeat-weight", type=float, default=1.0,
                    help="loss weight of the beat output within 3 frames of each midpoint "
                         "between two annotated beats (the faster metrical level's beats; "
                         "1 = none, model versions 1-24)")
    ap.add_argument("--beat-weight", type=float, default=1.0,
                    help="loss weight of the beat output at the annotated beats and their "
                         "neighbours (1 = none, model versions 1-26)")
    ap.add_argument("--tempo-loss", type=float, default=0.0, metavar="L",
                    help="multi-task training: a tempo head on the last GRU layer "
                         "(export.model.tempo_class) learns each frame's annotated tempo, its "
                         "cross-entropy times L added to the loss; the export leaves the head "
                         "out (0 = none, model versions 1-28)")
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--val-max-frames", type=int, default=18000, help="cap per validation track")
    ap.add_argument("--budget-minutes", type=float, default=0.0,
                    help="stop early (and export best) after this much wall time; 0 = run all steps")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (1 is far faster when other jobs share the 2 cores)")
    ap.add_argument("--workers", type=int, default=2, help="processes for feature extraction")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default="", metavar="ONNX",
                    help="start from this streaming model's weights instead of a random init "
                         "(fine-tuning; --proj/--hidden/--layers must match it; a music head "
                         "in it is not carried over)")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def lr_at(step: int, a) -> float:
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def masked_bce(logits, target, mask, downbeat_weight: float = 1.0):
    """Binary cross-entropy over the unmasked frames of both outputs; the downbeat output's
    terms count ``downbeat_weight`` times (the mean stays over the unmasked terms)."""
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if downbeat_weight != 1.0:
        loss = loss * loss.new_tensor([1.0, downbeat_weight])
    return (loss * mask).sum() / mask.sum().clamp(min=1.0)


def tempo_ce(logits, bpm: np.ndarray):
    """Mean cross-entropy of the tempo head's logits [B, T, C] against each frame's tempo
    class (:func:`export.model.tempo_class`), over the frames whose tempo is known."""
    cls = torch.from_numpy(tempo_class(bpm, logits.shape[-1]))
    if not bool((cls >= 0).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), cls.reshape(-1),
                           ignore_index=-1)


@torch.no_grad()
def predict(model, feats: list[np.ndarray], chunk: int = 16) -> list[np.ndarray]:
    """Activations (sigmoid) for whole sequences from zero state, batched with padding."""
    model.eval()
    order = np.argsort([-f.shape[0] for f in feats])
    out: list[np.ndarray | None] = [None] * len(feats)
    for i in range(0, len(order), chunk):
        idx = order[i:i + chunk]
        T = max(feats[j].shape[0] for j in idx)
        x = np.zeros((len(idx), T, feats[idx[0]].shape[1]), np.float32)
        for r, j in enumerate(idx):
            x[r, :feats[j].shape[0]] = feats[j]
        y = torch.sigmoid(model(torch.from_numpy(x))[0]).numpy()
        for r, j in enumerate(idx):
            out[j] = y[r, :feats[j].shape[0]]
    return out  # type: ignore[return-value]


def validate(model, val: list[D.Track], max_frames: int) -> dict:
    feats, tgts, masks, refs = [], [], [], []
    for tr in val:
        f, t, m = D.track_arrays(tr)
        n = min(f.shape[0], max_frames)
        feats.append(f[:n]); tgts.append(t[:n]); masks.append(m[:n])
        bf = tr.beat_frames[tr.beat_frames < n - 0.5]
        refs.append(PARAMS.frame_time(bf))
    acts = predict(model, feats)
    loss_num = loss_den = 0.0
    for a, t, m in zip(acts, tgts, masks):
        a = np.clip(a.astype(np.float64), 1e-7, 1 - 1e-7)
        l = -(t * np.log(a) + (1 - t) * np.log(1 - a))
        loss_num += float((l * m).sum()); loss_den += float(m.sum())
    groups: dict[str, list[int]] = {}
    for i, tr in enumerate(val):
        groups.setdefault("synthetic" if tr.exact else "asap" if tr.source == "asap" else "charts", []).append(i)
    fm = {}
    for thr in THRESHOLDS:
        per = {}
        for g, idx in groups.items():
            vals = [beat_f_measure(refs[i], PARAMS.frame_time(causal_peaks(acts[i][:, 0], thr)), trim=False)
                    for i in idx]
            vals = [v for v in vals if np.isfinite(v)]
            per[g] = float(np.mean(vals)) if vals else 0.0
        fm[float(thr)] = per
    # selection score: chart F if there is chart validation data, else synthetic F
    key = "charts" if "charts" in groups else "synthetic"
    best_thr = max(fm, key=lambda t: fm[t][key])
    return {"val_loss": loss_num / max(loss_den, 1.0), "threshold": best_thr,
            "f_measure": fm[best_thr], "score": fm[best_thr][key], "f_by_threshold": fm}


def feature_stats(sampler: D.Sampler) -> tuple[np.ndarray, np.ndarray]:
    xs = [sampler.batch_at(10**9 + i, 0.5)[0].reshape(-1, 128) for i in range(4)]
    x = np.concatenate(xs)
    return x.mean(0), np.maximum(x.std(0), 1e-2)


def main(argv=None) -> dict:
    a = parse_args(argv)
    if a.tempo_loss > 0 and a.arch != "gru":
        raise SystemExit("--tempo-loss: the tempo head is built for --arch gru only")
    t_start = time.time()
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log_f = open(out / "train.log", "a")

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log_f.write(line + "\n"); log_f.flush()

    log("command: " + " ".join([os.path.basename(sys.executable), "-m", "export.train", *(argv or sys.argv[1:])]))
    progress = not a.quiet
    levels = D.level_list(a.synth_levels[0] if len(a.synth_levels) == 1 else a.synth_levels)
    synth = D.synth_tracks(a.synth_per_level, 0, "train", a.workers, progress, a.synth_seconds, levels) if a.synth_per_level else []
    synth_val = D.synth_tracks(a.synth_val_per_level, 100000, "val", a.workers, progress, a.synth_seconds, levels) if a.synth_val_per_level else []
    charts = D.chart_tracks(Path(a.charts), a.workers, progress, log) if a.charts else []
    chart_train = [t for t in charts if t.split == "train"]
    chart_val = [t for t in charts if t.split == "val"]
    asap = A.asap_tracks(workers=a.workers, progress=progress, beats=a.asap_beats) if a.asap > 0 else []
    asap_train = [t for t in asap if t.split == "train"]
    groove_train = G.groove_tracks(workers=a.workers, progress=progress, split="train") if a.groove > 0 else []
    negatives = D.no_beat_tracks(a.no_beat_per_kind, a.workers, progress, a.synth_seconds) if a.no_beat > 0 else []
    val = synth_val + chart_val + [t for t in asap if t.split == "val"]
    summary = {
        "train_hours": D.hours(synth + chart_train + asap_train + groove_train + negatives), "val_hours": D.hours(val),
        "n_tracks": {"synthetic": len(synth), "charts_train": len(chart_train), "charts_val": len(chart_val),
                     "asap_train": len(asap_train), "asap_val": len(asap) - len(asap_train),
                     "groove_train": len(groove_train), "no_beat": len(negatives)},
        "chart_sources": sorted({t.source for t in charts}),
        "seed": a.seed, "steps": a.steps, "batch": a.batch, "crop_frames": a.crop,
        "game_balance": a.game_balance, "asap": a.asap, "asap_beats": a.asap_beats, "groove": a.groove,
        "no_beat": a.no_beat, "quiet_p": a.quiet_p, "downbeat_weight": a.downbeat_weight,
        "offbeat_weight": a.offbeat_weight, "beat_weight": a.beat_weight,
        "tempo_loss": a.tempo_loss, "tempo_balance": a.tempo_balance,
        "tempo_stretch": a.tempo_stretch, "synth_levels": levels,
    }
    log(f"data: {json.dumps(summary)}")
    if not synth and not chart_train:
        raise SystemExit("no training data")

    sampler = D.Sampler(synth, chart_train, a.seed, a.crop, a.batch,
                        p_charts=a.p_charts if chart_train else 0.0, levels=levels,
                        game_balance=a.game_balance, extra=asap_train, p_extra=a.asap,
                        negatives=negatives, p_negative=a.no_beat,
                        offbeat_weight=a.offbeat_weight, beat_weight=a.beat_weight,
                        tempo_labels=a.tempo_loss > 0, tempo_balance=a.tempo_balance,
                        tempo_stretch=a.tempo_stretch, pools=[(groove_train, a.groove)],
                        quiet_p=a.quiet_p, quiet=D.quiet_beds(seed=a.seed) if a.quiet_p > 0 else None)
    if a.arch == "gru":
        cfg = {"arch": "gru", "n_in": PARAMS.n_features, "proj": a.proj, "hidden": a.hidden,
               "layers": a.layers, "dropout": a.dropout}
        if a.tempo_loss > 0:
            cfg["tempo_classes"] = TEMPO_CLASSES
    else:  # --hidden = channels, --layers = dilated conv layers (dilations 1..2^(layers-1))
        cfg = {"arch": "tcn", "n_in": PARAMS.n_features, "channels": a.hidden, "layers": a.layers,
               "kernel": 3, "dropout": a.dropout}
    torch.manual_seed(a.seed)
    model = build_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    step, best, history = 0, {"score": -1.0}, []
    last = out / "last.pt"
    if a.resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        step, best, history = ck["step"], ck["best"], ck["history"]
        log(f"resumed at step {step}")
    elif a.init:
        from export.onnx_export import model_from_weights, weights_from_onnx

        init = model_from_weights(weights_from_onnx(a.init)[0])
        got = (init.proj.out_features, init.hidden, init.layers)
        if got != (a.proj, a.hidden, a.layers):
            raise SystemExit(f"--init {a.init}: its network has proj {got[0]}, hidden {got[1]}, "
                             f"layers {got[2]}; this run asks for proj {a.proj}, hidden "
                             f"{a.hidden}, layers {a.layers}")
        missing, _ = model.load_state_dict(init.state_dict(), strict=False)
        if any(not k.startswith("tempo_out.") for k in missing):
            raise SystemExit(f"--init {a.init}: weights missing for {missing}")
        log(f"initialised from {a.init}")
    else:
        mean, std = feature_stats(sampler)
        model.mean.copy_(torch.from_numpy(mean)); model.std.copy_(torch.from_numpy(std))
    log(f"model: {cfg}, {n_params(model)} parameters")

    def save(path: Path, **extra) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "history": history, "config": cfg, "summary": summary, **extra}, tmp)
        tmp.replace(path)

    def run_val() -> None:
        nonlocal best
        t0 = time.time()
        v = validate(model, val, a.val_max_frames)
        v.update(step=step, train_loss=float(np.mean(recent)) if recent else None,
                 elapsed_min=round((time.time() - t_start) / 60, 2), val_seconds=round(time.time() - t0, 1))
        history.append({k: v[k] for k in ("step", "train_loss", "val_loss", "threshold", "f_measure", "elapsed_min")})
        log(f"val step {step}: loss {v['val_loss']:.4f} F {v['f_measure']} thr {v['threshold']} "
            f"({v['val_seconds']} s)"
            + (f"; train tempo cross-entropy {np.mean(recent_tempo):.3f}" if recent_tempo else ""))
        if v["score"] > best["score"]:
            best = {"score": v["score"], "step": step, "threshold": v["threshold"], "f_measure": v["f_measure"],
                    "val_loss": v["val_loss"]}
            save(out / "best.pt", peak_threshold=v["threshold"])
        model.train()

    try:
        from tqdm import tqdm
        bar = tqdm(total=a.steps, initial=step, disable=not progress, mininterval=2 if sys.stderr.isatty() else 60,
                   desc="train")
    except ImportError:
        bar = None
    recent: list[float] = []
    recent_tempo: list[float] = []    # the tempo head's cross-entropy (--tempo-loss)
    model.train()
    stopped_early = False
    while step < a.steps:
        if a.budget_minutes and (time.time() - t_start) / 60 > a.budget_minutes:
            log(f"time budget of {a.budget_minutes} min reached at step {step}")
            stopped_early = True
            break
        x, y, m, *tempo = sampler.batch_at(step, step / a.steps)
        torch.manual_seed(a.seed + step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        logits, _ = model(torch.from_numpy(x))
        loss = masked_bce(logits, torch.from_numpy(y), torch.from_numpy(m), a.downbeat_weight)
        if tempo:
            ce = tempo_ce(model.tempo_logits, tempo[0])
            loss = loss + a.tempo_loss * ce
            recent_tempo.append(float(ce.detach())); recent_tempo = recent_tempo[-100:]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        recent.append(float(loss.detach())); recent = recent[-100:]
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(recent):.4f}", refresh=False)
        if step % a.ckpt_every == 0:
            save(last)
        if step % a.val_every == 0 or step == a.steps:
            run_val()
    if bar is not None:
        bar.close()
    if stopped_early or not history or history[-1]["step"] != step:
        run_val()
    save(last)
    train_min = (time.time() - t_start) / 60
    summary.update(best_step=best.get("step"), steps_done=step, train_minutes=round(train_min, 1),
                   stopped_early=stopped_early)
    metrics = {"config": cfg, "n_params": n_params(model), "summary": summary, "best": best,
               "history": history}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    write_report(out / "report.md", metrics)
    if not a.no_export and (out / "best.pt").exists():
        from export.onnx_export import export_model, load_checkpoint

        bm, ck = load_checkpoint(out / "best.pt")
        extra = {"arch": cfg, "peak_threshold": ck.get("peak_threshold", 0.3),
                 "train_summary": {**summary, "val_best": best}}
        p1, p2 = export_model(bm, out, a.name, version=a.version, extra=extra)
        log(f"exported {p1} ({p1.stat().st_size} B), {p2} ({p2.stat().st_size} B)")
    log(f"done in {train_min:.1f} min; best {best}")
    return metrics


def write_report(path: Path, m: dict) -> None:
    lines = ["# Training report", "", f"- config: `{json.dumps(m['config'])}`",
             f"- parameters: {m['n_params']}", f"- data (hours): `{json.dumps(m['summary']['train_hours'])}`",
             f"- validation (hours): `{json.dumps(m['summary']['val_hours'])}`",
             f"- steps: {m['summary'].get('steps_done')} / {m['summary']['steps']}, "
             f"time {m['summary'].get('train_minutes')} min", f"- best: `{json.dumps(m['best'])}`", "",
             "| step | train loss | val loss | thr | val F (causal peaks) | min |", "|---|---|---|---|---|---|"]
    for h in m["history"]:
        tl = f"{h['train_loss']:.4f}" if h["train_loss"] is not None else "-"
        lines.append(f"| {h['step']} | {tl} | {h['val_loss']:.4f} | {h['threshold']} | "
                     f"{json.dumps({k: round(v, 3) for k, v in h['f_measure'].items()})} | {h['elapsed_min']} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
