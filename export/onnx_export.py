"""Export a trained ``BeatGRU`` to the two ONNX graphs the daemon loads.

* ``<name>.onnx`` -- **streaming** graph: ``features`` [T, F] (T >= 1 new frames) plus one
  recurrent state per GRU layer (``h{i}_in`` [1, 1, H]) in; ``activations`` [T, 2] (sigmoid beat,
  downbeat) and ``h{i}_out`` out.
* ``<name>.seq.onnx`` -- **sequence** graph: ``features`` [1, T, F] -> ``activations`` [1, T, 2],
  zero initial state (same as a freshly reset streaming run).

Both are built node by node with ``onnx.helper`` from the same numpy weights (input normalisation
folded into the first projection), use the ONNX ``GRU`` op (``linear_before_reset=1``, PyTorch's
formulation), and carry identical ``metadata_props``: the frontend parameters
(``FrontendParams.to_metadata()``), model name/version/format, state tensor names and shapes, the
weights' SHA-256 (pairs the two files), the peak-picking threshold chosen on validation data, and a
training summary.

Usage: ``python -m export.onnx_export --ckpt runs/<name>/best.pt --out models --name beatd_gru``
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from realtime.frontend import FrontendParams

FORMAT = "beatd-beatnet-1"
OPSET = 17


def gru_weights(model) -> dict:
    """numpy weights of a BeatGRU in ONNX layout (normalisation folded into the projection)."""
    sd = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    mean, std = sd["mean"], sd["std"]
    W = sd["proj.weight"] / std[None, :]            # [P, F]
    b = sd["proj.bias"] - W @ mean
    H = model.hidden
    zrh = np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 3 * H)])
    layers = []
    for i in range(model.layers):
        wi, wh = sd[f"gru.weight_ih_l{i}"][zrh], sd[f"gru.weight_hh_l{i}"][zrh]
        bi, bh = sd[f"gru.bias_ih_l{i}"][zrh], sd[f"gru.bias_hh_l{i}"][zrh]
        layers.append((wi[None], wh[None], np.concatenate([bi, bh])[None]))
    return {"proj_w": W.T, "proj_b": b, "gru": layers, "out_w": sd["out.weight"].T,
            "out_b": sd["out.bias"], "hidden": H, "n_in": W.shape[1]}


def weights_digest(w: dict) -> str:
    h = hashlib.sha256()
    for a in [w["proj_w"], w["proj_b"], *[x for l in w["gru"] for x in l], w["out_w"], w["out_b"]]:
        h.update(np.ascontiguousarray(a, np.float32).tobytes())
    return h.hexdigest()


def _init(name: str, a: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(a, np.float32), name)


def _common_inits(w: dict) -> list:
    inits = [_init("proj_w", w["proj_w"]), _init("proj_b", w["proj_b"]),
             _init("out_w", w["out_w"]), _init("out_b", w["out_b"])]
    for i, (W, R, B) in enumerate(w["gru"]):
        inits += [_init(f"gru{i}_W", W), _init(f"gru{i}_R", R), _init(f"gru{i}_B", B)]
    return inits


def _gru_node(i: int, x: str, h0: str, y: str, yh: str, H: int):
    return helper.make_node("GRU", [x, f"gru{i}_W", f"gru{i}_R", f"gru{i}_B", "", h0], [y, yh],
                            name=f"gru{i}", hidden_size=H, linear_before_reset=1)


def _projection_nodes() -> list:
    """``features`` -> ``p2``: the normalising projection and its ELU (both graphs)."""
    return [helper.make_node("MatMul", ["features", "proj_w"], ["p0"]),
            helper.make_node("Add", ["p0", "proj_b"], ["p1"]),
            helper.make_node("Elu", ["p1"], ["p2"], alpha=1.0)]


def _output_nodes() -> list:
    """``z0`` (last GRU layer's output) -> ``activations``: linear layer and sigmoid."""
    return [helper.make_node("MatMul", ["z0", "out_w"], ["z1"]),
            helper.make_node("Add", ["z1", "out_b"], ["z2"]),
            helper.make_node("Sigmoid", ["z2"], ["activations"])]


def state_spec(w: dict) -> list[dict]:
    return [{"input": f"h{i}_in", "output": f"h{i}_out", "shape": [1, 1, w["hidden"]]}
            for i in range(len(w["gru"]))]


def streaming_graph(w: dict) -> onnx.GraphProto:
    """``features`` [T, F] + states -> ``activations`` [T, 2] + states: T >= 1 frames per call
    (the daemon passes every frame that arrived since it last woke; T = 1 is frame by frame)."""
    H, F = w["hidden"], w["n_in"]
    L = len(w["gru"])
    nodes = _projection_nodes() + [
        helper.make_node("Reshape", ["p2", "shape_T_1_P"], ["x0"]),       # [T, 1, P]
    ]
    x = "x0"
    for i in range(L):
        nodes.append(_gru_node(i, x, f"h{i}_in", f"y{i}", f"h{i}_out", H))
        nodes.append(helper.make_node("Squeeze", [f"y{i}", "axis1"], [f"x{i + 1}"]))  # [T, 1, H]
        x = f"x{i + 1}"
    nodes += [
        helper.make_node("Reshape", [x, "shape_T_H"], ["z0"]),             # [T, H]
    ] + _output_nodes()
    inits = _common_inits(w) + [
        numpy_helper.from_array(np.array([-1, 1, w["proj_w"].shape[1]], np.int64), "shape_T_1_P"),
        numpy_helper.from_array(np.array([-1, H], np.int64), "shape_T_H"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
    ]
    inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["T", F])]
    outputs = [helper.make_tensor_value_info("activations", TensorProto.FLOAT, ["T", 2])]
    for s in state_spec(w):
        inputs.append(helper.make_tensor_value_info(s["input"], TensorProto.FLOAT, s["shape"]))
        outputs.append(helper.make_tensor_value_info(s["output"], TensorProto.FLOAT, s["shape"]))
    return helper.make_graph(nodes, "beatd_streaming", inputs, outputs, inits)


def sequence_graph(w: dict) -> onnx.GraphProto:
    H, F = w["hidden"], w["n_in"]
    L = len(w["gru"])
    nodes = _projection_nodes() + [
        helper.make_node("Transpose", ["p2"], ["x0"], perm=[1, 0, 2]),  # [T, 1, P]
    ]
    x = "x0"
    for i in range(L):
        nodes.append(_gru_node(i, x, "", f"y{i}", f"yh{i}", H))
        nodes.append(helper.make_node("Squeeze", [f"y{i}", "axis1"], [f"x{i + 1}"]))  # [T, 1, H]
        x = f"x{i + 1}"
    nodes += [
        helper.make_node("Transpose", [x], ["z0"], perm=[1, 0, 2]),  # [1, T, H]
    ] + _output_nodes()
    inits = _common_inits(w) + [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, "T", F])]
    outputs = [helper.make_tensor_value_info("activations", TensorProto.FLOAT, [1, "T", 2])]
    return helper.make_graph(nodes, "beatd_sequence", inputs, outputs, inits)


def metadata(w: dict, name: str, version: str, params: FrontendParams, extra: dict) -> dict[str, str]:
    meta = dict(params.to_metadata())
    meta.update({
        "beatd.model.format": FORMAT,
        "beatd.model.name": name,
        "beatd.model.version": version,
        "beatd.model.arch": json.dumps(extra.get("arch", {})),
        "beatd.model.n_features": str(w["n_in"]),
        "beatd.model.outputs": "beat,downbeat",
        "beatd.model.state": json.dumps(state_spec(w)),
        "beatd.model.streaming_file": f"{name}.onnx",
        "beatd.model.sequence_file": f"{name}.seq.onnx",
        "beatd.model.weights_sha256": weights_digest(w),
        "beatd.model.peak_threshold": str(extra.get("peak_threshold", 0.3)),
        "beatd.train.summary": json.dumps(extra.get("train_summary", {}), default=str),
    })
    return meta


def _model_proto(graph, meta: dict[str, str], graph_kind: str) -> onnx.ModelProto:
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="beatd.export", producer_version="1")
    m.ir_version = 8
    helper.set_model_props(m, {**meta, "beatd.model.graph": graph_kind})
    onnx.checker.check_model(m)
    return m


def export_model(model, out_dir: str | Path, name: str, version: str = "1",
                 params: FrontendParams | None = None, extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/name.onnx`` (streaming) and ``out_dir/name.seq.onnx`` (sequence)."""
    params = params or FrontendParams()
    extra = extra or {}
    w = gru_weights(model)
    if w["n_in"] != params.n_features:
        raise ValueError(f"model expects {w['n_in']} features, frontend gives {params.n_features}")
    meta = metadata(w, name, version, params, extra)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    p_stream, p_seq = out_dir / f"{name}.onnx", out_dir / f"{name}.seq.onnx"
    onnx.save(_model_proto(streaming_graph(w), meta, "streaming"), p_stream)
    onnx.save(_model_proto(sequence_graph(w), meta, "sequence"), p_seq)
    return p_stream, p_seq


def load_checkpoint(path: str | Path):
    import torch

    from export.model import build_model

    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(ck["config"])
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="checkpoint written by export.train")
    ap.add_argument("--out", default="models")
    ap.add_argument("--name", default="beatd_gru")
    ap.add_argument("--version", default=None)
    a = ap.parse_args()
    model, ck = load_checkpoint(a.ckpt)
    extra = {"arch": ck["config"], "peak_threshold": ck.get("peak_threshold", 0.3),
             "train_summary": ck.get("summary", {})}
    p1, p2 = export_model(model, a.out, a.name, a.version or str(ck.get("version", "1")), extra=extra)
    print(f"wrote {p1} ({p1.stat().st_size} B) and {p2} ({p2.stat().st_size} B)")


if __name__ == "__main__":
    main()
