"""Causal beat network runner (numpy + onnxruntime only; never imports torch).

A model is a pair of ONNX files made by ``export.onnx_export`` from the same weights:

* ``<name>.onnx``: streaming graph, ``features`` [T, F] + recurrent states -> ``activations``
  [T, C] + new states (C = 2: beat, downbeat; 3 with a music head: beat, downbeat, music, as
  the metadata's ``beatd.model.outputs`` says; state names and shapes are listed in the
  metadata); T is the number of new frames (models exported before batching have a fixed
  T = 1 and are stepped frame by frame);
* ``<name>.seq.onnx``: sequence graph, ``features`` [1, T, F] -> ``activations`` [1, T, C].

Both carry the frontend parameters in ``metadata_props``; :attr:`BeatNetwork.params` rebuilds
them, so the daemon configures its :class:`realtime.frontend.Frontend` from the model.

Examples
--------
>>> net = BeatNetwork(default_model_path())          # doctest: +SKIP
>>> fe = Frontend(net.params)                        # doctest: +SKIP
>>> beat, downbeat = net.process_frame(fe.process_hop(hop))   # doctest: +SKIP
>>> act = net.process_frames(frames)     # frames [T, F] -> [T, C], same state   # doctest: +SKIP
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from realtime.frontend import FrontendParams

FORMAT = "beatd-beatnet-1"
DEFAULT_MODEL = "beatd_gru.onnx"
MAX_FRAMES = 64          # frames per onnxruntime call in process_frames


def default_model_path() -> Path:
    """The shipped streaming model (``models/beatd_gru.onnx`` next to the package)."""
    return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting threads: the daemon calls once per 10 ms and must stay at a few % CPU
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def _require(meta: dict[str, str], key: str, path: Path) -> str:
    if key not in meta:
        raise ValueError(f"{path.name}: model metadata lacks {key!r}")
    return meta[key]


def sequence_path_for(model_path: str | Path) -> Path:
    p = Path(model_path)
    name = p.name[:-5] if p.name.endswith(".onnx") else p.name
    return p.with_name(f"{name}.seq.onnx")


class BeatNetwork:
    """Streaming and whole-sequence inference of the causal beat network.

    ``process_frame`` is allocation-free apart from what onnxruntime does internally: inputs,
    outputs and the two state buffers are preallocated and bound once with IO bindings; each call
    copies the frame into the bound input and swaps the state buffers.
    """

    def __init__(self, model_path: str | Path | None = None) -> None:
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.exists():
            raise FileNotFoundError(f"beat model not found: {path}")
        self.path = path
        self._stream = _session(path)
        meta = dict(self._stream.get_modelmeta().custom_metadata_map)
        self.metadata = meta
        fmt = _require(meta, "beatd.model.format", path)
        if fmt != FORMAT:
            raise ValueError(f"{path.name}: metadata 'beatd.model.format' is {fmt!r}, expected {FORMAT!r}")
        graph = meta.get("beatd.model.graph", "streaming")
        if graph != "streaming":
            raise ValueError(f"{path.name}: metadata 'beatd.model.graph' is {graph!r}; pass the "
                             f"streaming file (<name>.onnx), not the sequence file")
        try:
            self.params = FrontendParams.from_metadata(meta)
        except ValueError as e:
            raise ValueError(f"{path.name}: {e}") from None
        n_feat = int(_require(meta, "beatd.model.n_features", path))
        if n_feat != self.params.n_features:
            raise ValueError(f"{path.name}: metadata 'beatd.model.n_features' = {n_feat} does not match "
                             f"the frontend metadata (n_features = {self.params.n_features})")
        self.version = _require(meta, "beatd.model.version", path)
        self.name = meta.get("beatd.model.name", path.stem)
        self.peak_threshold = float(meta.get("beatd.model.peak_threshold", "0.3"))
        self.outputs = _require(meta, "beatd.model.outputs", path).split(",")
        if self.outputs[:2] != ["beat", "downbeat"] or self.outputs[2:] not in ([], ["music"]):
            raise ValueError(f"{path.name}: metadata 'beatd.model.outputs' is "
                             f"{','.join(self.outputs)!r}; expected 'beat,downbeat[,music]'")
        n_out = len(self.outputs)
        states = json.loads(_require(meta, "beatd.model.state", path))
        inputs = {i.name: i for i in self._stream.get_inputs()}
        outputs = {o.name: o for o in self._stream.get_outputs()}
        shape = list(inputs["features"].shape) if "features" in inputs else None
        if (shape is None or len(shape) != 2 or shape[1] != n_feat
                or (isinstance(shape[0], int) and shape[0] != 1)):
            raise ValueError(f"{path.name}: streaming graph input 'features' must be [T, {n_feat}] "
                             f"as 'beatd.model.n_features' says, got "
                             f"{inputs.get('features').shape if 'features' in inputs else 'none'}")
        for s in states:
            for k in ("input", "output"):
                io = inputs if k == "input" else outputs
                if s[k] not in io:
                    raise ValueError(f"{path.name}: metadata 'beatd.model.state' names {k} {s[k]!r}, "
                                     f"which the streaming graph lacks")
                if list(io[s[k]].shape) != list(s["shape"]):
                    raise ValueError(f"{path.name}: metadata 'beatd.model.state' shape {s['shape']} for "
                                     f"{s[k]!r} does not match the graph ({io[s[k]].shape})")
        act_shape = list(outputs["activations"].shape) if "activations" in outputs else []
        if len(act_shape) != 2 or act_shape[1] != n_out:
            raise ValueError(f"{path.name}: streaming graph output 'activations' must be "
                             f"[T, {n_out}] as 'beatd.model.outputs' says, got {act_shape}")
        if set(inputs) != {"features", *[s["input"] for s in states]}:
            raise ValueError(f"{path.name}: streaming graph inputs {sorted(inputs)} do not match "
                             f"metadata 'beatd.model.state'")
        self.state_spec = states

        # preallocated buffers; IO bindings per (frame count, direction: state A -> B or B -> A)
        self.batched = not isinstance(shape[0], int)
        self.max_frames = MAX_FRAMES if self.batched else 1
        self._xs = np.zeros((self.max_frames, n_feat), np.float32)
        self._acts = np.zeros((self.max_frames, n_out), np.float32)
        self._x = self._xs[:1]
        self._act = self._acts[:1]
        self._sa = [np.zeros(s["shape"], np.float32) for s in states]
        self._sb = [np.zeros(s["shape"], np.float32) for s in states]
        self._bindings: dict[tuple[int, int], ort.IOBinding] = {}
        self._flip = 0

        # sequence graph (optional: fall back to stepping the streaming graph)
        self._seq = None
        seq_path = sequence_path_for(path)
        if seq_path.exists():
            self._seq = _session(seq_path)
            smeta = dict(self._seq.get_modelmeta().custom_metadata_map)
            for key in ("beatd.model.weights_sha256", *self.params.to_metadata().keys()):
                if smeta.get(key) != meta.get(key):
                    raise ValueError(f"{seq_path.name}: metadata {key!r} differs from {path.name} "
                                     f"({smeta.get(key)!r} vs {meta.get(key)!r}): not the same model")
        self.sequence_path = seq_path if self._seq is not None else None

    def _binding(self, n: int) -> ort.IOBinding:
        """The IO binding for ``n`` frames in the current state direction (made once)."""
        key = (n, self._flip)
        b = self._bindings.get(key)
        if b is None:
            s_in, s_out = (self._sa, self._sb) if self._flip == 0 else (self._sb, self._sa)
            b = self._stream.io_binding()
            f32 = np.float32
            b.bind_input("features", "cpu", 0, f32, [n, self._xs.shape[1]], self._xs.ctypes.data)
            b.bind_output("activations", "cpu", 0, f32, [n, self.n_outputs], self._acts.ctypes.data)
            for spec, a, o in zip(self.state_spec, s_in, s_out):
                b.bind_input(spec["input"], "cpu", 0, f32, list(a.shape), a.ctypes.data)
                b.bind_output(spec["output"], "cpu", 0, f32, list(o.shape), o.ctypes.data)
            self._bindings[key] = b
        return b

    @property
    def n_outputs(self) -> int:
        """Activation columns: 2 (beat, downbeat) or 3 (and music)."""
        return len(self.outputs)

    @property
    def has_music(self) -> bool:
        """Whether the third activation column is the music output (``export.music_head``)."""
        return len(self.outputs) == 3

    @property
    def frame_rate(self) -> float:
        return self.params.frame_rate

    def reset(self) -> None:
        """Zero the recurrent state (start of a new stream)."""
        for a in self._sa:
            a[...] = 0.0
        for a in self._sb:
            a[...] = 0.0
        self._flip = 0

    def process_frame(self, features: np.ndarray) -> tuple[float, float]:
        """One frontend frame [F] -> (beat, downbeat) probabilities; state carries over."""
        self._x[0] = features
        self._stream.run_with_iobinding(self._binding(1))
        self._flip ^= 1
        return float(self._act[0, 0]), float(self._act[0, 1])

    def process_frames(self, frames: np.ndarray) -> np.ndarray:
        """New frames [T, F] -> activations [T, C] (an internal buffer: copy to keep).

        One onnxruntime call per ``max_frames`` frames (each call has a fixed cost that dwarfs
        the GRU step); the result equals T calls of :meth:`process_frame`.
        """
        n = frames.shape[0]
        if n > self.max_frames:
            out = np.empty((n, self.n_outputs), np.float32)
            for i in range(0, n, self.max_frames):
                out[i:i + self.max_frames] = self.process_frames(frames[i:i + self.max_frames])
            return out
        if n == 0:
            return self._acts[:0]
        self._xs[:n] = frames
        self._stream.run_with_iobinding(self._binding(n))
        self._flip ^= 1
        return self._acts[:n]

    def process_sequence(self, frames: np.ndarray) -> np.ndarray:
        """Frames [T, F] from a fresh stream -> activations [T, C] (leaves the streaming state
        alone)."""
        frames = np.ascontiguousarray(frames, np.float32)
        if frames.ndim != 2 or frames.shape[1] != self._x.shape[1]:
            raise ValueError(f"expected frames [T, {self._x.shape[1]}], got {frames.shape}")
        if frames.shape[0] == 0:
            return np.zeros((0, self.n_outputs), np.float32)
        if self._seq is not None:
            return self._seq.run(["activations"], {"features": frames[None]})[0][0]
        # fallback: step the streaming graph from a zero state without disturbing ours
        feeds = {"features": None, **{s["input"]: np.zeros(s["shape"], np.float32) for s in self.state_spec}}
        names = ["activations", *[s["output"] for s in self.state_spec]]
        out = np.zeros((frames.shape[0], self.n_outputs), np.float32)
        for k in range(frames.shape[0]):
            feeds["features"] = frames[k:k + 1]
            res = self._stream.run(names, feeds)
            out[k] = res[0][0]
            for s, v in zip(self.state_spec, res[1:]):
                feeds[s["input"]] = v
        return out


def restart_points(active: np.ndarray, min_silent: int, silent_run: int = 0) -> tuple[list[int], int]:
    """Frames at which the network restarts from the zero state, and the gated run after the
    last frame.

    A restart is the first sounding frame (``active``: the silence gate's mask) after at least
    ``min_silent`` gated frames, counting the ``silent_run`` gated frames just before
    ``active[0]`` (so that a stream can be cut into blocks); ``min_silent`` 0: never. The network
    was trained from the zero state, and after a long silence its state is one it never saw:
    any onset then looks like music to it. After a restart the sound is heard as from a cold
    start.

    >>> restart_points(np.array([True, False, False, True, False, True]), 2)
    ([3], 0)
    >>> restart_points(np.array([False, True]), 2, silent_run=1)
    ([1], 0)
    """
    cuts: list[int] = []
    if min_silent <= 0:
        return cuts, 0
    run = silent_run
    for k, a in enumerate(np.asarray(active, bool)):
        if a:
            if run >= min_silent:
                cuts.append(k)
            run = 0
        else:
            run += 1
    return cuts, run


def process_with_restarts(network, frames: np.ndarray, active: np.ndarray,
                          min_silent: int) -> np.ndarray:
    """``network.process_sequence`` over ``frames`` [T, F], from the zero state at the start and
    again at each of :func:`restart_points` ``(active, min_silent)`` -> activations [T, outputs]
    (float64). The file path's form of the daemon's per-block rule (:class:`realtime.pipeline.
    Pipeline`); ``network`` is anything with ``process_sequence`` (each call from the zero state).
    """
    cuts, _ = restart_points(active[:len(frames)], min_silent)
    bounds = [0, *cuts, len(frames)]
    return np.concatenate([np.asarray(network.process_sequence(frames[a:b]), np.float64)
                           for a, b in zip(bounds[:-1], bounds[1:])])
