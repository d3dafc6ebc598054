"""The 3-D VQGAN encoder and decoder ("generator"), laid out as flat block lists so their
parameter names match the released checkpoints (``encoder.blocks.N.*``, ``generator.blocks.N.*``)."""

from __future__ import annotations

import torch
from torch import nn

from . import temporal_chunks
from .blocks import (
    Downsample,
    ResidualBlock,
    SpatioTemporalAttention,
    Upsample,
    conv3d,
    group_norm,
)
from .config import STCConfig

# Frames per chunk at the full-resolution levels when running without autograd: "auto" takes as
# many frames as fit in CHUNK_BYTES of the level's widest activation (one frame at the released
# 512 x 512, where chunks save memory; the whole clip for a 64-pixel model, where one-frame chunks
# would save nothing and cost a call per frame and layer), None the whole clip.
DEFAULT_TEMPORAL_CHUNK = "auto"
CHUNK_BYTES = 16 * 2**20


def _middle(channels: int, groups: int) -> list[nn.Module]:
    """The non-local stage at the latent resolution: residual, attention, residual."""
    return [
        ResidualBlock(channels, channels, groups),
        SpatioTemporalAttention(channels, groups),
        ResidualBlock(channels, channels, groups),
    ]


def _level(in_channels: int, channels: int, config: STCConfig, with_attention: bool) -> list[nn.Module]:
    blocks: list[nn.Module] = []
    for _ in range(config.blocks_per_level):
        blocks.append(ResidualBlock(in_channels, channels, config.norm_groups))
        if with_attention:
            blocks.append(SpatioTemporalAttention(channels, config.norm_groups))
        in_channels = channels
    return blocks


class _BlockStack(nn.Module):
    """Runs ``blocks`` in order. The released model ends both stacks with GroupNorm then conv,
    with no swish between them.

    Without autograd, the ``full_resolution`` blocks run in chunks of ``temporal_chunk`` frames
    (see temporal_chunks); None runs them over the whole clip at once."""

    blocks: nn.ModuleList
    full_resolution: slice
    full_resolution_width: int  # channels of the widest full-resolution activation
    upscale: int  # full-resolution size / input size
    temporal_chunk: int | str | None = DEFAULT_TEMPORAL_CHUNK

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the stack computes in (its first convolution's)."""
        return self.blocks[0].weight.dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.temporal_chunk is None or torch.is_grad_enabled():
            return self._run(self.blocks, x)
        chunk = self._frames_per_chunk(x)
        start, stop = self.full_resolution.start, self.full_resolution.stop
        x = self._run(self.blocks[:start], x)
        with temporal_chunks.heap_trimmed(x.device, chunked=chunk < x.shape[2]):
            x = temporal_chunks.run_blocks(self.blocks[start:stop], x, chunk)
        return self._run(self.blocks[stop:], x)

    def _frames_per_chunk(self, x: torch.Tensor) -> int:
        if self.temporal_chunk != "auto":
            return self.temporal_chunk
        frame_bytes = (x.shape[0] * self.full_resolution_width * x.shape[3] * x.shape[4] * self.upscale**2
                       * x.element_size())
        return max(CHUNK_BYTES // frame_bytes, 1)

    @staticmethod
    def _run(blocks: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        for block in blocks:
            x = block(x)
        return x


class Encoder(_BlockStack):
    """RGB clip (b, 3, T, H, W) -> latent (b, latent_channels, T / temporal_factor, H / 8, W / 8)."""

    def __init__(self, config: STCConfig) -> None:
        super().__init__()
        widths = [config.base_channels * m for m in config.channel_multipliers]
        last = len(widths) - 1
        blocks: list[nn.Module] = [conv3d(config.in_channels, widths[0])]
        in_channels = widths[0]
        for level, channels in enumerate(widths):
            blocks += _level(in_channels, channels, config, with_attention=level == last)
            in_channels = channels
            if level != last:
                blocks.append(Downsample(channels, temporal=level in config.temporal_downsample_levels))
        blocks += _middle(in_channels, config.norm_groups)
        blocks += [group_norm(in_channels, config.norm_groups), conv3d(in_channels, config.latent_channels)]
        self.blocks = nn.ModuleList(blocks)
        downsamples = [i for i, block in enumerate(blocks) if isinstance(block, Downsample)]
        self.full_resolution = slice(0, downsamples[0] + 1 if downsamples else len(blocks))
        self.full_resolution_width, self.upscale = widths[0], 1


class Generator(_BlockStack):
    """Latent (b, latent_channels, T', h, w) -> RGB clip in [0, 1] (b, 3, T' * temporal_factor, 8h, 8w)."""

    def __init__(self, config: STCConfig) -> None:
        super().__init__()
        widths = [config.base_channels * m for m in config.channel_multipliers]
        top = len(widths) - 1
        in_channels = widths[top]
        blocks: list[nn.Module] = [conv3d(config.latent_channels, in_channels)]
        blocks += _middle(in_channels, config.norm_groups)
        for level in reversed(range(len(widths))):
            # Every level that still runs at the latent size attends, like the encoder's last level.
            at_latent_size = level >= top - 1
            blocks += _level(in_channels, widths[level], config, with_attention=at_latent_size)
            in_channels = widths[level]
            if level != top:
                blocks.append(Upsample(in_channels, temporal=level in config.temporal_downsample_levels))
        blocks += [group_norm(in_channels, config.norm_groups), conv3d(in_channels, config.in_channels)]
        self.blocks = nn.ModuleList(blocks)
        upsamples = [i for i, block in enumerate(blocks) if isinstance(block, Upsample)]
        self.full_resolution = slice(upsamples[-1] if upsamples else 0, len(blocks))
        self.full_resolution_width, self.upscale = widths[0], 2 ** len(upsamples)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid_(super().forward(x)) if not torch.is_grad_enabled() else torch.sigmoid(super().forward(x))
