"""The bundled 64-pixel networks with TemporalAttention's tokens made contiguous (what the package
does) against the strided view ``reshape`` returns there (what it did: F.linear then runs one small
matrix product per latent position), in one process: milliseconds per window of 4 frames at 1 and
2 threads, the ratio, and the largest output difference.

    .venv/bin/python benchmarks/temporal_attention_tokens.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import contextlib

import torch

import vs_stc
from measure import median_call_seconds
from vs_stc.models import blocks


def strided_forward(self: blocks.TemporalAttention, x: torch.Tensor) -> torch.Tensor:
    b, c, t, h, w = x.shape
    tokens = self.norm(x).permute(0, 3, 4, 2, 1).reshape(b * h * w, t, c)  # a strided view
    out = self.attend_tokens(tokens)
    return out.reshape(b, h, w, t, c).permute(0, 4, 3, 1, 2).contiguous()


@contextlib.contextmanager
def tokens(kind: str):
    original = blocks.TemporalAttention.forward
    if kind == "strided":
        blocks.TemporalAttention.forward = strided_forward
    try:
        yield
    finally:
        blocks.TemporalAttention.forward = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    arguments = parser.parse_args()
    clip = torch.rand(1, 3, 4, 64, 64, generator=torch.Generator().manual_seed(0))
    print("| model | threads | strided tokens | contiguous tokens | speed-up | max difference |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ("tiny-bfvr", "tiny-deflicker"):
        network = vs_stc.load_model(name)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with tokens("strided"):
                before, old = median_call_seconds(network, clip, arguments.repeats)
            with tokens("contiguous"):
                after, new = median_call_seconds(network, clip, arguments.repeats)
            print(f"| {name} | {threads} | {1000 * before:.0f} ms | {1000 * after:.0f} ms | {before / after:.2f}x "
                  f"| {(old - new).abs().max().item():.1e} |", flush=True)


if __name__ == "__main__":
    main()
