"""Stage-I quantization: nearest codewords for the latent (spatial codebook) and for its temporal
latent (temporal codebook), with straight-through gradients and the stage-I losses."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.quantizer import SpatialTemporalQuantizer
from .losses import codebook_loss, marginal_prior_kl, squared_distances


@dataclass
class Quantized:
    latent: torch.Tensor  # (b, c, t, h, w), straight-through: gradients flow to the encoder
    spatial_indices: torch.Tensor  # (b, t, h, w)
    temporal_indices: torch.Tensor
    codebook_loss: torch.Tensor
    prior_kl: torch.Tensor  # marginal-prior KL, both codebooks summed


def _rows(x: torch.Tensor) -> torch.Tensor:
    """(b, c, t, h, w) -> (b*t*h*w, c)."""
    return x.permute(0, 2, 3, 4, 1).reshape(-1, x.shape[1])


@torch.no_grad()
def restart_unused_codes(
    quantizer: SpatialTemporalQuantizer, z: torch.Tensor, usage: tuple[torch.Tensor, torch.Tensor],
    generator: torch.Generator, threshold: float = 1e-3,
) -> int:
    """Moves codewords whose recent usage share is below ``threshold`` onto latent vectors of
    ``z`` (the usual cure for codebook collapse, beside the marginal prior). ``usage``: the spatial
    and temporal codebooks' usage shares. Returns how many codewords moved."""
    moved = 0
    for source, book, share in ((z, quantizer.embedding_s.weight, usage[0]),
                                (quantizer.temporal_latent(z), quantizer.embedding_t.weight, usage[1])):
        dead = (share < threshold).nonzero().flatten()
        if len(dead):
            rows = _rows(source)
            book[dead] = rows[torch.randint(len(rows), (len(dead),), generator=generator)]
            moved += len(dead)
    return moved


@torch.no_grad()
def initialise_codebooks(quantizer: SpatialTemporalQuantizer, z: torch.Tensor, generator: torch.Generator) -> None:
    """Sets both codebooks to latent vectors drawn from a batch (the spatial one from the latent,
    the temporal one from its temporal latent), so training starts with every codeword near real
    data instead of most of them unreachable."""
    for source, book in ((z, quantizer.embedding_s.weight), (quantizer.temporal_latent(z), quantizer.embedding_t.weight)):
        rows = _rows(source)
        picks = torch.randint(len(rows), (book.shape[0],), generator=generator)
        book.copy_(rows[picks] + 1e-3 * torch.randn(book.shape, generator=generator))


def quantize(quantizer: SpatialTemporalQuantizer, z: torch.Tensor, beta: float = 0.25) -> Quantized:
    b, c, t, h, w = z.shape
    codebooks = (quantizer.embedding_s.weight, quantizer.embedding_t.weight)
    sources = (z, quantizer.temporal_latent(z))
    distances = [squared_distances(_rows(x), book) for x, book in zip(sources, codebooks)]
    indices = [d.argmin(1) for d in distances]
    quantized = quantizer.lookup(*indices).view(b, t, h, w, c).permute(0, 4, 1, 2, 3)
    return Quantized(
        latent=z + (quantized - z).detach(),
        spatial_indices=indices[0].view(b, t, h, w),
        temporal_indices=indices[1].view(b, t, h, w),
        codebook_loss=codebook_loss(z, quantized, beta),
        prior_kl=sum(marginal_prior_kl(d) for d in distances),
    )
