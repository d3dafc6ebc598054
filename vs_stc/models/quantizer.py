"""The spatial-temporal quantizer: two codebooks and the temporal latent they are looked up from."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import TemporalAttention
from .config import STCConfig


def frame_residual(z: torch.Tensor) -> torch.Tensor:
    """(b, c, t, h, w) -> residual_t = z_t - z_{t-1} along t, with residual_0 = 0."""
    return torch.cat([torch.zeros_like(z[:, :, :1]), z[:, :, 1:] - z[:, :, :-1]], dim=2)


def released_residual(z: torch.Tensor) -> torch.Tensor:
    """The motion residual the released checkpoints were trained with: the latent's memory in
    (c, b, t, h, w) order, cut into t rows, differenced row to row (row 0 -> 0), and each row
    read back as a (b, h, w, c) frame. Returned as (b, c, t, h, w)."""
    b, c, t, h, w = z.shape
    rows = z.transpose(0, 1).reshape(t, -1)
    out = torch.cat([torch.zeros_like(rows[:1]), rows[1:] - rows[:-1]])
    return out.view(t, b, h, w, c).permute(1, 4, 0, 2, 3)


def codebook(size: int, channels: int) -> nn.Embedding:
    """A codebook of ``size`` codes, initialised as nn.Embedding does (N(0, 1)), except on the meta
    device (a network built only to load weights into): PyTorch draws meta normals through its
    compiler stack, whose import (TorchDynamo, SymPy) a loading process would otherwise pay for
    in time and memory (benchmarks/README.md, "Figures moved from docstrings")."""
    weight = torch.empty(size, channels)
    if not weight.is_meta:
        nn.init.normal_(weight)
    return nn.Embedding(size, channels, _weight=weight)


class SpatialTemporalQuantizer(nn.Module):
    """Holds the spatial codebook C_S (appearance), the temporal codebook C_T (motion) and the
    temporal attention that turns a latent into its temporal latent."""

    def __init__(self, config: STCConfig) -> None:
        super().__init__()
        self.embedding_s = codebook(config.codebook_size, config.latent_channels)
        self.embedding_t = codebook(config.codebook_size, config.latent_channels)
        self.SA = TemporalAttention(config.latent_channels, config.temporal_norm_groups)
        self.residual = released_residual if config.temporal_residual == "released" else frame_residual

    def temporal_latent(self, z: torch.Tensor) -> torch.Tensor:
        """SA(z) + residual(z): what the temporal codebook and its transformer see."""
        return self.SA(z).add_(self.residual(z))

    def lookup(self, spatial_indices: torch.Tensor, temporal_indices: torch.Tensor) -> torch.Tensor:
        """C_S[i] + C_T[j], by index (never one-hot products); indices (...,) -> (..., channels)."""
        return self.embedding_s.weight[spatial_indices] + self.embedding_t.weight[temporal_indices]
