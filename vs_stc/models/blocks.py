"""Building blocks of the 3-D VQGAN: residual blocks, resampling and attention over video latents.

Tensors are (batch, channels, time, height, width). Inference (grad disabled) reuses buffers in
place; training keeps every intermediate autograd needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attend


def group_norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(groups, channels, eps=1e-6, affine=True)


def convolve(conv: nn.Conv3d, x: torch.Tensor, padding: tuple[int, int, int]) -> torch.Tensor:
    """``conv`` over x with ``padding`` (zeros). Float32 inference on the CPU always runs on oneDNN:
    PyTorch sends inputs whose batch x channels x frames x height is under 20480 (every convolution
    of a 64-pixel model) to its slower reference kernel instead (benchmarks/README.md, "Small
    convolutions"); the two agree to float rounding."""
    if (x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return torch.mkldnn_convolution(x.contiguous(), conv.weight, conv.bias, padding, conv.stride,
                                        conv.dilation, conv.groups)
    return F.conv3d(x, conv.weight, conv.bias, conv.stride, padding, conv.dilation, conv.groups)


class Conv3d(nn.Conv3d):
    """nn.Conv3d (same parameters and checkpoint keys) whose forward is ``convolve``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return convolve(self, x, self.padding)


def conv3d(in_channels: int, out_channels: int, kernel: int = 3) -> nn.Conv3d:
    return Conv3d(in_channels, out_channels, kernel, padding=kernel // 2)


def norm_swish(norm: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    return F.silu(norm(x), inplace=not torch.is_grad_enabled())


class ResidualBlock(nn.Module):
    """norm, swish, conv, norm, swish, conv, plus a 1x1x1 conv skip when the width changes."""

    def __init__(self, in_channels: int, out_channels: int, groups: int) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels, groups)
        self.conv1 = conv3d(in_channels, out_channels)
        self.norm2 = group_norm(out_channels, groups)
        self.conv2 = conv3d(out_channels, out_channels)
        if in_channels != out_channels:
            self.conv_out = Conv3d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(norm_swish(self.norm1, x))
        h = self.conv2(norm_swish(self.norm2, h))
        skip = self.conv_out(x) if hasattr(self, "conv_out") else x
        # conv2's output is not needed by its backward, so adding in place is safe under autograd.
        return h.add_(skip)


class Downsample(nn.Module):
    """Stride-2 convolution: over (t, h, w) when ``temporal``, else over (h, w) only."""

    def __init__(self, channels: int, temporal: bool) -> None:
        super().__init__()
        self.temporal = temporal
        if temporal:
            # Pads one step at the end of t, h and w, then a valid 3x3x3 conv with stride 2.
            self.conv = Conv3d(channels, channels, 3, stride=2, padding=0)
        else:
            self.conv = Conv3d(channels, channels, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.temporal:
            x = F.pad(x, (0, 1, 0, 1, 0, 1))
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour doubling of (h, w), and of t when ``temporal``, then a 3x3x3 conv."""

    def __init__(self, channels: int, temporal: bool) -> None:
        super().__init__()
        self.scale = (2.0, 2.0, 2.0) if temporal else (1.0, 2.0, 2.0)
        self.conv = conv3d(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.scale, mode="nearest"))


class _QKVAttention(nn.Module):
    """Single-head attention with 1x1x1 q/k/v/projection convolutions (weights kept as convs
    so checkpoints load unchanged; applied as linear maps on token rows)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = group_norm(channels, groups)
        self.q = nn.Conv3d(channels, channels, 1)
        self.k = nn.Conv3d(channels, channels, 1)
        self.v = nn.Conv3d(channels, channels, 1)
        self.proj_out = nn.Conv3d(channels, channels, 1)

    @staticmethod
    def _linear(conv: nn.Conv3d, tokens: torch.Tensor) -> torch.Tensor:
        return F.linear(tokens, conv.weight.flatten(1), conv.bias)

    def attend_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: (sequences, length, channels), contiguous -> projected attention output."""
        q, k, v = (self._linear(m, tokens).unsqueeze(1) for m in (self.q, self.k, self.v))
        return self._linear(self.proj_out, attend(q, k, v).squeeze(1))


class SpatioTemporalAttention(_QKVAttention):
    """Full self-attention over every (t, h, w) position, with a residual connection."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2).contiguous()  # (b, t*h*w, c)
        out = self.attend_tokens(tokens)
        return x + out.transpose(1, 2).reshape(b, c, t, h, w)


class TemporalAttention(_QKVAttention):
    """Self-attention along time only, independently at every spatial position. No residual:
    the output is the projection alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        # reshape alone can return a strided view here, which F.linear would run as one small
        # matrix product per position (bmm over an expanded weight; benchmarks/README.md)
        tokens = self.norm(x).permute(0, 3, 4, 2, 1).reshape(b * h * w, t, c).contiguous()
        out = self.attend_tokens(tokens)
        return out.reshape(b, h, w, t, c).permute(0, 4, 3, 1, 2).contiguous()
