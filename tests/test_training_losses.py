"""Stage-I losses: the marginal prior reaches every codeword; quantization is straight-through."""

from __future__ import annotations

import math

import torch

from vs_stc.models.quantizer import SpatialTemporalQuantizer
from vs_stc.training.losses import marginal_prior_kl, squared_distances
from vs_stc.training.quantization import quantize

from conftest import TINY


def test_marginal_prior_gives_every_codeword_a_gradient_unlike_usage_counts():
    torch.manual_seed(0)
    latents = torch.randn(64, 8)
    codebook = torch.randn(32, 8, requires_grad=True)
    distances = squared_distances(latents, codebook)

    marginal_prior_kl(distances).backward()
    assert codebook.grad is not None and (codebook.grad.abs().sum(1) > 0).all()

    # Usage counted from argmin assignments is piecewise constant: nothing to differentiate.
    counts = torch.bincount(distances.argmin(1), minlength=32).float() / len(latents)
    assert not counts.requires_grad
    used = (counts > 0).sum()
    assert used < 32  # some codewords are unused, and counting could never reach them


def test_marginal_prior_is_zero_for_uniform_usage_and_grows_with_collapse():
    uniform = torch.ones(10, 4)  # every row equally far from every codeword
    assert marginal_prior_kl(uniform).abs() < 1e-6
    collapsed = torch.full((10, 4), 100.0)
    collapsed[:, 0] = 0.01  # every position right on codeword 0
    assert marginal_prior_kl(collapsed) > 0.9 * math.log(4)


def test_stage_one_quantization_is_straight_through_and_uses_both_codebooks():
    torch.manual_seed(1)
    quantizer = SpatialTemporalQuantizer(TINY.with_changes(temporal_residual="frames"))
    z = torch.randn(1, TINY.latent_channels, 4, 8, 8, requires_grad=True)
    result = quantize(quantizer, z)
    expected = quantizer.lookup(result.spatial_indices, result.temporal_indices).permute(0, 4, 1, 2, 3)
    assert torch.allclose(result.latent, expected, atol=1e-6)
    (result.latent.sum() + result.codebook_loss + result.prior_kl).backward()
    assert torch.allclose(z.grad[0, 0], torch.ones_like(z.grad[0, 0]), atol=0.5)  # identity from the latent term
    assert quantizer.embedding_s.weight.grad.abs().sum(1).gt(0).all()
    assert quantizer.embedding_t.weight.grad.abs().sum(1).gt(0).all()


def test_codebooks_start_on_the_data():
    from vs_stc.training.quantization import initialise_codebooks

    quantizer = SpatialTemporalQuantizer(TINY.with_changes(temporal_residual="frames"))
    z = torch.randn(1, TINY.latent_channels, 4, 8, 8) * 5 + 3
    initialise_codebooks(quantizer, z, torch.Generator().manual_seed(0))
    used = quantize(quantizer, z).spatial_indices.unique().numel()
    assert used > TINY.codebook_size // 2  # most codewords are some latent's nearest


def test_unused_codewords_move_onto_the_data():
    from vs_stc.training.quantization import restart_unused_codes

    quantizer = SpatialTemporalQuantizer(TINY.with_changes(temporal_residual="frames"))
    z = torch.randn(1, TINY.latent_channels, 4, 8, 8) * 5 + 40  # far from every initial codeword
    before = quantize(quantizer, z).spatial_indices.unique().numel()
    usage = torch.zeros(TINY.codebook_size)
    usage[0] = 1.0  # only codeword 0 was used lately
    moved = restart_unused_codes(quantizer, z, (usage, usage), torch.Generator().manual_seed(0))
    assert moved == 2 * (TINY.codebook_size - 1)
    assert quantize(quantizer, z).spatial_indices.unique().numel() > max(before, TINY.codebook_size // 2)


def test_the_temporal_codeword_completes_the_spatial_one_and_trains_the_temporal_latent():
    torch.manual_seed(2)
    quantizer = SpatialTemporalQuantizer(TINY.with_changes(temporal_residual="frames"))
    z = torch.randn(1, TINY.latent_channels, 4, 8, 8)
    from vs_stc.training.quantization import initialise_codebooks

    initialise_codebooks(quantizer, z, torch.Generator().manual_seed(0))
    result = quantize(quantizer, z)
    spatial_only = quantizer.embedding_s.weight[result.spatial_indices].permute(0, 4, 1, 2, 3)
    assert (result.latent - z).pow(2).mean() < 0.8 * (spatial_only - z).pow(2).mean()
    result.temporal_loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in quantizer.SA.parameters())


def test_stage_one_warm_up_decodes_the_unquantized_latent_and_still_trains_the_codebooks():
    from pathlib import Path

    from vs_stc.models import STCNet
    from vs_stc.training.config import TrainConfig
    from vs_stc.training.stages import stage1_losses

    torch.manual_seed(3)
    model = STCNet(TINY.with_changes(temporal_residual="frames"))
    config = TrainConfig(task="bfvr", data=(), output=Path("unused"))
    clean = torch.rand(1, 3, 4, TINY.resolution, TINY.resolution)
    losses = stage1_losses(model, clean, clean, config, quantized=False)
    with torch.no_grad():
        plain = (model.generator(model.encoder(clean)) - clean).abs().mean()
    assert torch.isclose(losses["l1"], plain)
    losses["total"].backward()
    assert model.quantize.embedding_s.weight.grad.abs().sum() > 0
