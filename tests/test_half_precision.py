"""Half precisions through the same code the CUDA path runs, forced on the CPU: every sample type
converts in float32 and casts last (16-bit white stays finite in fp16), the bundled models in fp16
and bf16 stay close to fp32, and an output that overflows is an error naming the window."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from vs_stc.engine import EngineOptions, SampleFormat, WindowRunner, stream
from vs_stc.engine.exchange import HostExchange
from vs_stc.errors import PrecisionError
from vs_stc.loading import load_model
from vs_stc.metrics import psnr
from vs_stc.models import heap, temporal_chunks
from vs_stc.models.deterministic import deterministic_network
from vs_stc.media.portraits import held_out_clip

from conftest import REPO, TINY

SAMPLE_FORMATS = [(np.uint8, None), (np.uint16, 10), (np.uint16, 16), (np.float16, None), (np.float32, None)]
HALF_TYPES = [torch.float16, torch.bfloat16]
# The bundled models against their own fp32 output measured 52-56 dB in fp16 and 46-48 dB in bf16 (AMD
# EPYC with AVX512-BF16, and with ONEDNN_MAX_CPU_ISA=AVX2); fp16 that saw raw 16-bit samples gave 9 dB.
PSNR_FLOOR = {torch.float16: 45.0, torch.bfloat16: 40.0}


def with_white_patch(fmt: SampleFormat, frames: int = 4, size: int = 64) -> list[list[np.ndarray]]:
    """Seeded frames of ``fmt`` whose top-left quarter is the format's white."""
    rng = np.random.default_rng(7)
    clip = held_out_clip(seed=1, frames=frames, size=size).astype(np.float64) / 255
    clip += rng.normal(0, 0.01, clip.shape)
    clip = clip.clip(0, 1)
    clip[:, : size // 2, : size // 2] = 1.0
    samples = (clip * fmt.peak).round() if fmt.is_integer else clip
    samples = samples.astype(fmt.dtype)
    return [[frame[..., c] for c in range(3)] for frame in samples]


@pytest.mark.parametrize("dtype", HALF_TYPES)
@pytest.mark.parametrize(("sample_type", "bits"), SAMPLE_FORMATS)
def test_every_sample_type_is_scaled_in_float32_and_cast_last(sample_type, bits, dtype):
    fmt = SampleFormat.of(sample_type, bits)
    frames = with_white_patch(fmt)
    exact = HostExchange(torch.device("cpu"), torch.float32).upload(frames, fmt, 32).batch
    half = HostExchange(torch.device("cpu"), dtype).upload(frames, fmt, 32).batch
    assert half.dtype == dtype and bool(torch.isfinite(half).all())
    assert torch.equal(half, exact.to(dtype))  # one rounding, from the float32 value
    assert half[0, :, :, 0, 0].float().min() == 1.0  # white stays white


@pytest.mark.parametrize("model", ["tiny-bfvr", "tiny-deflicker"])
@pytest.mark.parametrize(("dtype", "sample_type", "bits"), [
    (torch.float16, np.uint16, 16),  # fp16 convolutions are slow on the CPU: the case that broke
    (torch.bfloat16, np.uint8, None), (torch.bfloat16, np.uint16, 16), (torch.bfloat16, np.float16, None)])
def test_bundled_models_in_half_precision_stay_close_to_fp32(model, dtype, sample_type, bits):
    fmt = SampleFormat.of(sample_type, bits)
    frames = with_white_patch(fmt, frames=6)
    network = load_model(model)
    options = EngineOptions(window=4, overlap=2, resize=True)
    reference = torch.stack(list(stream(WindowRunner(network, fmt, options), frames)))
    half = torch.stack(list(stream(WindowRunner(network.to(dtype), fmt, options), frames)))
    as_uint8 = lambda x: (x.clamp(0, 1) * 255).round().byte().numpy()  # noqa: E731
    assert psnr(as_uint8(half), as_uint8(reference)) > PSNR_FLOOR[dtype]


def test_an_output_that_overflows_is_an_error_naming_the_window_and_the_fix():
    network = deterministic_network(TINY).to(torch.float16)
    with torch.no_grad():
        network.encoder.blocks[0].weight.mul_(3e4)  # activations beyond fp16's 65504
    fmt = SampleFormat.of(np.uint8)
    frames = with_white_patch(fmt, frames=6)
    for frame in frames[:4]:  # black: the first window stays finite, the second (2-5) does not
        for plane in frame:
            plane[:] = 0
    runner = WindowRunner(network, fmt, EngineOptions(window=4, overlap=2))
    with pytest.raises(PrecisionError, match=r"frames 2-5 is not finite .* in fp16: use precision fp32 or bf16"):
        list(stream(runner, frames))


class CallRecorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        return lambda *args: self.calls.append(name)


@pytest.mark.parametrize(("device", "chunked", "expected"), [
    ("cpu", True, ["malloc_trim"]), ("cpu", False, []), ("cuda", True, []), ("meta", True, [])])
def test_the_heap_is_trimmed_after_chunked_cpu_tensors_only(monkeypatch, device, chunked, expected):
    recorder = CallRecorder()
    monkeypatch.setattr(heap, "_LIBC", recorder)
    with temporal_chunks.heap_trimmed(torch.device(device), chunked):
        pass
    assert recorder.calls == expected


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_group_moments_in_one_call_equal_those_group_by_group(dtype):
    """The one-call form is what CUDA runs; the CPU checks it against the per-group form."""
    x = torch.randn(1, 16, 3, 12, 10, generator=torch.Generator().manual_seed(3)).to(dtype) * 3 + 1
    one = temporal_chunks._moments(x, 4, 1e-6)
    by_group = temporal_chunks._moments_by_group(x, 4, 1e-6)
    tolerance = dict(rtol=0, atol=0) if dtype == torch.float32 else dict(rtol=2**-7, atol=2**-7)
    for a, b in zip(one, by_group):
        assert a.dtype == b.dtype == torch.float32
        torch.testing.assert_close(a, b, **tolerance)


@pytest.mark.slow
def test_the_gpu_smoke_command_passes_on_the_cpu():
    """benchmarks/gpu_smoke.py is what a person with a card runs first; here it runs its CPU form."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_smoke.py"), "--quick"],
                            capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout and result.stdout.count("PASS") >= 17
