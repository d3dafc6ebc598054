"""What ``precision="auto"`` picks here, and what bf16 costs against fp32 in fidelity and speed.

    .venv/bin/python benchmarks/precision_auto.py [--frames 16] [--released]

Runs the bundled ``tiny-bfvr`` (trained) on the held-out face (``held_out_clip``, 64 x 64, windows
of 4) in fp32 and bf16, in this one process, one after the other: seconds per frame of the model,
the share of code indices (spatial and temporal) that bf16 picks identically to fp32, and the PSNR
of the bf16 output against the fp32 output. ``--released`` adds the released-size ``bfvr``
architecture (deterministic weights) on one 8-frame window at 512 x 512 (minutes on a CPU without
native bf16, where oneDNN emulates it). On CUDA, auto picks fp16; this command measures the CPU.
"""

from __future__ import annotations

import argparse
import time

import torch

from vs_stc.engine.device import auto_precision, cpu_has_native_bf16
from vs_stc.loading import load_model
from vs_stc.metrics import psnr
from vs_stc.models import BFVR, STCNet
from vs_stc.models.deterministic import deterministic_network
from vs_stc.media.portraits import held_out_clip


def run(network: STCNet, clip: torch.Tensor, window: int) -> tuple[float, torch.Tensor, torch.Tensor]:
    """(seconds per frame, output float32, code indices) over consecutive windows of ``clip``."""
    dtype = next(network.parameters()).dtype
    outputs, indices = [], []
    network(clip[:, :, :window].to(dtype))  # warm-up
    start = time.perf_counter()
    with torch.inference_mode():
        for t in range(0, clip.shape[2] - window + 1, window):
            part = clip[:, :, t:t + window].to(dtype)
            _, codes = network.encode_indices(part)
            outputs.append(network.decode_indices(codes).float())
            indices.append(torch.cat([codes.spatial.flatten(), codes.temporal.flatten()]))
    seconds = (time.perf_counter() - start) / clip.shape[2]
    return seconds, torch.cat(outputs, dim=2), torch.cat(indices)


def compare(name: str, network: STCNet, clip: torch.Tensor, window: int) -> None:
    fp32_time, fp32_out, fp32_codes = run(network, clip, window)
    bf16_time, bf16_out, bf16_codes = run(network.to(torch.bfloat16), clip, window)
    network.float()
    same = (fp32_codes == bf16_codes).float().mean().item()
    to_uint8 = lambda x: (x.clamp(0, 1) * 255).round().byte().numpy()  # noqa: E731
    agreement = psnr(to_uint8(bf16_out), to_uint8(fp32_out))
    print(f"| {name} | {fp32_time:.3f} | {bf16_time:.3f} | {fp32_time / bf16_time:.2f}x | {100 * same:.1f}% | "
          f"{agreement:.1f} dB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--released", action="store_true")
    arguments = parser.parse_args()

    print(f"auto picks {auto_precision('cpu')} on this CPU (native bf16: {cpu_has_native_bf16()}; "
          f"{torch.backends.cpu.get_cpu_capability()}), fp16 on CUDA; {torch.get_num_threads()} threads")
    print("| network | fp32 s/frame | bf16 s/frame | bf16 speed-up | identical code indices | bf16 PSNR vs fp32 |")
    print("| --- | --- | --- | --- | --- | --- |")
    tiny = load_model("tiny-bfvr")
    frames = held_out_clip(seed=3, frames=arguments.frames, size=tiny.config.resolution)  # (T, H, W, 3) uint8
    clip = torch.from_numpy(frames).permute(3, 0, 1, 2).unsqueeze(0).float() / 255
    compare("tiny-bfvr, held-out face, T=4", tiny, clip, 4)
    if arguments.released:
        frames = held_out_clip(seed=3, frames=8, size=BFVR.resolution)
        clip = torch.from_numpy(frames).permute(3, 0, 1, 2).unsqueeze(0).float() / 255
        compare("bfvr size (deterministic), T=8", deterministic_network(BFVR), clip, 8)


if __name__ == "__main__":
    main()
