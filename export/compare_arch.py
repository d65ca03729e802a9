"""GRU vs TCN measurement behind the architecture choice (numbers go into models/README.md).

    python -m export.compare_arch [--train-steps 300]

For each candidate: parameter count, onnxruntime streaming latency per frame (1 thread), torch
training-step time (batch 16 x 1200 frames, forward + backward, 2 threads), and optionally a short
training run with the same data/seed (``export.train`` with ``--steps``), scored on the validation
split of the training data.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.model import BeatGRU, BeatTCN, StreamingTCN, n_params

CANDIDATES = {
    "gru": {"arch": "gru", "proj": 64, "hidden": 96, "layers": 2},
    "tcn": {"arch": "tcn", "channels": 48, "layers": 9, "kernel": 3},
}


def _ort_latency(path: Path, feeds: dict, state_map: dict[str, str], n: int = 2000) -> tuple[float, float]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    outs = [o.name for o in s.get_outputs()]
    ts = []
    for i in range(n):
        feeds["features"] = np.random.rand(1, 128).astype(np.float32)
        t = time.perf_counter()
        res = s.run(outs, feeds)
        ts.append(time.perf_counter() - t)
        for o, v in zip(outs, res):
            if o in state_map:
                feeds[state_map[o]] = v
    ts = np.array(ts[100:]) * 1e6
    return float(np.median(ts)), float(np.percentile(ts, 99))


def latency(name: str, tmp: Path) -> tuple[float, float]:
    if name == "gru":
        from export.onnx_export import export_model

        m = BeatGRU(hidden=CANDIDATES["gru"]["hidden"], layers=CANDIDATES["gru"]["layers"]).eval()
        p, _ = export_model(m, tmp, "gru")
        feeds = {f"h{i}_in": np.zeros((1, 1, m.hidden), np.float32) for i in range(m.layers)}
        return _ort_latency(p, feeds, {f"h{i}_out": f"h{i}_in" for i in range(m.layers)})
    c = CANDIDATES["tcn"]
    m = BeatTCN(channels=c["channels"], layers=c["layers"], kernel=c["kernel"]).eval()
    s = StreamingTCN(m).eval()
    caches = [torch.zeros(1, c["channels"], (c["kernel"] - 1) * 2 ** i) for i in range(c["layers"])]
    names_in = ["features"] + [f"c{i}_in" for i in range(c["layers"])]
    names_out = ["activations"] + [f"c{i}_out" for i in range(c["layers"])]
    p = tmp / "tcn.onnx"
    torch.onnx.export(s, (torch.zeros(1, 128), *caches), str(p), input_names=names_in,
                      output_names=names_out, dynamo=False, opset_version=17)
    feeds = {f"c{i}_in": caches[i].numpy() for i in range(c["layers"])}
    return _ort_latency(p, feeds, {f"c{i}_out": f"c{i}_in" for i in range(c["layers"])})


def step_time(name: str, n: int = 3, threads: int = 1) -> float:
    """Seconds per training step, batch 16 x 1200 frames (1 thread: see models/README.md)."""
    torch.set_num_threads(threads)
    c = dict(CANDIDATES[name])
    m = BeatGRU(**c) if name == "gru" else BeatTCN(**c)
    opt = torch.optim.AdamW(m.parameters(), 1e-3)
    x = torch.randn(16, 1200, 128)
    ts = []
    for _ in range(n + 1):
        t = time.perf_counter()
        loss = m(x)[0].square().mean()
        opt.zero_grad(); loss.backward(); opt.step()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts[1:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-steps", type=int, default=0, help="also train each for this many steps")
    ap.add_argument("--out", default="runs/compare_arch")
    ap.add_argument("--synth-per-level", type=int, default=40)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--crop", type=int, default=800)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-speed", action="store_true")
    a = ap.parse_args()
    rows = {name: {} for name in CANDIDATES}
    with tempfile.TemporaryDirectory() as td:
        for name in ([] if a.skip_speed else CANDIDATES):
            c = CANDIDATES[name]
            m = BeatGRU(**c) if name == "gru" else BeatTCN(**c)
            med, p99 = latency(name, Path(td))
            rows[name] = {"params": n_params(m), "ort_stream_median_us": round(med, 1),
                          "ort_stream_p99_us": round(p99, 1), "train_step_s": round(step_time(name), 3)}
            print(name, rows[name], flush=True)
    if a.train_steps:
        from export import train

        for name in CANDIDATES:
            c = CANDIDATES[name]
            args = ["--out", f"{a.out}/{name}", "--arch", c["arch"], "--steps", str(a.train_steps),
                    "--val-every", str(a.train_steps), "--no-export", "--quiet", "--warmup", "20",
                    "--synth-per-level", str(a.synth_per_level), "--batch", str(a.batch),
                    "--crop", str(a.crop), "--threads", str(a.threads), "--workers", "1"]
            if name == "gru":
                args += ["--hidden", str(c["hidden"]), "--layers", str(c["layers"])]
            else:
                args += ["--hidden", str(c["channels"]), "--layers", str(c["layers"])]
            t = time.time()
            met = train.main(args)
            rows[name].update(val_best=met["best"], train_minutes=round((time.time() - t) / 60, 1))
            print(name, rows[name], flush=True)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "compare.json").write_text(json.dumps(rows, indent=1))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
