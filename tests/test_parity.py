"""The network reproduces the reference model's outputs on the project's golden clip (fp32).

The reference outputs come from tests/fixtures/parity (see its README): the exact code indices,
full-precision crops of the encoder features and of the output, and statistics of the whole
features and output."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vs_stc.models import UNUSED_CHECKPOINT_PREFIXES, STCNet, named_config
from vs_stc.models.deterministic import deterministic_network

from conftest import PARITY, TINY, parity_clip

TOLERANCE = 1e-3  # elementwise, on the crops of the features and of the output
STATS_TOLERANCE = 1e-4  # on means, deviations, extremes and pooled means (fp32 noise is ~1e-6)
CLIP_SHA256 = "84b0c932d7c58f1f51a2a74feb0575940ae64be8f6172a8167e05b8d4c892d27"


def golden(name: str) -> dict[str, np.ndarray]:
    with np.load(PARITY / f"golden_{name}_T4.npz") as file:
        return dict(file)


@pytest.fixture(scope="module")
def golden_clip() -> torch.Tensor:
    return parity_clip()


def test_golden_clip_is_the_reference_input(golden_clip):
    assert golden_clip.shape == (3, 4, 512, 512) and golden_clip.dtype == torch.uint8
    assert hashlib.sha256(golden_clip.numpy().tobytes()).hexdigest() == CLIP_SHA256


@pytest.mark.parametrize("name", ["bfvr", "deflicker"])
def test_parameter_names_and_shapes_match_the_released_layout(name, manifests):
    with torch.device("meta"):
        ours = {k: list(v.shape) for k, v in STCNet(named_config(name)).state_dict().items()}
    released = {k: v for k, v in manifests[name].items() if not k.startswith(UNUSED_CHECKPOINT_PREFIXES)}
    assert ours == released


def crops(tensor: torch.Tensor, corners: np.ndarray, size: int) -> torch.Tensor:
    """(C, T, H, W) -> (len(corners), C, T, size, size), the squares at the (y, x) corners."""
    return torch.stack([tensor[..., y:y + size, x:x + size] for y, x in corners.tolist()])


def assert_close(ours: torch.Tensor, reference: np.ndarray, tolerance: float, what: str) -> None:
    reference = torch.from_numpy(reference)
    assert ours.shape == reference.shape, what
    error = (ours - reference).abs().max().item()
    assert error < tolerance, f"{what}: max abs difference {error:.2e}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bfvr", "deflicker"])
def test_forward_matches_golden_output(name, parity_forward):
    reference = golden(name)
    assert reference["config"] == name
    features, indices, output = parity_forward(name)

    # The golden files hold the indices of the first latent frame (64 x 64 positions).
    assert torch.equal(indices.spatial[0, 0].flatten(), torch.from_numpy(reference["idx_s"]).long())
    assert torch.equal(indices.temporal[0, 0].flatten(), torch.from_numpy(reference["idx_t"]).long())

    features = features[0]  # (256, 2, 64, 64)
    size = reference["feature_crops"].shape[-1]
    assert_close(crops(features, reference["feature_crop_yx"], size), reference["feature_crops"], TOLERANCE,
                 "feature crops")
    assert_close(features.flatten(2).mean(-1), reference["feature_mean"], STATS_TOLERANCE, "feature means")
    assert_close(features.flatten(2).std(-1), reference["feature_std"], STATS_TOLERANCE, "feature deviations")

    output = output[0]  # (3, 4, 512, 512)
    size = reference["output_crops"].shape[-1]
    assert_close(crops(output, reference["output_crop_yx"], size), reference["output_crops"], TOLERANCE,
                 "output crops")
    flat = output.flatten(2)
    assert_close(flat.mean(-1), reference["output_mean"], STATS_TOLERANCE, "output means")
    assert_close(flat.std(-1), reference["output_std"], STATS_TOLERANCE, "output deviations")
    assert_close(flat.amin(-1), reference["output_min"], STATS_TOLERANCE, "output minima")
    assert_close(flat.amax(-1), reference["output_max"], STATS_TOLERANCE, "output maxima")
    pool = output.shape[-1] // reference["output_pooled"].shape[-1]
    assert_close(F.avg_pool2d(output, pool), reference["output_pooled"], STATS_TOLERANCE, "output pooled means")


def test_calling_the_model_is_encode_then_decode():
    network = deterministic_network(TINY)
    clip = torch.rand(1, 3, 4, TINY.resolution, TINY.resolution, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        assert torch.equal(network(clip), network.decode_indices(network.encode_indices(clip)[1]))
