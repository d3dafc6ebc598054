"""The bundled 64-pixel networks with every CPU float32 convolution on oneDNN (``models.blocks.convolve``,
what the package does) against PyTorch's own kernel choice (``F.conv3d``, which sends small inputs to
its reference kernel), in one process: seconds per window and the ratio, at 1 and 2 threads.

    .venv/bin/python benchmarks/small_convolutions.py [--windows 4 24] [--repeats 7]

Also printed: the largest difference between the two outputs (float rounding only).
"""

from __future__ import annotations

import argparse
import contextlib

import torch
import torch.nn.functional as F

import vs_stc
from measure import median_call_seconds
from vs_stc.models import blocks, temporal_chunks


def pytorch_choice(conv: torch.nn.Conv3d, x: torch.Tensor, padding: tuple[int, int, int]) -> torch.Tensor:
    return F.conv3d(x, conv.weight, conv.bias, conv.stride, padding, conv.dilation, conv.groups)


@contextlib.contextmanager
def convolutions(kind: str):
    chosen = {"oneDNN": blocks.convolve, "PyTorch's choice": pytorch_choice}[kind]
    kept = blocks.convolve
    blocks.convolve = temporal_chunks.convolve = chosen
    try:
        yield
    finally:
        blocks.convolve = temporal_chunks.convolve = kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[4, 24])
    parser.add_argument("--repeats", type=int, default=7)
    arguments = parser.parse_args()
    print("| model | window | threads | PyTorch's choice | oneDNN always | ratio | max difference |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in ("tiny-bfvr", "tiny-deflicker"):
        network = vs_stc.load_model(name)
        for window in arguments.windows:
            x = torch.rand(1, 3, window, 64, 64, generator=torch.Generator().manual_seed(window)) * 2 - 1
            for threads in (1, 2):
                torch.set_num_threads(threads)
                with convolutions("PyTorch's choice"):
                    baseline, expected = median_call_seconds(network, x, arguments.repeats)
                with convolutions("oneDNN"):
                    ours, out = median_call_seconds(network, x, arguments.repeats)
                print(f"| {name} | {window} | {threads} | {baseline:.3f} s | {ours:.3f} s | {baseline / ours:.2f}x "
                      f"| {(out - expected).abs().max().item():.1e} |", flush=True)


if __name__ == "__main__":
    main()
