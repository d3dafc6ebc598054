"""The two training stages as loss functions over a batch.

Stage I trains the whole 3-D VQGAN (encoder, both codebooks, temporal attention, generator) to
reconstruct clean clips through its quantized latent. Stage II freezes the codebooks, the temporal
attention and the generator, and trains the encoder and both lookup transformers to predict, from
a degraded clip, the codes a frozen stage-I encoder gives the clean clip."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models import STCNet
from .config import TrainConfig
from .losses import reconstruction_loss
from .quantization import quantize

Losses = dict[str, torch.Tensor]


def stage1_trainable(model: STCNet) -> list[nn.Parameter]:
    return [p for m in (model.encoder, model.quantize, model.generator) for p in m.parameters()]


def stage1_losses(model: STCNet, clean: torch.Tensor, degraded: torch.Tensor, config: TrainConfig,
                  quantized: bool = True) -> Losses:
    """``quantized=False``: the generator decodes the encoder's latent itself (warm-up); the
    codebooks still follow the latents, so every parameter gets its gradient either way."""
    z = model.encoder(clean)
    q = quantize(model.quantize, z, config.codebook_beta)
    restored = model.generator(q.latent if quantized else z)
    losses = {
        "l1": reconstruction_loss(restored, clean),
        "codebook": q.codebook_loss,
        "temporal": q.temporal_loss,
        "prior": config.prior_weight * q.prior_kl,
    }
    losses["total"] = sum(losses.values())
    losses["codes"] = torch.stack([q.spatial_indices.flatten(), q.temporal_indices.flatten()])  # for usage stats
    return losses


def stage2_trainable(model: STCNet) -> list[nn.Parameter]:
    frozen = {id(p) for m in (model.quantize, model.generator) for p in m.parameters()}
    return [p for p in model.parameters() if id(p) not in frozen]


def stage2_losses(model: STCNet, teacher: nn.Module, clean: torch.Tensor, degraded: torch.Tensor,
                  config: TrainConfig) -> Losses:
    """``teacher``: the frozen stage-I encoder."""
    with torch.no_grad():
        target = quantize(model.quantize, teacher(clean))
    z = model.encoder(degraded)
    logits_s, logits_t = model.code_logits(z)
    codes = model.quantize.lookup(target.spatial_indices, target.temporal_indices).permute(0, 4, 1, 2, 3)
    losses = {
        "feature": config.feature_weight * F.mse_loss(z, codes),
        "ce": config.cross_entropy_weight * (
            F.cross_entropy(logits_s.flatten(0, 1), target.spatial_indices.flatten())
            + F.cross_entropy(logits_t.flatten(0, 1), target.temporal_indices.flatten())
        ),
    }
    losses["total"] = losses["feature"] + losses["ce"]
    return losses
