"""Attention kernels shared by the network's attention blocks.

Every caller hands over contiguous (batch, heads, tokens, head_dim) tensors: on a contiguous
input PyTorch's CPU ``scaled_dot_product_attention`` picks its flash kernel, which never holds
the tokens x tokens map; on strided views it falls back to the math kernel, which does.

An exported graph has no such kernel at opset 18: attention there is MatMul, Softmax, MatMul, and
ONNX Runtime holds the whole map (9 GiB for the released model's latent at T=24). So the export
splits the queries into chunks whose map stays under ``EXPORTED_MAP_BYTES``: each query row's
softmax is its own, so the result is the same, and the runtime frees each chunk's map before
the next.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import torch
import torch.nn.functional as F

EXPORTED_MAP_BYTES = 256 * 2**20

# Our own flag, not torch.onnx.is_in_onnx_export(): that one is process-wide (a model running in
# another thread during an export would take the chunks) and older PyTorch never set it for the
# dynamo exporter.
_exporting = ContextVar("stc_attention_for_export", default=False)


@contextmanager
def for_export() -> Iterator[None]:
    """While in the block, this thread's attention is traced as the exported graph's chunks."""
    token = _exporting.set(True)
    try:
        yield
    finally:
        _exporting.reset(token)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention with scale head_dim^-1/2, without materialising the attention map."""
    if _exporting.get():
        return _attend_in_query_chunks(q, k, v)
    return F.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous())


def _exported_query_chunk(q: torch.Tensor, k: torch.Tensor) -> int:
    """Queries per chunk so that one chunk's map (batch x heads x chunk x keys) fits the budget."""
    batch, heads, _, _ = q.shape
    row_bytes = batch * heads * k.shape[2] * q.element_size()
    return max(1, EXPORTED_MAP_BYTES // row_bytes)


def _attend_in_query_chunks(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # Both sides scaled by head_dim^-1/4, as PyTorch's own decomposition does, so an fp16 graph's
    # products stay in range.
    root_scale = 1.0 / math.sqrt(math.sqrt(q.shape[-1]))
    keys_transposed = k.transpose(2, 3) * root_scale
    chunks = [torch.softmax((chunk * root_scale) @ keys_transposed, dim=-1) @ v
              for chunk in q.split(_exported_query_chunk(q, k), dim=2)]
    return torch.cat(chunks, dim=2) if len(chunks) > 1 else chunks[0]
