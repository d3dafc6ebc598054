"""The STC network: encode a degraded clip, predict spatial and temporal code indices with two
lookup transformers, and decode the codebook entries into the restored clip."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..errors import OptionError
from .autoencoder import Encoder, Generator
from .config import STCConfig
from .quantizer import SpatialTemporalQuantizer
from .transformer import IndexHead, TransformerLayer, predict_indices

# Tensors the released checkpoints carry for training only; loading drops them.
UNUSED_CHECKPOINT_PREFIXES = ("fuse_convs_dict.", "s_feat_emb.", "t_feat_emb.")


class CodeIndices(NamedTuple):
    """Argmax code indices, shaped (batch, latent_frames, latent_size, latent_size)."""

    spatial: torch.Tensor
    temporal: torch.Tensor


class STCNet(nn.Module):
    """Maps a clip (b, 3, T, R, R) in [0, 1], with R = config.resolution and T a multiple of the
    temporal factor, to the restored clip of the same shape."""

    def __init__(self, config: STCConfig) -> None:
        super().__init__()
        self.config = config
        c, positions = config.latent_channels, config.latent_size**2
        self.encoder = Encoder(config)
        self.quantize = SpatialTemporalQuantizer(config)
        self.position_emb_s = nn.Parameter(torch.zeros(positions, c))
        self.position_emb_t = nn.Parameter(torch.zeros(positions, c))
        self.s_ft_layers = self._transformer(config)
        self.t_ft_layers = self._transformer(config)
        self.s_idx_pred_layer = IndexHead(c, config.codebook_size)
        self.t_idx_pred_layer = IndexHead(c, config.codebook_size)
        self.generator = Generator(config)

    @property
    def temporal_chunk(self) -> int | str | None:
        """Frames per chunk of the full-resolution encoder and generator levels in inference
        ("auto": as many as fit a fixed budget, one frame at the released size; None: the whole
        clip at once, more memory for the same output)."""
        return self.encoder.temporal_chunk

    @temporal_chunk.setter
    def temporal_chunk(self, frames: int | str | None) -> None:
        if frames not in (None, "auto") and (type(frames) is not int or frames < 1):
            raise OptionError("temporal_chunk", f"must be a whole number of frames of at least 1, \"auto\" "
                                                f"or None for no chunking, not {frames!r}")
        self.encoder.temporal_chunk = self.generator.temporal_chunk = frames

    @staticmethod
    def _transformer(config: STCConfig) -> nn.ModuleList:
        return nn.ModuleList(
            TransformerLayer(config.latent_channels, config.transformer_heads, config.transformer_ffn)
            for _ in range(config.transformer_layers)
        )

    def check_input(self, clip: torch.Tensor) -> None:
        r, tf = self.config.resolution, self.config.temporal_factor
        if clip.ndim != 5 or clip.shape[1] != self.config.in_channels or clip.shape[3:] != (r, r):
            raise ValueError(f"expected a clip of shape (batch, 3, T, {r}, {r}), got {tuple(clip.shape)}")
        if clip.shape[2] % tf:
            raise ValueError(f"clip length T={clip.shape[2]} must be a multiple of {tf}")

    def code_logits(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent (b, c, t, h, w) -> spatial and temporal logits (b*t, h*w, codebook_size)."""
        temporal = self.quantize.temporal_latent(z)
        s = predict_indices(self.s_ft_layers, self.s_idx_pred_layer, _tokens(z), self.position_emb_s)
        t = predict_indices(self.t_ft_layers, self.t_idx_pred_layer, _tokens(temporal), self.position_emb_t)
        return s, t

    def encode_indices(self, clip: torch.Tensor) -> tuple[torch.Tensor, CodeIndices]:
        """Clip -> (encoder latent, argmax code indices)."""
        self.check_input(clip)
        z = self.encoder(clip)
        b, _, t, h, w = z.shape
        logits_s, logits_t = self.code_logits(z)
        return z, CodeIndices(logits_s.argmax(-1).view(b, t, h, w), logits_t.argmax(-1).view(b, t, h, w))

    def decode_indices(self, indices: CodeIndices) -> torch.Tensor:
        """Code indices -> restored clip, through C_S[i] + C_T[j] and the generator."""
        latent = self.quantize.lookup(indices.spatial, indices.temporal).permute(0, 4, 1, 2, 3)  # (b, c, t, h, w)
        if latent.dtype != self.generator.dtype:  # mixed precision: float32 codes, bf16 generator (mixed_precision.py)
            return self.generator(latent.to(self.generator.dtype, memory_format=torch.contiguous_format))
        return self.generator(latent.contiguous())

    def restore_with_indices(self, clip: torch.Tensor) -> tuple[torch.Tensor, CodeIndices]:
        """Clip -> (restored clip, its code indices). A latent that overflowed (NaN or infinity, as
        fp16 can) would collapse every code to one index and decode to plausible garbage, so the
        output is then all NaN instead: one check of the output finds it, with no device
        synchronisation here."""
        latent, indices = self.encode_indices(clip)
        restored = self.decode_indices(indices)
        return torch.where(torch.isfinite(latent).all(), restored, torch.nan), indices

    @torch.inference_mode()
    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """The restoration itself; argmax makes it non-differentiable, so it never records autograd."""
        return self.restore_with_indices(clip)[0]


def _tokens(z: torch.Tensor) -> torch.Tensor:
    """(b, c, t, h, w) -> (b*t, h*w, c): every latent frame is one sequence of positions."""
    b, c, t, h, w = z.shape
    return z.permute(0, 2, 3, 4, 1).reshape(b * t, h * w, c)
