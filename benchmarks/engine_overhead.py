"""The streaming engine against bare model calls on the same frames, in one process.

    .venv/bin/python benchmarks/engine_overhead.py [--frames 96] [--window 24] [--overlap 8]

A 512 x 512 clip (the held-out portrait on a camera path) goes (1) through ``vs_stc.engine.stream`` with crossfaded windows, and (2) through
one bare model call per non-overlapping window. The engine's overhead is measured inside its own
run (its wall time minus the time its model calls took, over that model time), so machine load
moves it little. Also printed: frames per second and peak memory of both runs, the extra model work
the overlap costs, seam scores of both outputs, and bf16 vs fp32 on the golden clip. The weights
are the deterministic stand-ins (random): seam scores mean little until trained weights exist,
because random weights give temporally incoherent output.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from measure import measured, release_freed_memory
from vs_stc.engine import EngineOptions, SampleFormat, WindowRunner, plan, stream, tensor_to_planes
from vs_stc.engine.exchange import HostExchange
from vs_stc.metrics import seam_score, window_boundaries
from vs_stc.models import BFVR, STCNet
from vs_stc.models.deterministic import deterministic_network
from vs_stc.media.portraits import held_out_clip

PARITY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "parity"  # see its README
GOLDEN_CLIP, GOLDEN = PARITY / "clip_T4.npz", PARITY / "golden_bfvr_T4.npz"
UINT8 = SampleFormat.of(np.uint8)


class TimedNetwork(torch.nn.Module):
    """The network, with the time spent inside its calls added up."""

    def __init__(self, network: STCNet) -> None:
        super().__init__()
        self.network, self.config, self.seconds = network, network.config, 0.0

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        try:
            return self.network(clip)
        finally:
            self.seconds += time.perf_counter() - start


def padded_planes(clip: np.ndarray) -> list[list[np.ndarray]]:
    """(T, H, W, 3) uint8 -> per frame, three uint8 planes viewed inside row-padded buffers."""
    frames = []
    for image in clip:
        height, width = image.shape[:2]
        buffer = np.zeros((3, height, width + 64), dtype=np.uint8)
        buffer[:, :, :width] = image.transpose(2, 0, 1)
        frames.append([buffer[c, :, :width] for c in range(3)])
    return frames


def as_uint8(frame: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.stack(tensor_to_planes(frame, UINT8)))


def golden_crops_error(output: torch.Tensor, golden: dict[str, np.ndarray]) -> float:
    """Max abs difference of ``output`` (C, T, H, W) from the golden output's committed crops."""
    size = golden["output_crops"].shape[-1]
    ours = torch.stack([output[..., y:y + size, x:x + size] for y, x in golden["output_crop_yx"].tolist()])
    return (ours - torch.from_numpy(golden["output_crops"])).abs().max().item()


def golden_precision_report(network: STCNet) -> None:
    with np.load(GOLDEN_CLIP) as file:
        clip = torch.from_numpy(file["clip"]).float().div(255).unsqueeze(0)
    with np.load(GOLDEN) as file:
        golden = dict(file)
    bf16 = deterministic_network(BFVR).to(torch.bfloat16)
    with torch.inference_mode():
        with measured() as fp32_time:
            _, idx32 = network.encode_indices(clip)
            out32 = network.decode_indices(idx32)
        with measured() as bf16_time:
            _, idx16 = bf16.encode_indices(clip.bfloat16())
            out16 = bf16.decode_indices(idx16).float()
    same = torch.cat([(a == b).flatten() for a, b in zip(idx32, idx16)]).float().mean()
    print(f"bf16 vs fp32 on the golden clip (T=4): {fp32_time.seconds / bf16_time.seconds:.2f}x faster, "
          f"identical indices {same:.1%}, output max abs diff {(out16 - out32).abs().max():.4f}, "
          f"mean abs diff {(out16 - out32).abs().mean():.4f}; fp32 vs golden output crops max abs diff "
          f"{golden_crops_error(out32[0], golden):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--window", type=int, default=24)
    parser.add_argument("--overlap", type=int, default=8)
    args = parser.parse_args()
    if args.frames % args.window:
        parser.error("--frames must be a multiple of --window (bare calls use whole windows)")

    network = deterministic_network(BFVR)
    frames = padded_planes(held_out_clip(seed=0, frames=args.frames, size=512))
    release_freed_memory()
    print(f"{args.frames} frames of 512 x 512, window {args.window}, overlap {args.overlap}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    timed = TimedNetwork(network)
    runner = WindowRunner(timed, UINT8, EngineOptions(args.window, args.overlap))
    with measured() as engine:
        crossfaded = torch.stack([as_uint8(frame) for frame in stream(runner, frames)])
    windows_run = len(plan(args.frames, args.window, args.overlap).windows)

    exchange = HostExchange(torch.device("cpu"), torch.float32)
    bare_windows = args.frames // args.window
    hard_cuts = []
    with measured() as bare:
        for w in range(bare_windows):
            batch = exchange.upload(frames[w * args.window:(w + 1) * args.window], UINT8).batch
            hard_cuts += [as_uint8(frame) for frame in network(batch)[0].unbind(1)]
    hard_cuts = torch.stack(hard_cuts)

    print(f"streaming engine : {windows_run} windows, {args.frames / engine.seconds:.3f} fps, "
          f"peak {engine.peak_gib:.2f} GiB")
    print(f"bare model calls : {bare_windows} windows, {args.frames / bare.seconds:.3f} fps, peak {bare.peak_gib:.2f} GiB")
    print(f"engine overhead  : {(engine.seconds - timed.seconds) / timed.seconds:+.2%} of its model time "
          f"({engine.seconds:.1f} s in all, {timed.seconds:.1f} s inside model calls)")
    print(f"cost of crossfade: {windows_run / bare_windows - 1:+.1%} model work ({windows_run} windows instead of "
          f"{bare_windows}); measured: {bare.seconds / args.frames:.2f} s/frame bare vs "
          f"{engine.seconds / args.frames:.2f} s/frame streaming")
    hard_plan = plan(args.frames, args.window, 0)
    soft_plan = plan(args.frames, args.window, args.overlap)
    print(f"seam score       : hard cuts {seam_score(hard_cuts, window_boundaries(hard_plan)):.3f}, "
          f"crossfade {seam_score(crossfaded, window_boundaries(soft_plan)):.3f} (random weights)")
    golden_precision_report(network)


if __name__ == "__main__":
    main()
