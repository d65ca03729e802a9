"""Causal beat/downbeat networks (torch, training side only; the daemon runs the ONNX export).

``BeatGRU``: per-frame input normalisation -> linear projection + ELU -> stacked GRU -> linear ->
two logits (beat, downbeat). Strictly causal: frame ``k`` sees frames ``<= k`` only.

``BeatTCN``: the alternative that was measured against it (dilated causal convolutions, kernel 3,
dilations 1..2^(L-1), residual); kept for ``export.compare_arch``.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


DEFAULT_CONFIG = {"arch": "gru", "n_in": 128, "proj": 64, "hidden": 96, "layers": 2, "dropout": 0.1}


class BeatGRU(nn.Module):
    def __init__(self, n_in: int = 128, proj: int = 64, hidden: int = 96, layers: int = 2,
                 dropout: float = 0.1, **_: object) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("std", torch.ones(n_in))
        self.proj = nn.Linear(n_in, proj)
        self.gru = nn.GRU(proj, hidden, num_layers=layers, batch_first=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.out = nn.Linear(hidden, 2)
        self.in_drop = nn.Dropout(dropout)
        self.hidden, self.layers = hidden, layers

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None):
        """x [B, T, n_in] -> logits [B, T, 2], h [layers, B, hidden]."""
        z = (x - self.mean) / self.std
        z = self.in_drop(F.elu(self.proj(z)))
        y, h = self.gru(z, h)
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
