"""Peak memory and speed of the released-size network (bfvr, random deterministic weights, fp32,
512 x 512) with its full-resolution levels run in temporal chunks, against the same network run
over the whole clip at once (``temporal_chunk = None``, the path before chunking), per clip length.

    cd benchmarks && ../.venv/bin/python model_memory.py [--lengths 8 16 24] [--chunks 4]

Peak resident memory is a per-process figure, so every run is a fresh process that builds the
network, runs one clip (timed and sampled for memory) and hands its output back; both paths run
one after the other in this command, on the same clip. Prints per-frame time and peak memory of
each, their ratios, and how far the chunked output and code indices are from the whole-clip ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from measure import measured
from vs_stc.models import BFVR, heap
from vs_stc.models.autoencoder import DEFAULT_TEMPORAL_CHUNK
from vs_stc.models.deterministic import deterministic_network


def run_point(frames: int, chunk: int | None, result: Path) -> None:
    """One run in this process: the clip of ``frames`` frames, saved with its figures to ``result``."""
    heap.keep_small()  # as the engine runs models on the CPU
    network = deterministic_network(BFVR)
    network.temporal_chunk = chunk
    clip = torch.rand(1, 3, frames, 512, 512, generator=torch.Generator().manual_seed(frames))
    with measured() as m, torch.inference_mode():
        _, indices = network.encode_indices(clip)
        output = network.decode_indices(indices)
    torch.save({"seconds": m.seconds, "peak_gib": m.peak_gib, "output": output, "indices": tuple(indices)}, result)


def in_fresh_process(frames: int, chunk: int | None, folder: Path) -> dict:
    result = folder / f"T{frames}-{chunk}.pt"
    command = [sys.executable, __file__, "--point", str(frames), "0" if chunk is None else str(chunk), str(result)]
    subprocess.run(command, check=True)
    return torch.load(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 24])
    parser.add_argument("--chunks", type=int, nargs="+", default=[DEFAULT_TEMPORAL_CHUNK],
                        help="frames per chunk, one run for each")
    parser.add_argument("--point", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.point:
        frames, chunk, result = args.point
        run_point(int(frames), int(chunk) or None, Path(result))
        return

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; bfvr network, fp32, 512 x 512; "
          f"each run in a fresh process", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for frames in args.lengths:
            whole = in_fresh_process(frames, None, Path(folder))
            print(f"  T={frames:2d}  {'whole clip':14} {whole['seconds'] / frames:6.2f} s/frame  "
                  f"peak {whole['peak_gib']:5.2f} GiB", flush=True)
            for chunk in args.chunks:
                chunked = in_fresh_process(frames, chunk, Path(folder))
                same = all(torch.equal(a, b) for a, b in zip(whole["indices"], chunked["indices"]))
                difference = (whole["output"] - chunked["output"]).abs().max().item()
                rows.append((frames, chunk, whole["seconds"] / chunked["seconds"],
                             whole["peak_gib"] / chunked["peak_gib"]))
                print(f"  T={frames:2d}  {f'chunks of {chunk}':14} {chunked['seconds'] / frames:6.2f} s/frame  "
                      f"peak {chunked['peak_gib']:5.2f} GiB  max abs output difference {difference:.1e}, "
                      f"identical code indices: {same}", flush=True)
    print("ratios (whole clip / chunks; above 1 means chunks are better):")
    for frames, chunk, speed, memory in rows:
        print(f"  T={frames:2d}, chunks of {chunk}: per-frame time {speed:.2f}x, peak memory {memory:.2f}x")

if __name__ == "__main__":
    main()
