"""The full-resolution levels run in temporal chunks give the output of the whole-clip path, for
chunk sizes that divide the clip, that do not, and that exceed it."""

from __future__ import annotations

import pytest
import torch

from vs_stc.errors import OptionError
from vs_stc.models import STCNet, temporal_chunks
from vs_stc.models.blocks import Conv3d, Downsample, ResidualBlock, Upsample, group_norm
from vs_stc.models.config import BFVR
from vs_stc.models.deterministic import deterministic_network

from conftest import TINY, parity_clip

# Within fp32 rounding; a wrong halo or a per-chunk norm statistic is off by orders of magnitude more.
TOLERANCE = dict(rtol=1e-6, atol=1e-6)
LENGTHS_AND_CHUNKS = [(2, 3), (8, 3), (6, 2), (5, 1), (7, 4)]  # shorter than, not a multiple of, a multiple of


def randomised(module: torch.nn.Module) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(0)
    for parameter in module.parameters():
        parameter.data = torch.randn(parameter.shape, generator=generator) * 0.3
    return module.eval().requires_grad_(False)


def clip(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape))) * 2 + 0.5


@pytest.mark.parametrize("frames, chunk", LENGTHS_AND_CHUNKS)
@pytest.mark.parametrize("in_channels, out_channels", [(8, 8), (8, 16), (16, 8)])
def test_residual_block(frames, chunk, in_channels, out_channels):
    block = randomised(ResidualBlock(in_channels, out_channels, groups=4))
    x = clip(2, in_channels, frames, 12, 10)
    with torch.inference_mode():
        expected = block(x)
        torch.testing.assert_close(temporal_chunks.residual_block(block, x.clone(), chunk), expected, **TOLERANCE)


@pytest.mark.parametrize("frames, chunk", LENGTHS_AND_CHUNKS)
@pytest.mark.parametrize("temporal", [True, False])
def test_resampling(frames, chunk, temporal):
    down, up = randomised(Downsample(8, temporal)), randomised(Upsample(8, temporal))
    x = clip(1, 8, frames, 12, 10)
    with torch.inference_mode():
        torch.testing.assert_close(temporal_chunks.downsample(down, x, chunk), down(x), **TOLERANCE)
        torch.testing.assert_close(temporal_chunks.upsample(up, x, chunk), up(x), **TOLERANCE)


@pytest.mark.parametrize("frames, chunk", LENGTHS_AND_CHUNKS)
def test_norm_then_convolution(frames, chunk):
    blocks = torch.nn.ModuleList([randomised(group_norm(8, 4)), randomised(Conv3d(8, 3, 3, padding=1))])
    x = clip(1, 8, frames, 12, 10)
    with torch.inference_mode():
        torch.testing.assert_close(temporal_chunks.run_blocks(blocks, x, chunk), blocks[1](blocks[0](x)), **TOLERANCE)


@pytest.mark.parametrize("frames, chunk", LENGTHS_AND_CHUNKS)
@pytest.mark.parametrize("halo", [0, 1])
def test_sliding_windows_equal_windows_built_afresh(frames, chunk, halo):
    """windows() moves the frames a window shares with the one before: each must be exactly the
    window built from scratch, at the clip's ends too. Frames of 8 x 8, a whole number of SIMD
    vectors as at the network's sizes: a 6 x 5 plane would put different samples in the scalar tail
    of the activation's loop, which rounds its last bit differently."""
    x = clip(1, 4, frames, 8, 8)
    affine = temporal_chunks.Affine(torch.rand(1, 4, 1, 1, 1) + 0.5, torch.rand(1, 4, 1, 1, 1) - 0.5, swish=True)
    seen = []
    for start, stop, window in temporal_chunks.windows(x, chunk, affine, halo):
        assert torch.equal(window, temporal_chunks.window(x, start, stop, affine, halo)), (start, stop)
        seen.append((start, stop))
    assert seen == list(temporal_chunks.spans(frames, chunk))


@pytest.mark.parametrize("frames, chunk", [(2, 3), (8, 3), (6, 2), (8, 1)])
def test_network_matches_the_whole_clip_path(frames, chunk):
    network = deterministic_network(TINY)
    x = torch.rand(1, 3, frames, 64, 64, generator=torch.Generator().manual_seed(frames))
    with torch.inference_mode():
        network.temporal_chunk = None
        latent, indices = network.encode_indices(x)
        output, decoded = network.decode_indices(indices), network.generator(latent)
        network.temporal_chunk = chunk
        chunked_latent, chunked_indices = network.encode_indices(x)
        torch.testing.assert_close(chunked_latent, latent, **TOLERANCE)
        assert all(torch.equal(a, b) for a, b in zip(chunked_indices, indices))
        torch.testing.assert_close(network.decode_indices(chunked_indices), output, **TOLERANCE)
        torch.testing.assert_close(network.generator(latent), decoded, **TOLERANCE)


BF16_UNIT_ROUNDOFF = 2.0**-8  # bf16 keeps 8 significant bits


def weighted_layers(module: torch.nn.Module) -> int:
    return sum(isinstance(m, (torch.nn.Conv3d, torch.nn.Linear)) for m in module.modules())


def frame_errors(value: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Relative L2 error of each frame of (1, C, T, H, W) ``value`` against fp32 ``reference``."""
    difference = (value.float() - reference).transpose(1, 2).flatten(2).norm(dim=2)
    return (difference / reference.transpose(1, 2).flatten(2).norm(dim=2))[0]


def test_bfloat16_matches_the_whole_clip_path_within_its_precision():
    """bf16 rounds differently with each kernel (emulated, AVX512-BF16, AMX), so both paths are held
    to the classic bound for a chain of n rounded layers, n times bf16's unit roundoff, against fp32,
    frame by frame; the chunked path must also be no less accurate than the whole clip's. A per-chunk
    norm statistic or a missing halo is off by about 100% on the frames it touches."""
    reference_network = deterministic_network(TINY)
    network = deterministic_network(TINY).to(torch.bfloat16)
    x = torch.rand(1, 3, 8, 64, 64, generator=torch.Generator().manual_seed(8))
    with torch.inference_mode():
        reference_latent = reference_network.encoder(x)
        reference_decoded = reference_network.generator(reference_latent)
        for part, given, reference in (("encoder", x, reference_latent),
                                       ("generator", reference_latent, reference_decoded)):
            bound = weighted_layers(getattr(network, part)) * BF16_UNIT_ROUNDOFF
            errors = {}
            for chunk in (None, 3):
                network.temporal_chunk = chunk
                errors[chunk] = frame_errors(getattr(network, part)(given.bfloat16()), reference)
                assert errors[chunk].max() < bound, (part, chunk, errors[chunk], bound)
            assert torch.all(errors[3] <= 1.5 * errors[None] + BF16_UNIT_ROUNDOFF), (part, errors)


def test_autograd_runs_the_whole_clip_path():
    network = deterministic_network(TINY)
    network.temporal_chunk = 1
    x = torch.rand(1, 3, 4, 64, 64, generator=torch.Generator().manual_seed(4))
    kept = x.clone()
    with torch.enable_grad():
        network.encoder(x.requires_grad_()).sum().backward()
    assert x.grad is not None and torch.equal(x.detach(), kept)


def test_auto_chunks_hold_one_frame_at_the_released_size_and_whole_small_clips():
    released, tiny = STCNet(BFVR), deterministic_network(TINY)
    assert released.temporal_chunk == tiny.temporal_chunk == "auto"
    for dtype in (torch.float32, torch.bfloat16):
        clip_in = torch.empty(1, 3, 24, 512, 512, dtype=dtype, device="meta")
        assert released.encoder._frames_per_chunk(clip_in) == 1
        latent = torch.empty(1, BFVR.latent_channels, 12, 64, 64, dtype=dtype, device="meta")
        assert released.generator._frames_per_chunk(latent) == 1
    assert tiny.encoder._frames_per_chunk(torch.empty(1, 3, 24, 64, 64)) >= 24
    latent_side = TINY.resolution // 2 ** (len(TINY.channel_multipliers) - 1)
    assert tiny.generator._frames_per_chunk(torch.empty(1, TINY.latent_channels, 12, latent_side, latent_side)) >= 24


@pytest.mark.parametrize("value", [0, -2, 2.5, True, "4"])
def test_bad_chunk_is_refused(value):
    network = deterministic_network(TINY)
    with pytest.raises(OptionError, match="temporal_chunk"):
        network.temporal_chunk = value


def test_released_architecture_in_single_frame_chunks_gives_the_whole_clip_output():
    """The released BFVR network (its channels, levels and transformers) on the parity clip's centre
    at 128 x 128, one-frame chunks against the whole clip: the chunking is the same at any size,
    and 512 x 512 would cost this test 16 times as much (the parity tests run that size chunked)."""
    model = deterministic_network(BFVR.with_changes(resolution=128))
    x = parity_clip()[:, :, 192:320, 192:320].float().div(255).unsqueeze(0)
    with torch.inference_mode():
        model.temporal_chunk = None
        features, indices = model.encode_indices(x)
        output = model.decode_indices(indices)
        model.temporal_chunk = 1
        chunked_features, chunked_indices = model.encode_indices(x)
        chunked_output = model.decode_indices(chunked_indices)
    assert all(torch.equal(a, b) for a, b in zip(chunked_indices, indices))
    torch.testing.assert_close(chunked_features, features, **TOLERANCE)
    torch.testing.assert_close(chunked_output, output, **TOLERANCE)
