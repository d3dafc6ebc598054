"""The determinism contract, measured: how far a render moves with the PyTorch thread count and with
the CPU's kernel path.

    .venv/bin/python benchmarks/determinism.py [--frames 48]

Renders the bundled models (``tiny-bfvr``, ``tiny-deflicker``, fp32, their own windows and blends)
over the held-out face at 128 x 128, each configuration in a fresh process: threads 2 and 1, on
oneDNN's best kernels here and with ``ONEDNN_MAX_CPU_ISA=AVX2`` (another kernel path, standing in for
another kind of CPU). Prints, against the first configuration, the largest difference in 8-bit code
values and the share of samples that are identical; the first configuration run twice must give 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CONFIGURATIONS = [  # (label, threads, environment)
    ("threads 2, best ISA", 2, {}),
    ("threads 2, best ISA, again", 2, {}),
    ("threads 1, best ISA", 1, {}),
    ("threads 2, AVX2", 2, {"ONEDNN_MAX_CPU_ISA": "AVX2"}),
    ("threads 1, AVX2", 1, {"ONEDNN_MAX_CPU_ISA": "AVX2"}),
]
MODELS = ("tiny-bfvr", "tiny-deflicker")


def render(model: str, frames: int, threads: int, output: Path) -> None:
    """The child: one render through the engine's stream, saved as 8-bit frames."""
    import torch

    from vs_stc.engine import SampleFormat, WindowRunner, stream
    from vs_stc.loading import load_model
    from vs_stc.options import resolve
    from vs_stc.media.portraits import held_out_clip

    torch.set_num_threads(threads)
    options = resolve("restore" if "bfvr" in model else "deflicker", model=model, faces="aligned")
    runner = WindowRunner(load_model(model), SampleFormat.of(np.uint8), options.engine_options())
    clip = held_out_clip(seed=3, frames=frames, size=128)
    planes = [[frame[..., c] for c in range(3)] for frame in clip]
    restored = [(f.clamp(0, 1) * 255).round().byte().numpy() for f in stream(runner, planes)]
    np.save(output, np.stack(restored))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "THREADS", "OUTPUT"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        model, threads, output = arguments.child
        render(model, arguments.frames, int(threads), Path(output))
        return
    print(f"{arguments.frames} frames of 128 x 128 per render; differences against the first row\n")
    print("| model | configuration | largest difference (8-bit) | identical samples |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        for model in MODELS:
            first = None
            for index, (label, threads, environment) in enumerate(CONFIGURATIONS):
                output = Path(scratch) / f"{model}-{index}.npy"
                env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ONEDNN_MAX_CPU_ISA")}
                subprocess.run([sys.executable, __file__, "--frames", str(arguments.frames), "--child", model,
                                str(threads), str(output)], check=True, env=env | environment)
                frames = np.load(output).astype(np.int16)
                first = frames if first is None else first
                difference = np.abs(frames - first)
                print(f"| {model} | {label} | {difference.max()} | {100 * (difference == 0).mean():.3f}% |",
                      flush=True)


if __name__ == "__main__":
    main()
