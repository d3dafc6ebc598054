"""The CUDA frame exchange: pinned staging, asynchronous uploads, CuPy through DLPack.
Skipped where no CUDA device is present (the CPU machines this project is built on)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vs_stc.engine import SampleFormat, tensor_to_planes
from vs_stc.engine.exchange import CudaExchange, exchange_for

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def planes(seed: int, size: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    padded = rng.integers(0, 256, (3, size, size + 32), dtype=np.uint8)
    return [padded[c, :, :size] for c in range(3)]


def test_host_frames_round_trip_through_the_device():
    exchange = exchange_for(torch.device("cuda"), torch.float32)
    assert isinstance(exchange, CudaExchange)
    frames = [planes(t) for t in range(4)]
    fmt = SampleFormat.of(np.uint8)
    for _ in range(2):  # the second window reuses the pinned staging buffer
        batch = exchange.wait(exchange.upload(frames, fmt))
        assert batch.device.type == "cuda" and batch.shape == (1, 3, 4, 32, 32)
        back = exchange.download(batch[0])
        assert back.device.type == "cpu"
        for t, frame in enumerate(frames):
            assert all(np.array_equal(a, b) for a, b in zip(tensor_to_planes(back[:, t], fmt), frame))


def test_cupy_frames_arrive_without_a_host_copy():
    cupy = pytest.importorskip("cupy")
    if not cupy.cuda.is_available():
        pytest.skip("CuPy sees no CUDA device")
    exchange = exchange_for(torch.device("cuda"), torch.float32)
    frames = [[cupy.asarray(p) for p in planes(t)] for t in range(2)]
    batch = exchange.wait(exchange.upload(frames, SampleFormat.of(np.uint8)))
    expected = torch.stack([torch.stack([torch.from_dlpack(p) for p in f]) for f in frames], dim=1).float() / 255
    assert torch.equal(batch[0], expected)


def test_a_caller_on_its_own_stream_gets_the_frames_it_uploaded():
    """The worker waits for the upload's event, not for the caller's stream: a caller inside
    torch.cuda.stream(s) must not race the model."""
    exchange = exchange_for(torch.device("cuda"), torch.float32)
    fmt = SampleFormat.of(np.uint8)
    caller = torch.cuda.Stream()
    for seed in range(8):
        frames = [planes(seed * 4 + t, size=256) for t in range(4)]
        with torch.cuda.stream(caller):
            uploaded = exchange.upload(frames, fmt)
        batch = exchange.wait(uploaded)  # on the default stream, as the device's worker runs
        expected = torch.stack([torch.stack([torch.from_numpy(p) for p in f]) for f in frames], dim=1).float() / 255
        assert torch.equal(batch[0].cpu(), expected), seed


def test_fp32_windows_run_without_tf32_and_leave_the_flags_as_they_were():
    from vs_stc.engine.device import exact_float32

    torch.backends.cudnn.allow_tf32 = True
    batch = torch.zeros(1, device="cuda")
    with exact_float32(batch):
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.allow_tf32
    with exact_float32(batch.half()):
        assert torch.backends.cudnn.allow_tf32
