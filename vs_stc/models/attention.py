"""Attention kernels shared by the network's attention blocks.

Every caller hands over contiguous (batch, heads, tokens, head_dim) tensors: on a contiguous
input PyTorch's CPU ``scaled_dot_product_attention`` picks its flash kernel, which never holds
the tokens x tokens map; on strided views it falls back to the math kernel, which does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention with scale head_dim^-1/2, without materialising the attention map."""
    return F.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous())
