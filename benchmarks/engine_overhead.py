"""The streaming engine against bare model calls on the same frames, in one process.

    .venv/bin/python benchmarks/engine_overhead.py [--frames 96] [--window 24] [--overlap 8]

A 512 x 512 clip goes (1) through one bare model call per non-overlapping window (frames already
converted: pure model time) and (2) through ``vs_stc.engine.stream`` with crossfaded windows.
Prints frames per second and peak memory of each, the engine's own overhead as a share of the
model time it spent, the extra model work the overlap costs, seam scores of both, and bf16 vs
fp32 on the golden clip. The weights are the deterministic stand-ins (random): seam scores mean
little until trained weights exist, because random weights give temporally incoherent output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from measure import measured
from vs_stc.demo import synthetic_clip
from vs_stc.engine import EngineOptions, SampleFormat, WindowRunner, plan, stream
from vs_stc.metrics import seam_score, window_boundaries
from vs_stc.models import BFVR
from vs_stc.models.deterministic import deterministic_network

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "parity" / "golden_bfvr_T4.pt"


def padded_planes(clip: torch.Tensor) -> list[list[np.ndarray]]:
    """(3, T, H, W) in [0, 1] -> per frame, three uint8 planes viewed inside row-padded buffers."""
    uint8 = clip.mul(255).round().to(torch.uint8).numpy()
    frames = []
    for t in range(uint8.shape[1]):
        buffer = np.zeros((3, uint8.shape[2], uint8.shape[3] + 64), dtype=np.uint8)
        buffer[:, :, : uint8.shape[3]] = uint8[:, t]
        frames.append([buffer[c, :, : uint8.shape[3]] for c in range(3)])
    return frames


def golden_precision_report(network) -> None:
    if not GOLDEN.exists():
        print(f"bf16 vs fp32 on the golden clip: skipped ({GOLDEN} not found)")
        return
    golden = torch.load(GOLDEN, weights_only=True)
    clip = golden["input_uint8_cthw"].float().div(255).unsqueeze(0)
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
          f"mean abs diff {(out16 - out32).abs().mean():.4f}; fp32 vs golden max abs diff "
          f"{(out32[0] - golden['output']).abs().max():.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--window", type=int, default=24)
    parser.add_argument("--overlap", type=int, default=8)
    args = parser.parse_args()
    if args.frames % args.window:
        parser.error("--frames must be a multiple of --window (bare calls use whole windows)")

    network = deterministic_network(BFVR)
    clip = synthetic_clip(frames=args.frames)[0]
    frames = padded_planes(clip)
    bare_windows = args.frames // args.window
    print(f"{args.frames} frames of 512 x 512, window {args.window}, overlap {args.overlap}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    quantized = clip.mul(255).round().div(255)  # the same samples the engine sees
    bare_outputs = []
    with measured() as bare:
        for w in range(bare_windows):
            bare_outputs.append(network(quantized[None, :, w * args.window:(w + 1) * args.window])[0])
    hard_cuts = torch.cat(bare_outputs, dim=1).permute(1, 0, 2, 3)

    runner = WindowRunner(network, SampleFormat.of(np.uint8), EngineOptions(args.window, args.overlap))
    with measured() as engine:
        crossfaded = torch.stack(list(stream(runner, frames)))
    engine_plan = plan(args.frames, args.window, args.overlap)
    windows_run = len(engine_plan.windows)

    per_window = bare.seconds / bare_windows
    model_time = windows_run * per_window
    print(f"bare model calls : {bare_windows} windows, {args.frames / bare.seconds:.3f} fps, peak {bare.peak_gib:.2f} GiB")
    print(f"streaming engine : {windows_run} windows, {args.frames / engine.seconds:.3f} fps, peak {engine.peak_gib:.2f} GiB")
    print(f"engine overhead  : {(engine.seconds - model_time) / model_time:+.1%} of the model time it ran "
          f"({engine.seconds:.1f} s total vs {model_time:.1f} s of model calls)")
    print(f"cost of crossfade: {windows_run / bare_windows - 1:+.1%} model work ({windows_run} windows instead of {bare_windows})")
    hard_plan = plan(args.frames, args.window, 0)
    print(f"seam score       : hard cuts {seam_score(hard_cuts, window_boundaries(hard_plan)):.3f}, "
          f"crossfade {seam_score(crossfaded, window_boundaries(engine_plan)):.3f} (random weights)")
    golden_precision_report(network)


if __name__ == "__main__":
    main()
