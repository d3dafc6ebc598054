"""Deterministic weights: every tensor drawn from a generator seeded by the CRC32 of its name,
scaled so activations stay in range, so any implementation can rebuild them from a list of names
and shapes alone. They restore nothing. They are the weights of the parity tests (the reference
implementation's outputs for them are committed in tests/fixtures/parity), and of the tests and
benchmarks that measure the network's and the engine's mechanics, speed and memory rather than
restoration quality (the trained models ship in weights/)."""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence

import torch

from .config import STCConfig
from .network import STCNet


def deterministic_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    if key.startswith("position_emb"):
        return (0.02 * x).float()
    if "embedding_" in key:  # codebooks
        return (0.5 * x).float()
    if len(shape) == 1:  # norm scales and biases
        return (1.0 + 0.1 * x).float() if key.endswith(".weight") else (0.02 * x).float()
    fan_in = shape[1] if key.endswith("in_proj_weight") else math.prod(shape[1:])
    return (x / math.sqrt(fan_in)).float()


def deterministic_state(manifest: Mapping[str, Sequence[int]]) -> dict[str, torch.Tensor]:
    """The deterministic tensor of every name in ``manifest`` (name -> shape), in its order."""
    return {key: deterministic_tensor(key, tuple(shape)) for key, shape in manifest.items()}


def deterministic_network(config: STCConfig) -> STCNet:
    """An STCNet of ``config`` in eval mode, filled with deterministic weights."""
    with torch.device("meta"):
        network = STCNet(config)
    state = deterministic_state({k: v.shape for k, v in network.state_dict().items()})
    network.load_state_dict(state, assign=True)
    return network.eval().requires_grad_(False)
