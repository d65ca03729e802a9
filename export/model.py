"""Causal beat/downbeat networks (torch, training side only; the daemon runs the ONNX export).

``BeatGRU``: per-frame input normalisation -> linear projection + ELU -> stacked GRU -> linear ->
two logits (beat, downbeat). Strictly causal: frame ``k`` sees frames ``<= k`` only. With
``tempo_classes`` > 0 it also has a training-only tempo head (:func:`tempo_class`; multi-task
training, ``export.train --tempo-loss``), which the ONNX export leaves out.

``BeatTCN``: the alternative that was measured against it (dilated causal convolutions, kernel 3,
dilations 1..2^(L-1), residual); kept for ``export.compare_arch``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


DEFAULT_CONFIG = {"arch": "gru", "n_in": 128, "proj": 64, "hidden": 96, "layers": 2, "dropout": 0.1}


TEMPO_CLASSES = 32                   # log-spaced tempo classes of the training-only tempo head
TEMPO_RANGE_BPM = (40.0, 250.0)      # their first and last centres


def tempo_class(bpm: np.ndarray, n: int = TEMPO_CLASSES) -> np.ndarray:
    """Nearest of ``n`` log-spaced tempo classes (centres from 40 to 250 BPM) of each tempo in
    ``bpm``; -1 where the tempo is unknown (``bpm <= 0``).

    >>> tempo_class(np.array([40.0, 250.0, 0.0])).tolist()
    [0, 31, -1]
    """
    lo, hi = np.log2(TEMPO_RANGE_BPM[0]), np.log2(TEMPO_RANGE_BPM[1])
    b = np.asarray(bpm, np.float64)
    k = np.rint((np.log2(np.maximum(b, 1e-9)) - lo) / (hi - lo) * (n - 1))
    return np.where(b > 0, np.clip(k, 0, n - 1), -1).astype(np.int64)


class BeatGRU(nn.Module):
    def __init__(self, n_in: int = 128, proj: int = 64, hidden: int = 96, layers: int = 2,
                 dropout: float = 0.1, tempo_classes: int = 0, **_: object) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("std", torch.ones(n_in))
        self.proj = nn.Linear(n_in, proj)
        self.gru = nn.GRU(proj, hidden, num_layers=layers, batch_first=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.out = nn.Linear(hidden, 2)
        self.tempo_out = nn.Linear(hidden, tempo_classes) if tempo_classes > 0 else None
        self.in_drop = nn.Dropout(dropout)
        self.hidden, self.layers = hidden, layers
        self.tempo_logits: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None):
        """x [B, T, n_in] -> logits [B, T, 2], h [layers, B, hidden]. A model with a tempo
        head, in training mode, also leaves that head's logits [B, T, tempo_classes] in
        ``self.tempo_logits`` (for the loss; evaluation and export never need them)."""
        z = (x - self.mean) / self.std
        z = self.in_drop(F.elu(self.proj(z)))
        y, h = self.gru(z, h)
        if self.tempo_out is not None and self.training:
            self.tempo_logits = self.tempo_out(y)
        return self.out(y), h


class BeatTCN(nn.Module):
    def __init__(self, n_in: int = 128, proj: int = 64, channels: int = 48, layers: int = 9,
                 kernel: int = 3, dropout: float = 0.1, **_: object) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("std", torch.ones(n_in))
        self.proj = nn.Linear(n_in, channels)
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=2 ** i)
                                   for i in range(layers))
        self.mix = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in range(layers))
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(channels, 2)
        self.kernel, self.layers, self.channels = kernel, layers, channels

    def forward(self, x: torch.Tensor, h=None):
        z = F.elu(self.proj((x - self.mean) / self.std)).transpose(1, 2)  # [B, C, T]
        for i, (c, m) in enumerate(zip(self.convs, self.mix)):
            pad = (self.kernel - 1) * 2 ** i
            z = z + m(self.drop(F.elu(c(F.pad(z, (pad, 0))))))
        return self.out(z.transpose(1, 2)), None


class StreamingTCN(nn.Module):
    """One-frame step of :class:`BeatTCN` with per-layer input caches (for the export measurement)."""

    def __init__(self, tcn: BeatTCN) -> None:
        super().__init__()
        self.tcn = tcn

    def forward(self, x: torch.Tensor, *caches: torch.Tensor):
        t = self.tcn
        z = F.elu(t.proj((x - t.mean) / t.std)).unsqueeze(2)  # [1, C, 1]
        new = []
        for i, (c, m) in enumerate(zip(t.convs, t.mix)):
            full = torch.cat([caches[i], z], dim=2)  # [1, C, (k-1)d + 1]
            new.append(full[:, :, 1:])
            z = z + m(F.elu(c(full)))  # conv over the cache yields exactly one output frame
        return (torch.sigmoid(t.out(z[:, :, 0])), *new)


def build_model(cfg: dict) -> nn.Module:
    arch = cfg.get("arch", "gru")
    if arch == "gru":
        return BeatGRU(**cfg)
    if arch == "tcn":
        return BeatTCN(**cfg)
    raise ValueError(f"unknown arch {arch!r}")


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
