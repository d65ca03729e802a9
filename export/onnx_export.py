"""Export a trained ``BeatGRU`` (or a mean ensemble of several) to the two ONNX graphs the
daemon loads.

* ``<name>.onnx`` -- **streaming** graph: ``features`` [T, F] (T >= 1 new frames) plus one
  recurrent state per GRU layer (``h{i}_in`` [1, 1, H]) in; ``activations`` [T, 2] (sigmoid beat,
  downbeat; [T, 3] with a music head) and ``h{i}_out`` out.
* ``<name>.seq.onnx`` -- **sequence** graph: ``features`` [1, T, F] -> ``activations`` [1, T, 2]
  (or 3),
  zero initial state (same as a freshly reset streaming run).

A model with a music head (``export.music_head``: ``music``, a list of (weights, bias) layers,
in its weights) has a third ``activations`` column, ``music``: a small ReLU network (or a
logistic regression, with one layer) on both GRU layers' outputs. With ``music_gru`` in the
weights (``--music-from``), the head reads a **music branch** of its own instead: another
model's projection and GRU layers (nodes, weights and states prefixed ``mg_``), run beside the
beat network, so that a retrained beat network keeps the start gate it was validated with.

An ensemble (several ``--ckpt``) is one graph holding every member side by side: member ``k``'s
nodes, weights and states are prefixed ``m{k}_`` and ``activations`` is the element-wise mean of
the members' sigmoid outputs, so the daemon runs it like a single model, in one onnxruntime call.

Both are built node by node with ``onnx.helper`` from the same numpy weights (input normalisation
folded into the first projection), use the ONNX ``GRU`` op (``linear_before_reset=1``, PyTorch's
formulation), and carry identical ``metadata_props``: the frontend parameters
(``FrontendParams.to_metadata()``), model name/version/format, state tensor names and shapes, the
weights' SHA-256 (pairs the two files), the peak-picking threshold chosen on validation data, and a
training summary.

Usage: ``python -m export.onnx_export --ckpt runs/<name>/best.pt [runs/<other>/best.pt ...]
--out models --name beatd_gru [--music-from models/beatd_gru.onnx]``
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
MUSIC_BRANCH = "mg_"    # prefix of the music branch's nodes, weights and states


def _onnx_gate_rows(hidden: int) -> np.ndarray:
    """Row order that turns torch's GRU gate blocks (r, z, n) into ONNX's (z, r, h)."""
    H = hidden
    return np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 3 * H)])


def gru_weights(model) -> dict:
    """numpy weights of a BeatGRU in ONNX layout (normalisation folded into the projection)."""
    sd = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    mean, std = sd["mean"], sd["std"]
    W = sd["proj.weight"] / std[None, :]            # [P, F]
    b = sd["proj.bias"] - W @ mean
    H = model.hidden
    zrh = _onnx_gate_rows(H)
    layers = []
    for i in range(model.layers):
        wi, wh = sd[f"gru.weight_ih_l{i}"][zrh], sd[f"gru.weight_hh_l{i}"][zrh]
        bi, bh = sd[f"gru.bias_ih_l{i}"][zrh], sd[f"gru.bias_hh_l{i}"][zrh]
        layers.append((wi[None], wh[None], np.concatenate([bi, bh])[None]))
    return {"proj_w": W.T, "proj_b": b, "gru": layers, "out_w": sd["out.weight"].T,
            "out_b": sd["out.bias"], "hidden": H, "n_in": W.shape[1]}


def weights_digest(w: dict | list[dict]) -> str:
    """SHA-256 of every member's weights in order (pairs the streaming and sequence files)."""
    h = hashlib.sha256()
    for _, x in _members(w):
        music = [t for layer in x.get("music", []) for t in layer]
        branch = _encoder_arrays(x["music_gru"]) if "music_gru" in x else []
        for a in [*_encoder_arrays(x), x["out_w"], x["out_b"], *music, *branch]:
            h.update(np.ascontiguousarray(a, np.float32).tobytes())
    return h.hexdigest()


def _init(name: str, a: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(a, np.float32), name)


def _encoder_arrays(w: dict) -> list:
    """The projection's and the GRU layers' weight arrays, in the order they are hashed."""
    return [w["proj_w"], w["proj_b"], *[t for layer in w["gru"] for t in layer]]


def _members(w: dict | list[dict]) -> list[tuple[str, dict]]:
    """(name prefix, weights) of each ensemble member; a single model has the prefix ""."""
    ws = [w] if isinstance(w, dict) else list(w)
    if not ws:
        raise ValueError("no model to export")
    if len(ws) > 1 and any("music" in x for x in ws):
        raise ValueError("an ensemble cannot have a music head; fit one on the ensemble instead")
    if len({x["n_in"] for x in ws}) != 1:
        raise ValueError(f"ensemble members take different feature counts: {[x['n_in'] for x in ws]}")
    return [("", ws[0])] if len(ws) == 1 else [(f"m{k}_", x) for k, x in enumerate(ws)]


def _encoder_inits(w: dict, p: str = "") -> list:
    """The projection's and the GRU layers' weights, prefixed ``p``."""
    inits = [_init(p + "proj_w", w["proj_w"]), _init(p + "proj_b", w["proj_b"])]
    for i, (W, R, B) in enumerate(w["gru"]):
        inits += [_init(f"{p}gru{i}_W", W), _init(f"{p}gru{i}_R", R), _init(f"{p}gru{i}_B", B)]
    return inits


def _common_inits(w: dict, p: str = "") -> list:
    inits = _encoder_inits(w, p) + [_init(p + "out_w", w["out_w"]), _init(p + "out_b", w["out_b"])]
    for i, (W, b) in enumerate(w.get("music", [])):
        inits += [_init(f"music_w{i}", W), _init(f"music_b{i}", b)]
    if "music_gru" in w:
        inits += _encoder_inits(w["music_gru"], MUSIC_BRANCH)
    return inits


def n_outputs(w: dict | list[dict]) -> int:
    """Activation columns: beat, downbeat and, with a music head, music."""
    return 3 if isinstance(w, dict) and "music" in w else 2


def _music_nodes(w: dict, streaming: bool) -> list:
    """The music head (single models only): every GRU layer's output side by side (the music
    branch's, if the weights have one, else the beat network's) -> linear layers with ReLU
    between -> sigmoid -> ``music``, appended to ``bd`` (beat, downbeat) as the third
    ``activations`` column. Layer outputs are [T, 1, H]: reshaped to [T, H] (streaming) or
    transposed to [1, T, H] (sequence)."""
    p = MUSIC_BRANCH if "music_gru" in w else ""
    nodes, flat = [], []
    if p:
        nodes += _encoder_nodes(p, w["music_gru"], streaming)
    for i, x in enumerate(_layer_outputs(w.get("music_gru", w), p)):
        flat.append(f"music_in{i}")
        nodes.append(helper.make_node("Reshape", [x, p + "shape_T_H"], [flat[-1]]) if streaming
                     else helper.make_node("Transpose", [x], [flat[-1]], perm=[1, 0, 2]))
    axis = 1 if streaming else 2
    nodes.append(helper.make_node("Concat", flat, ["music_h0"], axis=axis))
    n = len(w["music"])
    for i in range(n):
        h, nxt = f"music_h{i}", f"music_h{i + 1}"
        nodes += [helper.make_node("MatMul", [h, f"music_w{i}"], [h + "_mm"]),
                  helper.make_node("Add", [h + "_mm", f"music_b{i}"], [h + "_lin"]),
                  helper.make_node("Relu" if i < n - 1 else "Sigmoid", [h + "_lin"],
                                   [nxt if i < n - 1 else "music"])]
    return nodes + [helper.make_node("Concat", ["bd", "music"], ["activations"], axis=axis)]


def _gru_layers(p: str, w: dict, x: str, streaming: bool) -> list:
    """``x`` [T, 1, P] through the GRU layers (each followed by a Squeeze) -> nodes; layer ``i``'s
    output is ``{p}x{i + 1}`` [T, 1, H] (:func:`_layer_outputs`). Streaming layers take and give
    the states ``{p}h{i}_in`` / ``{p}h{i}_out``; sequence layers start from zero."""
    nodes = []
    for i in range(len(w["gru"])):
        h0, yh = (f"{p}h{i}_in", f"{p}h{i}_out") if streaming else ("", f"{p}yh{i}")
        nodes.append(helper.make_node("GRU", [x, f"{p}gru{i}_W", f"{p}gru{i}_R", f"{p}gru{i}_B", "", h0],
                                      [f"{p}y{i}", yh], name=f"{p}gru{i}", hidden_size=w["hidden"],
                                      linear_before_reset=1))
        nodes.append(helper.make_node("Squeeze", [f"{p}y{i}", "axis1"], [f"{p}x{i + 1}"]))
        x = f"{p}x{i + 1}"
    return nodes


def _projection_nodes(p: str = "") -> list:
    """``features`` -> ``{p}p2``: the normalising projection and its ELU (both graphs)."""
    return [helper.make_node("MatMul", ["features", p + "proj_w"], [p + "p0"]),
            helper.make_node("Add", [p + "p0", p + "proj_b"], [p + "p1"]),
            helper.make_node("Elu", [p + "p1"], [p + "p2"], alpha=1.0)]


def _output_nodes(p: str, out: str = "") -> list:
    """``{p}z0`` (last GRU layer's output) -> ``out`` (default ``{p}activations``): linear layer
    and sigmoid."""
    return [helper.make_node("MatMul", [p + "z0", p + "out_w"], [p + "z1"]),
            helper.make_node("Add", [p + "z1", p + "out_b"], [p + "z2"]),
            helper.make_node("Sigmoid", [p + "z2"], [out or p + "activations"])]


def _layer_outputs(w: dict, p: str = "") -> list[str]:
    return [f"{p}x{i + 1}" for i in range(len(w["gru"]))]


def _encoder_nodes(p: str, w: dict, streaming: bool) -> list:
    """``features`` -> the GRU layers' outputs ``{p}x{i}`` [T, 1, H]: projection, ELU, layout
    for the GRU op ([T, 1, P]; streaming: a Reshape, sequence: a Transpose of [1, T, P])."""
    layout = (helper.make_node("Reshape", [p + "p2", p + "shape_T_1_P"], [p + "x0"]) if streaming
              else helper.make_node("Transpose", [p + "p2"], [p + "x0"], perm=[1, 0, 2]))
    return _projection_nodes(p) + [layout] + _gru_layers(p, w, p + "x0", streaming)


def _shape_inits(w: dict, p: str = "") -> list:
    """The streaming graph's reshape targets [T, 1, P] and [T, H], prefixed ``p``."""
    return [numpy_helper.from_array(np.array([-1, 1, w["proj_w"].shape[1]], np.int64),
                                    p + "shape_T_1_P"),
            numpy_helper.from_array(np.array([-1, w["hidden"]], np.int64), p + "shape_T_H")]


def _mean_nodes(members: list[tuple[str, dict]]) -> list:
    """The members' ``{p}activations`` -> ``activations`` (none for a single model)."""
    if len(members) == 1:
        return []
    return [helper.make_node("Mean", [p + "activations" for p, _ in members], ["activations"])]


def state_spec(w: dict | list[dict]) -> list[dict]:
    """One recurrent state per GRU layer: each member's, then the music branch's."""
    encoders = list(_members(w))
    if isinstance(w, dict) and "music_gru" in w:
        encoders.append((MUSIC_BRANCH, w["music_gru"]))
    return [{"input": f"{p}h{i}_in", "output": f"{p}h{i}_out", "shape": [1, 1, x["hidden"]]}
            for p, x in encoders for i in range(len(x["gru"]))]


def _body(w: dict | list[dict], streaming: bool) -> tuple[list, list]:
    """Nodes and initialisers of every member network, their output heads (and the music
    branch), and the mean over members: what both graphs share. Streaming graphs work on
    [T, H] frames with explicit states; sequence graphs on [1, T, H] with zero initial states."""
    nodes: list = []
    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    music = n_outputs(w) == 3
    members = _members(w)
    for p, x_w in members:
        last = _layer_outputs(x_w, p)[-1]
        to_frames = (helper.make_node("Reshape", [last, p + "shape_T_H"], [p + "z0"])  # [T, H]
                     if streaming else
                     helper.make_node("Transpose", [last], [p + "z0"], perm=[1, 0, 2]))  # [1, T, H]
        nodes += (_encoder_nodes(p, x_w, streaming=streaming) + [to_frames]
                  + _output_nodes(p, "bd" if music else ""))
        if music:
            nodes += _music_nodes(x_w, streaming=streaming)
        inits += _common_inits(x_w, p)
        if streaming:
            inits += _shape_inits(x_w, p)
            if "music_gru" in x_w:
                inits += _shape_inits(x_w["music_gru"], MUSIC_BRANCH)
    return nodes + _mean_nodes(members), inits


def streaming_graph(w: dict | list[dict]) -> onnx.GraphProto:
    """``features`` [T, F] + states -> ``activations`` [T, C] + states: T >= 1 frames per call
    (the daemon passes every frame that arrived since it last woke; T = 1 is frame by frame)."""
    F = _members(w)[0][1]["n_in"]
    nodes, inits = _body(w, streaming=True)
    inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["T", F])]
    outputs = [helper.make_tensor_value_info("activations", TensorProto.FLOAT, ["T", n_outputs(w)])]
    for s in state_spec(w):
        inputs.append(helper.make_tensor_value_info(s["input"], TensorProto.FLOAT, s["shape"]))
        outputs.append(helper.make_tensor_value_info(s["output"], TensorProto.FLOAT, s["shape"]))
    return helper.make_graph(nodes, "beatd_streaming", inputs, outputs, inits)


def sequence_graph(w: dict | list[dict]) -> onnx.GraphProto:
    """``features`` [1, T, F] -> ``activations`` [1, T, C] from zero states (whole files)."""
    F = _members(w)[0][1]["n_in"]
    nodes, inits = _body(w, streaming=False)
    inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, "T", F])]
    outputs = [helper.make_tensor_value_info("activations", TensorProto.FLOAT,
                                             [1, "T", n_outputs(w)])]
    return helper.make_graph(nodes, "beatd_sequence", inputs, outputs, inits)


def metadata(w: dict | list[dict], name: str, version: str, params: FrontendParams, extra: dict) -> dict[str, str]:
    meta = dict(params.to_metadata())
    meta.update({
        "beatd.model.format": FORMAT,
        "beatd.model.name": name,
        "beatd.model.version": version,
        "beatd.model.arch": json.dumps(extra.get("arch", {})),
        "beatd.model.n_features": str(_members(w)[0][1]["n_in"]),
        "beatd.model.outputs": "beat,downbeat,music" if n_outputs(w) == 3 else "beat,downbeat",
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


def export_weights(w: dict | list[dict], out_dir: str | Path, name: str, version: str = "1",
                   params: FrontendParams | None = None, extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/name.onnx`` (streaming) and ``out_dir/name.seq.onnx`` (sequence) from
    :func:`gru_weights` (or :func:`weights_from_onnx`) output; a list: their mean ensemble."""
    params = params or FrontendParams()
    extra = extra or {}
    n_in = _members(w)[0][1]["n_in"]
    if n_in != params.n_features:
        raise ValueError(f"model expects {n_in} features, frontend gives {params.n_features}")
    meta = metadata(w, name, version, params, extra)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    p_stream, p_seq = out_dir / f"{name}.onnx", out_dir / f"{name}.seq.onnx"
    onnx.save(_model_proto(streaming_graph(w), meta, "streaming"), p_stream)
    onnx.save(_model_proto(sequence_graph(w), meta, "sequence"), p_seq)
    return p_stream, p_seq


def export_model(model, out_dir: str | Path, name: str, version: str = "1",
                 params: FrontendParams | None = None, extra: dict | None = None) -> tuple[Path, Path]:
    """:func:`export_weights` of a ``BeatGRU``, or of a list of them (a mean ensemble)."""
    w = [gru_weights(m) for m in model] if isinstance(model, (list, tuple)) else gru_weights(model)
    return export_weights(w, out_dir, name, version, params, extra)


def weights_from_onnx(path: str | Path) -> tuple[dict, dict[str, str]]:
    """(weights as :func:`gru_weights` gives them, metadata) of a single-model streaming file
    written by :func:`export_weights`, so that shipped models can join an ensemble without
    their checkpoints."""
    m = onnx.load(str(path))
    meta = {p.key: p.value for p in m.metadata_props}
    if meta.get("beatd.model.format") != FORMAT or meta.get("beatd.model.graph") != "streaming":
        raise ValueError(f"{path}: not a beatd streaming model file")
    init = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in m.graph.initializer}
    if "proj_w" not in init:
        raise ValueError(f"{path}: an ensemble file cannot be a member; give its members instead")
    w = {**_encoder_from_inits(init), "out_w": init["out_w"], "out_b": init["out_b"],
         "n_in": init["proj_w"].shape[0]}
    music = []
    while f"music_w{len(music)}" in init:
        music.append((init[f"music_w{len(music)}"], init[f"music_b{len(music)}"]))
    if music:
        w["music"] = music
    if MUSIC_BRANCH + "proj_w" in init:
        w["music_gru"] = _encoder_from_inits(init, MUSIC_BRANCH)
    return w, meta


def _encoder_from_inits(init: dict[str, np.ndarray], p: str = "") -> dict:
    """The projection and GRU layers stored under prefix ``p`` (the inverse of
    :func:`_encoder_inits`): ``proj_w``, ``proj_b``, ``gru``, ``hidden``."""
    layers = []
    while f"{p}gru{len(layers)}_W" in init:
        i = len(layers)
        layers.append((init[f"{p}gru{i}_W"], init[f"{p}gru{i}_R"], init[f"{p}gru{i}_B"]))
    return {"proj_w": init[p + "proj_w"], "proj_b": init[p + "proj_b"], "gru": layers,
            "hidden": layers[0][1].shape[-1]}


def with_music_branch(w: dict, source: dict) -> dict:
    """``w`` (a single beat network) with ``source``'s music head reading ``source``'s own
    projection and GRU layers (or, if ``source`` already has a music branch, that branch): the
    exported ``music`` column is then exactly ``source``'s, whatever ``w``'s network is."""
    if "music" not in source:
        raise ValueError("the music source has no music head")
    if source["n_in"] != w["n_in"]:
        raise ValueError(f"the music source takes {source['n_in']} features, the beat network "
                         f"{w['n_in']}")
    enc = source.get("music_gru") or {k: source[k] for k in ("proj_w", "proj_b", "gru", "hidden")}
    return {**{k: v for k, v in w.items() if k not in ("music", "music_gru")},
            "music": source["music"], "music_gru": enc}


def model_from_weights(w: dict, dropout: float = 0.1):
    """A ``BeatGRU`` computing what the weights :func:`gru_weights` gives (or
    :func:`weights_from_onnx` reads) compute: the inverse of :func:`gru_weights`, with the
    normalisation left folded into the projection (mean 0, std 1); its sizes come from the
    weights. For fine-tuning a shipped model whose checkpoint is gone; the music head, if
    any, is not part of a ``BeatGRU``."""
    import torch

    from export.model import BeatGRU

    H = int(w["hidden"])
    model = BeatGRU(n_in=int(w["n_in"]), proj=w["proj_w"].shape[1], hidden=H,
                    layers=len(w["gru"]), dropout=dropout)
    back = np.argsort(_onnx_gate_rows(H))     # ONNX gate order (z, r, h) -> torch's (r, z, n)
    sd = {"mean": np.zeros(w["n_in"]), "std": np.ones(w["n_in"]),
          "proj.weight": w["proj_w"].T, "proj.bias": w["proj_b"],
          "out.weight": w["out_w"].T, "out.bias": w["out_b"]}
    for i, (wi, wh, b) in enumerate(w["gru"]):
        sd[f"gru.weight_ih_l{i}"] = wi[0][back]
        sd[f"gru.weight_hh_l{i}"] = wh[0][back]
        sd[f"gru.bias_ih_l{i}"] = b[0, :3 * H][back]
        sd[f"gru.bias_hh_l{i}"] = b[0, 3 * H:][back]
    model.load_state_dict({k: torch.as_tensor(np.ascontiguousarray(v), dtype=torch.float32)
                           for k, v in sd.items()})
    return model


def load_checkpoint(path: str | Path):
    import torch

    from export.model import build_model

    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(ck["config"])
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def load_member(path: str | Path) -> tuple[dict, dict]:
    """(weights, info) of a checkpoint from ``export.train`` (``.pt``) or a streaming model file
    (``.onnx``); info: config, peak_threshold, summary, version, frontend params."""
    if str(path).endswith(".onnx"):
        w, meta = weights_from_onnx(path)
        return w, {"config": json.loads(meta.get("beatd.model.arch", "{}")),
                   "peak_threshold": float(meta.get("beatd.model.peak_threshold", "0.3")),
                   "summary": json.loads(meta.get("beatd.train.summary", "{}")),
                   "version": meta.get("beatd.model.version", "1"),
                   "params": FrontendParams.from_metadata(meta)}
    model, ck = load_checkpoint(path)
    return gru_weights(model), {"config": ck["config"], "peak_threshold": ck.get("peak_threshold", 0.3),
                                "summary": ck.get("summary", {}), "version": str(ck.get("version", "1")),
                                "params": FrontendParams()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, nargs="+",
                    help="checkpoint written by export.train (.pt) or an exported streaming model "
                         "(.onnx); several: their mean ensemble, in this order")
    ap.add_argument("--out", default="models")
    ap.add_argument("--name", default="beatd_gru")
    ap.add_argument("--version", default=None)
    ap.add_argument("--music-from", default=None, metavar="MODEL.onnx",
                    help="give the (single) model this model's music head, reading this model's "
                         "own network as a music branch: the music column is exactly its")
    a = ap.parse_args()
    loaded = [load_member(c) for c in a.ckpt]
    params = loaded[0][1]["params"]
    for c, (_, info) in zip(a.ckpt, loaded):
        if info["params"] != params:
            raise SystemExit(f"{c}: its frontend differs from {a.ckpt[0]}'s; members must share one")
    if len(loaded) == 1:
        (w, info), = loaded
        extra = {"arch": info["config"], "peak_threshold": info["peak_threshold"],
                 "train_summary": info["summary"]}
    else:   # the members' configs and summaries in order; the mean of their peak thresholds
        w = [x for x, _ in loaded]
        extra = {"arch": {"ensemble": "mean", "members": [i["config"] for _, i in loaded]},
                 "peak_threshold": float(np.mean([i["peak_threshold"] for _, i in loaded])),
                 "train_summary": {"members": [i["summary"] for _, i in loaded]}}
    if a.music_from:
        if len(loaded) != 1:
            raise SystemExit("--music-from takes a single model, not an ensemble")
        src, src_info = load_member(a.music_from)
        if src_info["params"] != params:
            raise SystemExit(f"{a.music_from}: its frontend differs from {a.ckpt[0]}'s")
        w = with_music_branch(w, src)
        extra["arch"] = {**extra["arch"], "music_branch": src_info["config"]}
        extra["train_summary"] = {**extra["train_summary"], "music_branch": {
            "base_model": f"{Path(a.music_from).name} version {src_info['version']}",
            "music_head": src_info["summary"].get("music_head", {})}}
    version = a.version or "+".join(i["version"] for _, i in loaded)
    p1, p2 = export_weights(w, a.out, a.name, version, params, extra)
    print(f"wrote {p1} ({p1.stat().st_size} B) and {p2} ({p2.stat().st_size} B)")


if __name__ == "__main__":
    main()
