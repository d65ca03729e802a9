"""The per-hop chain of stages: frontend -> network -> (silence gate) -> tracker.

:meth:`Pipeline.process_hops` takes every hop that arrived since the worker last woke (the network
runs once for all of them; the tracker still steps frame by frame); :meth:`Pipeline.process_hop`
is the same for a single hop. :meth:`Pipeline.reset` starts a new stream. The stages are built
from the model (frontend parameters from its metadata) and the configuration.
"""
from __future__ import annotations

import math

from pathlib import Path

import numpy as np

from . import config as config_mod
from .config import Config
from .frontend import Frontend
from .network import BeatNetwork, default_model_path, restart_points
from .tracker import BeatEvent, BeatTracker, SilenceGate


class Pipeline:
    """Frontend, network, silence gate and tracker for one stream (the daemon meters the input
    level itself, from the ring buffer: :class:`~realtime.level.LevelMeter`).

    Examples
    --------
    >>> from realtime.config import defaults
    >>> pipe = Pipeline(defaults())                                  # doctest: +SKIP
    >>> ev = pipe.process_hop(hop)    # a BeatEvent or None           # doctest: +SKIP
    >>> for i, ev in pipe.process_hops(hops):   # hops [n, hop_length]  # doctest: +SKIP
    ...     pass
    """

    def __init__(self, cfg: Config, model_path: str | Path | None = None) -> None:
        self.model_path = Path(model_path or cfg.section("model")["path"] or default_model_path())
        self.network = BeatNetwork(self.model_path)
        self.params = self.network.params
        self.frontend = Frontend(self.params)
        m = self.network.max_frames
        self.block_features = np.zeros((m, self.params.n_features), np.float32)
        self._active = np.zeros(m, bool)
        self.block_activations = np.zeros((m, self.network.n_outputs), np.float32)
        self._silent_run = 0
        self.configure(cfg)

    def configure(self, cfg: Config) -> None:
        """(Re)build the tracker and the silence gate from ``cfg`` (tracking restarts)."""
        p = self.params
        self.tracker = BeatTracker(config_mod.tracker_params(cfg), p,
                                   config_mod.tempo_params(cfg, p.frame_rate))
        sil = cfg.section("silence")
        self.gate = SilenceGate(p.hop_length, p.sample_rate, floor_db=sil["floor_db"],
                                hysteresis_db=sil["hysteresis_db"], instant_db=sil["instant_db"])
        self.reset_frames = int(round(sil["network_reset_s"] * p.frame_rate))

    def reset(self) -> None:
        """A new stream: every stage forgets the past."""
        self.frontend.reset()
        self.network.reset()
        self.tracker.reset()
        self.gate.reset()
        self._silent_run = 0

    def warm_up(self, seconds: float = 6.0, bpm: float = 120.0) -> int:
        """Run a click track through every stage once, then :meth:`reset`; returns the beats
        it committed.

        The first call of each numba kernel loads it from the cache (compiles it on a fresh
        install) and the first onnxruntime run of a shape sets it up: done here, before the
        stream starts, that cost does not land on the first beats of the music.
        """
        p = self.params
        n = int(seconds * p.sample_rate) // p.hop_length * p.hop_length
        y = np.zeros(n, np.float32)
        rng = np.random.default_rng(0)
        click = (rng.standard_normal(int(0.02 * p.sample_rate))
                 * np.exp(-np.arange(int(0.02 * p.sample_rate)) / (0.003 * p.sample_rate)))
        for t in np.arange(0.25, seconds - 0.05, 60.0 / bpm):
            s = int(t * p.sample_rate)
            y[s:s + click.size] += 0.5 * click[: max(0, min(click.size, n - s))]
        hops = y.reshape(-1, p.hop_length)
        beats = 0
        for s in range(0, hops.shape[0], 8):
            for _, ev in self.process_hops(hops[s:s + 8]):
                beats += ev is not None
        self.tracker.tempo.estimate()
        self.reset()
        return beats

    def process_hop(self, hop: np.ndarray) -> BeatEvent | None:
        """Consume one hop of model-rate samples; return the beat committed now, if any."""
        for _, ev in self.process_hops(hop[None]):
            return ev
        return None

    def process_hops(self, hops: np.ndarray):
        """Consume hops [n, hop_length]; yield ``(i, event or None)`` as the tracker steps.

        Frontend, gate and network run once per ``max_frames`` hops (the network restarts
        within a block where ``[silence] network_reset_s`` of gated frames end:
        :func:`~realtime.network.restart_points`), the tracker frame by frame; after each
        yield the tracker's state is that of frame ``i``, and ``block_features[i % max_frames]``
        and ``block_activations[i % max_frames]`` hold frame ``i``'s features and activations.
        """
        m = self.network.max_frames
        feats, active, act = self.block_features, self._active, self.block_activations
        for s in range(0, hops.shape[0], m):
            n = min(m, hops.shape[0] - s)
            block = hops[s:s + n]
            self.frontend.process_hops(block, feats)
            self.gate.process_hops(block, active)
            cuts, self._silent_run = restart_points(active[:n], self.reset_frames,
                                                    self._silent_run)
            a = 0
            for b in [*cuts, n]:
                if b > a:
                    act[a:b] = self.network.process_frames(feats[a:b])
                if b < n:
                    self.network.reset()
                a = b
            music = self.network.has_music
            for j in range(n):
                yield s + j, self.tracker.process(float(act[j, 0]), float(act[j, 1]),
                                                  bool(active[j]),
                                                  float(act[j, 2]) if music else math.nan)
