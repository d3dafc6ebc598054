"""Stage-I losses: reconstruction and the marginal-prior regulariser (the codebook terms live with
the quantization, in quantization.py).

The marginal prior keeps every codeword in use. For each latent vector, its squared distances to
all codewords become similarities (their inverses), normalised into a distribution over the
codebook; averaging those over all positions gives the codebook's marginal usage, which is pulled
towards the uniform distribution with KL(usage || uniform). Unlike counting argmin usage (a one-hot,
piecewise-constant quantity with no gradient), every codeword gets a gradient through it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SIMILARITY_EPS = 1e-6


def squared_distances(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """(N, C) x (K, C) -> (N, K) squared Euclidean distances."""
    return (
        vectors.pow(2).sum(1, keepdim=True)
        - 2 * vectors @ codebook.t()
        + codebook.pow(2).sum(1)
    ).clamp_min(0)


def marginal_prior_kl(distances: torch.Tensor) -> torch.Tensor:
    """KL(marginal codeword usage || uniform) from (N, K) squared distances."""
    similarity = 1.0 / (distances + SIMILARITY_EPS)
    assignment = similarity / similarity.sum(1, keepdim=True)
    usage = assignment.mean(0)
    return (usage * (usage.clamp_min(1e-12).log() + math.log(usage.numel()))).sum()


def reconstruction_loss(restored: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(restored, target)
