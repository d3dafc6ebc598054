"""The network reproduces the reference model's outputs on the project's golden clips (fp32)."""

from __future__ import annotations

import pytest
import torch

import vs_stc
from vs_stc.models import UNUSED_CHECKPOINT_PREFIXES, STCNet, named_config

TOLERANCE = 1e-3


@pytest.mark.parametrize("name", ["bfvr", "deflicker"])
def test_parameter_names_and_shapes_match_the_released_layout(name, manifests):
    with torch.device("meta"):
        ours = {k: list(v.shape) for k, v in STCNet(named_config(name)).state_dict().items()}
    released = {k: v for k, v in manifests[name].items() if not k.startswith(UNUSED_CHECKPOINT_PREFIXES)}
    assert ours == released


@pytest.mark.parametrize("name", ["bfvr", "deflicker"])
def test_forward_matches_golden_output(name, parity, parity_checkpoints):
    golden = torch.load(parity / f"golden_{name}_T4.pt", weights_only=True)
    assert golden["config"] == name
    model = vs_stc.load_model(parity_checkpoints[name])
    clip = golden["input_uint8_cthw"].float().div(255).unsqueeze(0)

    with torch.inference_mode():
        features, indices = model.encode_indices(clip)
        output = model.decode_indices(indices)

    assert (features[0] - golden["lq_feat"]).abs().max() < TOLERANCE
    # The golden files hold the indices of the first latent frame (64 x 64 positions).
    assert torch.equal(indices.spatial[0, 0].flatten(), golden["idx_s"].long())
    assert torch.equal(indices.temporal[0, 0].flatten(), golden["idx_t"].long())
    assert (output[0] - golden["output"]).abs().max() < TOLERANCE
    # Calling the model is the same computation.
    assert torch.equal(model(clip), output)
