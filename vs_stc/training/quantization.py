"""Stage-I quantization with straight-through gradients and the stage-I losses.

At inference the generator decodes C_S[i] + C_T[j], so stage I trains exactly that sum to stand
for the latent z. The spatial codeword i is the nearest to z; the temporal codeword j is the
nearest to what the spatial one leaves over, r = z - C_S[i] (two-level residual quantization,
which makes the pair far more expressive than either book alone). The temporal latent
SA(z) + residual(z) is pulled onto C_T[j], so it carries the information stage II's temporal
transformer needs to predict j from a degraded clip."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..models.quantizer import SpatialTemporalQuantizer
from .losses import marginal_prior_kl, squared_distances


@dataclass
class Quantized:
    latent: torch.Tensor  # (b, c, t, h, w) = C_S[i] + C_T[j], straight-through: gradients reach z
    spatial_indices: torch.Tensor  # (b, t, h, w)
    temporal_indices: torch.Tensor
    codebook_loss: torch.Tensor
    temporal_loss: torch.Tensor  # how far the temporal latent lies from its codeword C_T[j]
    prior_kl: torch.Tensor  # marginal-prior KL, both codebooks summed


def _rows(x: torch.Tensor) -> torch.Tensor:
    """(b, c, t, h, w) -> (b*t*h*w, c)."""
    return x.permute(0, 2, 3, 4, 1).reshape(-1, x.shape[1])


def _spatial_leftover(quantizer: SpatialTemporalQuantizer, rows: torch.Tensor) -> torch.Tensor:
    """z - C_S[nearest]: the part of each latent vector the temporal codeword has to supply."""
    book = quantizer.embedding_s.weight
    return rows - book[squared_distances(rows, book).argmin(1)]


@torch.no_grad()
def restart_unused_codes(
    quantizer: SpatialTemporalQuantizer, z: torch.Tensor, usage: tuple[torch.Tensor, torch.Tensor],
    generator: torch.Generator, threshold: float = 1e-3,
) -> int:
    """Moves codewords whose recent usage share is below ``threshold`` onto vectors they are meant
    to quantize in ``z`` (the usual cure for codebook collapse, beside the marginal prior):
    spatial ones onto latent vectors, temporal ones onto spatial leftovers. ``usage``: the spatial
    and temporal codebooks' usage shares. Returns how many codewords moved."""
    moved = 0
    rows = _rows(z)
    for book, share in ((quantizer.embedding_s.weight, usage[0]), (quantizer.embedding_t.weight, usage[1])):
        dead = (share < threshold).nonzero().flatten()
        if len(dead):
            targets = rows if book is quantizer.embedding_s.weight else _spatial_leftover(quantizer, rows)
            book[dead] = targets[torch.randint(len(targets), (len(dead),), generator=generator)]
            moved += len(dead)
    return moved


@torch.no_grad()
def initialise_codebooks(quantizer: SpatialTemporalQuantizer, z: torch.Tensor, generator: torch.Generator) -> None:
    """Sets the spatial codebook to latent vectors drawn from a batch and the temporal one to the
    leftovers those codewords then leave, so training starts with every codeword near real data
    instead of most of them unreachable."""
    rows = _rows(z)
    for book in (quantizer.embedding_s.weight, quantizer.embedding_t.weight):
        targets = rows if book is quantizer.embedding_s.weight else _spatial_leftover(quantizer, rows)
        picks = torch.randint(len(targets), (book.shape[0],), generator=generator)
        book.copy_(targets[picks] + 1e-3 * torch.randn(book.shape, generator=generator))


def quantize(quantizer: SpatialTemporalQuantizer, z: torch.Tensor, beta: float = 0.25) -> Quantized:
    b, c, t, h, w = z.shape
    rows = _rows(z)
    spatial_book, temporal_book = quantizer.embedding_s.weight, quantizer.embedding_t.weight
    spatial_distances = squared_distances(rows, spatial_book)
    spatial = spatial_distances.argmin(1)
    leftover = rows - spatial_book[spatial].detach()
    temporal_distances = squared_distances(leftover, temporal_book)
    temporal = temporal_distances.argmin(1)
    chosen_s, chosen_t = spatial_book[spatial], temporal_book[temporal]
    quantized = (chosen_s + chosen_t).view(b, t, h, w, c).permute(0, 4, 1, 2, 3)
    codewords_to_data = F.mse_loss(chosen_s, rows.detach()) + F.mse_loss(chosen_t, leftover.detach())
    return Quantized(
        latent=z + (quantized - z).detach(),
        spatial_indices=spatial.view(b, t, h, w),
        temporal_indices=temporal.view(b, t, h, w),
        codebook_loss=codewords_to_data + beta * F.mse_loss(z, quantized.detach()),
        temporal_loss=F.mse_loss(_rows(quantizer.temporal_latent(z)), chosen_t.detach()),
        prior_kl=marginal_prior_kl(spatial_distances) + marginal_prior_kl(temporal_distances),
    )
