"""Our STC forward against a naive one (the reference code's way: whole attention maps, one-hot
codebook lookups) on the same random-weight bfvr network at 512 x 512, in one process.

    .venv/bin/python benchmarks/model_memory_and_speed.py [--lengths 8 24] [--skip-bf16]

Prints per-frame time and peak resident memory of each path, their ratios, and bf16-vs-fp32
figures. The naive path runs at a length only while its attention maps fit in memory; beyond
that it is reported as skipped and our longest window is compared with its longest run.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F

from measure import Measurement, measured
from vs_stc.models import BFVR, CodeIndices
from vs_stc.models import blocks, transformer
from vs_stc.models.deterministic import deterministic_network
from vs_stc.models.quantizer import SpatialTemporalQuantizer


def naive_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    weights = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5  # the whole map
    return torch.matmul(F.softmax(weights, dim=-1), v)


def one_hot_lookup(self: SpatialTemporalQuantizer, spatial: torch.Tensor, temporal: torch.Tensor) -> torch.Tensor:
    def through_one_hot(codebook: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        one_hot = torch.zeros(indices.numel(), codebook.shape[0], dtype=codebook.dtype)
        one_hot.scatter_(1, indices.reshape(-1, 1), 1)
        return (one_hot @ codebook).view(*indices.shape, -1)

    return through_one_hot(self.embedding_s.weight, spatial) + through_one_hot(self.embedding_t.weight, temporal)


@contextmanager
def naive_kernels() -> Iterator[None]:
    saved = blocks.attend, transformer.attend, SpatialTemporalQuantizer.lookup
    blocks.attend = transformer.attend = naive_attend
    SpatialTemporalQuantizer.lookup = one_hot_lookup
    try:
        yield
    finally:
        blocks.attend, transformer.attend, SpatialTemporalQuantizer.lookup = saved


def naive_fits(frames: int) -> bool:
    """The naive path holds the biggest attention map, its softmax and the product at once."""
    tokens = frames // BFVR.temporal_factor * BFVR.latent_size**2
    need = 2.5 * tokens * tokens * 4
    available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return need < 0.85 * available


def run(network, clip: torch.Tensor) -> tuple[Measurement, torch.Tensor, CodeIndices]:
    with measured() as m, torch.inference_mode():
        _, indices = network.encode_indices(clip)
        output = network.decode_indices(indices)
    return m, output, indices


def report(label: str, frames: int, m: Measurement) -> None:
    print(f"  {label:34} T={frames:2d}  {m.seconds / frames:6.2f} s/frame  peak {m.peak_gib:5.2f} GiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--naive-fallback", type=int, default=16, help="naive length to try when one is skipped")
    parser.add_argument("--skip-bf16", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    network = deterministic_network(BFVR)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; bfvr network, random deterministic weights")
    ours: dict[int, Measurement] = {}
    naive: dict[int, Measurement] = {}
    for frames in args.lengths:
        clip = torch.rand(1, 3, frames, 512, 512, generator=torch.Generator().manual_seed(frames))
        ours[frames], output, indices = run(network, clip)
        report("ours (fp32)", frames, ours[frames])
        if not args.skip_bf16 and frames == min(args.lengths):
            bf16_network = deterministic_network(BFVR).to(torch.bfloat16)
            m, output_bf16, indices_bf16 = run(bf16_network, clip.bfloat16())
            del bf16_network
            report("ours (bf16)", frames, m)
            same = torch.cat([(a == b).flatten() for a, b in zip(indices, indices_bf16)]).float().mean()
            print(f"  bf16 vs fp32: time ratio {ours[frames].seconds / m.seconds:.2f}x faster, "
                  f"max abs output diff {(output_bf16.float() - output).abs().max():.4f}, "
                  f"mean abs diff {(output_bf16.float() - output).abs().mean():.4f}, "
                  f"identical indices {same:.1%}", flush=True)
        del output, indices
        if naive_fits(frames):
            with naive_kernels():
                naive[frames], _, _ = run(network, clip)
            report("naive (maps + one-hot)", frames, naive[frames])
        else:
            print(f"  naive (maps + one-hot)             T={frames:2d}  skipped: its attention maps do not fit in memory")
    if args.naive_fallback not in naive and naive_fits(args.naive_fallback) and len(naive) < len(args.lengths):
        frames = args.naive_fallback
        clip = torch.rand(1, 3, frames, 512, 512, generator=torch.Generator().manual_seed(frames))
        with naive_kernels():
            naive[frames], _, _ = run(network, clip)
        report("naive (maps + one-hot)", frames, naive[frames])

    print("ratios (naive / ours; above 1 means ours is better):")
    longest_naive = max(naive) if naive else None
    for frames, m in ours.items():
        baseline_frames = frames if frames in naive else longest_naive
        if baseline_frames is None:
            continue
        b = naive[baseline_frames]
        print(f"  ours T={frames:2d} vs naive T={baseline_frames:2d}: per-frame time "
              f"{(b.seconds / baseline_frames) / (m.seconds / frames):.2f}x, peak memory {b.peak_gib / m.peak_gib:.2f}x")


if __name__ == "__main__":
    main()
