"""Code-lookup transformer: predicts a codebook index for every latent position of every frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attend


class PositionalSelfAttention(nn.Module):
    """Multi-head self-attention whose queries and keys (not values) get a position embedding.
    Parameter names follow ``nn.MultiheadAttention`` so checkpoints load unchanged."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * channels, channels))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * channels))
        self.out_proj = nn.Linear(channels, channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.MultiheadAttention's initialisation."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        n, length, channels = x.shape
        return x.view(n, length, self.heads, channels // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        with_position = x + position
        q = self._split_heads(F.linear(with_position, w_q, b_q))
        k = self._split_heads(F.linear(with_position, w_k, b_k))
        v = self._split_heads(F.linear(x, w_v, b_v))
        out = attend(q, k, v).transpose(1, 2).flatten(2)
        return self.out_proj(out)


class TransformerLayer(nn.Module):
    """Pre-norm layer: x + attn(LN(x)), then x + MLP(LN(x)) with GELU."""

    def __init__(self, channels: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.self_attn = PositionalSelfAttention(channels, heads)
        self.linear1 = nn.Linear(channels, hidden)
        self.linear2 = nn.Linear(hidden, channels)
        self.norm1 = nn.LayerNorm(channels)
        self.norm2 = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.norm1(x), position)
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class IndexHead(nn.Sequential):
    """LayerNorm then a bias-free projection to codebook logits."""

    def __init__(self, channels: int, codebook_size: int) -> None:
        super().__init__(nn.LayerNorm(channels), nn.Linear(channels, codebook_size, bias=False))


def predict_indices(
    layers: nn.ModuleList, head: IndexHead, tokens: torch.Tensor, position: torch.Tensor
) -> torch.Tensor:
    """tokens (frames, positions, channels) -> logits (frames, positions, codebook_size)."""
    for layer in layers:
        tokens = layer(tokens, position)
    return head(tokens)
