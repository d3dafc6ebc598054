"""Shared fixtures: the parity data (tests/fixtures/parity), the bundled models, and a tiny network
config with deterministic weights for the engine's mechanics."""

from __future__ import annotations

import json
import os
from pathlib import Path

# `make test` runs two pytest-xdist workers on the machine's cores. Each then runs PyTorch on one
# thread, in process and in every command it starts: an OpenMP team whose threads the other worker
# pre-empts waits at every barrier (a Ray render took 8 s alone, 74 s beside two busy processes).
# The engine's own thread logic is tested with the setting removed (test_device.py).
if os.environ.get("PYTEST_XDIST_WORKER") and not os.environ.get("OMP_NUM_THREADS"):
    os.environ["OMP_NUM_THREADS"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

from vs_stc.models import STCConfig  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked slow) first: xdist hands tests out in this order, so the two workers
    share the long ones from the start rather than one finishing the last of them alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

# A network small enough to run in milliseconds: 64 x 64 frames, 8 x 8 latent, 2 transformer layers.
TINY = STCConfig(
    base_channels=8,
    channel_multipliers=(1, 2, 2, 4),
    latent_channels=16,
    codebook_size=32,
    resolution=64,
    norm_groups=4,
    temporal_norm_groups=4,
    transformer_layers=2,
    transformer_heads=2,
    transformer_ffn=32,
)


# The reference implementation's manifests and (derived) golden outputs, committed in the repository.
PARITY = REPO / "tests" / "fixtures" / "parity"
PARITY_CONFIGS = ("bfvr", "deflicker")


@pytest.fixture(scope="session")
def manifests() -> dict[str, dict[str, list[int]]]:
    """Name -> shape of every tensor in the released checkpoints, training-only ones included."""
    return {name: json.loads((PARITY / f"manifest_{name}.json").read_text()) for name in PARITY_CONFIGS}


@pytest.fixture(scope="session")
def parity_checkpoints(tmp_path_factory, manifests) -> dict[str, Path]:
    """Released-format files ({"params_ema": ...}, unused tensors included) of the parity weights."""
    from vs_stc.models.deterministic import deterministic_state

    folder = tmp_path_factory.mktemp("parity-weights")
    files = {}
    for name, manifest in manifests.items():
        files[name] = folder / f"{name}.pth"
        torch.save({"params_ema": deterministic_state(manifest)}, files[name])
    return files


def parity_clip() -> torch.Tensor:
    """The reference input: (3, 4, 512, 512) uint8, channels x frames x height x width."""
    import numpy as np

    with np.load(PARITY / "clip_T4.npz") as file:
        return torch.from_numpy(file["clip"])


@pytest.fixture(scope="session")
def parity_forward(parity_checkpoints):
    """``parity_forward(name)``: (features, indices, output) of the parity clip through that parity
    checkpoint in one-frame chunks (the default at 512 x 512), computed once per session: the
    released-size forward pass is the suite's slowest step."""
    import vs_stc

    computed = {}

    def forward(name: str):
        if name not in computed:
            model = vs_stc.load_model(parity_checkpoints[name])
            model.temporal_chunk = 1
            with torch.inference_mode():
                features, indices = model.encode_indices(parity_clip().float().div(255).unsqueeze(0))
                computed[name] = features, indices, model.decode_indices(indices)
        return computed[name]

    return forward


@pytest.fixture
def tiny_state() -> dict[str, torch.Tensor]:
    from vs_stc.models.deterministic import deterministic_network

    return deterministic_network(TINY).state_dict()


def bundled(name: str) -> str:
    """A model that ships in weights/, by name (the surfaces' tests run the real trained files)."""
    from vs_stc.weights import bundled_path

    bundled_path(name)  # a missing file fails here, naming it
    return name


@pytest.fixture(scope="session")
def mobile_detector():
    """RetinaFace MobileNet, the detector that ships (its ONNX session), loaded once per session."""
    from vs_stc.faces import load_detector

    return load_detector("retinaface-mobile")[0]


@pytest.fixture(scope="session")
def fixture_clip_faces(mobile_detector) -> list:
    """The faces of each frame of the face fixture clip (tests/face_clips.py), scored as face mode
    scores them (second looks included), detected once per session."""
    from face_clips import face_clip
    from vs_stc.faces import detect_frames

    return list(detect_frames(mobile_detector, face_clip().frames, confirm=True))


@pytest.fixture(scope="session")
def bundled_bfvr() -> str:
    return bundled("tiny-bfvr")


@pytest.fixture(scope="session")
def bundled_deflicker() -> str:
    return bundled("tiny-deflicker")


def printed_to_stderr(capsys: pytest.CaptureFixture, text: str, timeout: float = 60) -> str:
    """What has reached stderr once ``text`` has (another thread prints it), or fails after ``timeout``."""
    import time

    printed, deadline = "", time.monotonic() + timeout
    while text not in printed:
        assert time.monotonic() < deadline, f"{text!r} never reached stderr; it had: {printed!r}"
        time.sleep(0.05)
        printed += capsys.readouterr().err
    return printed
