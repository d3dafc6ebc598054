"""Mixed precision (vs_stc/models/mixed_precision.py): float32 up to the code indices, a bf16
generator. On the bundled models it keeps fp32's code indices and output within the issue's floors
(where whole-network bf16 does not) and runs through the engine unchanged; precision="auto" keeps
fp32 on the CPU, since mixed is far from twice as fast (benchmarks/mixed_precision.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vs_stc.engine import EngineOptions, SampleFormat, WindowRunner, device, stream
from vs_stc.errors import STCError
from vs_stc.media.degrade import degrade
from vs_stc.loading import load_model, resolve_dtype, resolve_precision
from vs_stc.metrics import psnr
from vs_stc.models.mixed_precision import precision_of
from vs_stc.options import resolve
from vs_stc.media.portraits import held_out_clip

INDEX_FLOOR = 0.999  # identical code indices against fp32, bundled models (issue 27)
PSNR_FLOOR = 40.0  # dB, 8-bit output against fp32's
DEGRADATION = {"tiny-bfvr": "bfvr", "tiny-deflicker": "brightness"}  # what each model undoes
CPU = torch.device("cpu")


def face_windows(model: str, window: int = 4) -> list[torch.Tensor]:
    """The held-out face on two camera paths, degraded as ``model`` expects, in windows."""
    windows = []
    for seed in (3, 5):
        frames = degrade(held_out_clip(seed=seed, frames=8, size=64), DEGRADATION[model], seed=seed)
        clip = torch.from_numpy(frames).permute(3, 0, 1, 2).unsqueeze(0).float() / 255
        windows += [clip[:, :, t:t + window] for t in range(0, clip.shape[2], window)]
    return windows


def as_uint8(clip: torch.Tensor) -> np.ndarray:
    return (clip.float().clamp(0, 1) * 255).round().byte().numpy()


def restore(network, windows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(latents, code indices, outputs) over ``windows``, each fed in the dtype of the network's first
    parameter, as the engine feeds it."""
    dtype = next(network.parameters()).dtype
    latents, codes, outputs = [], [], []
    with torch.inference_mode():
        for window in windows:
            latent, indices = network.encode_indices(window.to(dtype))
            latents.append(latent.float().flatten())
            codes.append(torch.cat([indices.spatial.flatten(), indices.temporal.flatten()]))
            outputs.append(network.decode_indices(indices).float())
    return torch.cat(latents), torch.cat(codes), torch.cat(outputs, dim=2)


@pytest.mark.parametrize("model", ["tiny-bfvr", "tiny-deflicker"])
def test_mixed_keeps_the_code_indices_and_the_output_within_the_floors(model):
    windows = face_windows(model)
    fp32_latent, fp32_codes, fp32_out = restore(load_model(model), windows)
    mixed = load_model(model, precision="mixed")
    assert precision_of(mixed) == "mixed" and next(mixed.parameters()).dtype == torch.float32  # exact input
    latent, codes, out = restore(mixed, windows)
    assert out.dtype == torch.float32 and bool(torch.isfinite(out).all())
    assert torch.equal(latent, fp32_latent)  # everything before the argmax runs as in fp32
    assert (codes == fp32_codes).float().mean().item() >= INDEX_FLOOR
    assert psnr(as_uint8(out), as_uint8(fp32_out)) >= PSNR_FLOOR
    # Whole-network bf16 flips indices near ties on the same faces: why auto never picks it.
    _, bf16_codes, _ = restore(load_model(model, precision="bf16"), windows)
    assert (bf16_codes == fp32_codes).float().mean().item() < INDEX_FLOOR


def test_the_mixed_model_runs_through_the_engine_unchanged():
    clip = held_out_clip(seed=3, frames=6, size=48)  # not the model's size: the engine resizes
    frames = [[frame[..., c] for c in range(3)] for frame in clip]
    fmt, options = SampleFormat.of(np.uint8), EngineOptions(window=4, overlap=2, resize=True)
    mixed = load_model("tiny-bfvr", precision="mixed")
    runner = WindowRunner(mixed, fmt, options)
    assert runner.exchange.dtype == torch.float32  # the clip reaches the float32 encoder exact
    out = torch.stack(list(stream(runner, frames)))
    reference = torch.stack(list(stream(WindowRunner(load_model("tiny-bfvr"), fmt, options), frames)))
    assert out.dtype == torch.float32 and out.shape == reference.shape
    assert psnr(as_uint8(out), as_uint8(reference)) >= PSNR_FLOOR


@pytest.mark.parametrize("native", [True, False])
def test_auto_keeps_fp32_on_the_cpu_with_or_without_native_bf16(monkeypatch, native):
    """Neither bf16 nor mixed meets auto's floors on a CPU (benchmarks/README.md, "Mixed precision
    on a CPU with native bf16"): the first flips indices, the second is not 2x faster."""
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: native)
    assert device.auto_precision("cpu") == "fp32"
    assert device.auto_precision("cuda:0") == "fp16"
    assert resolve("restore", model="tiny-bfvr", device="cpu", precision="auto").precision == "fp32"
    assert precision_of(load_model("tiny-bfvr", precision="auto")) == "fp32"
    assert resolve("restore", model="tiny-bfvr", device="cpu", precision="mixed").precision == "mixed"


@pytest.mark.parametrize("cap", ["AVX2", "avx512_core", "AVX512_CORE_VNNI"])
def test_a_onednn_cap_below_bf16_means_no_native_bf16(monkeypatch, cap):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert not device.cpu_has_native_bf16()


def test_precision_names_and_one_line_errors():
    assert resolve_precision("mixed", CPU) == "mixed" and resolve_dtype("mixed", CPU) == torch.bfloat16
    assert resolve_precision(torch.bfloat16, CPU) == "bf16" and resolve_precision(None, CPU) == "fp32"
    assert resolve("restore", model="tiny-bfvr", device="cpu", precision="mixed").precision == "mixed"
    for precision, message in [("int8", "must be one of fp32, bf16, fp16, mixed or auto, not 'int8'"),
                               (torch.int8, "torch.int8 is not supported: use fp32, bf16, fp16 or mixed"),
                               ("fp16", "fp16 runs on CUDA only; on the CPU use mixed, bf16 or fp32")]:
        with pytest.raises(STCError, match=message) as error:
            load_model("tiny-bfvr", precision=precision)
        assert "\n" not in str(error.value)
    with pytest.raises(STCError, match="mixed") as error:
        resolve("restore", model="tiny-bfvr", device="cpu", precision="half")
    assert "\n" not in str(error.value)
