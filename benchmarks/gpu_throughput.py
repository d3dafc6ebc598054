"""Frames per second of the released-size network through the engine, and where the time goes.

    .venv/bin/python benchmarks/gpu_throughput.py                       # CUDA, T=24, 512 x 512, auto precision
    .venv/bin/python benchmarks/gpu_throughput.py --precision fp32      # or bf16 / fp16
    .venv/bin/python benchmarks/gpu_throughput.py --device cpu --small  # the same steps, small, on the CPU

The network is the released ``bfvr`` architecture with deterministic weights (same cost as the
released checkpoint; ``--small``: a tiny config at 64 x 64, window 4). Input: ``--frames`` random
RGB frames of ``--size`` pixels, 8 or 16 bits (``--bits``; host numpy planes, as VapourSynth and the pipe
hand them over).

Printed:
- the time split of one window, each stage timed alone (CUDA synchronised after it): upload (host
  planes -> model dtype on the device, via pinned memory), model (on the device alone), download
  (back to float32 on the host), crossfade (blending each output frame from its windows and scaling it to the input size),
  encode (to 8-bit planes, what every surface hands on);
- end-to-end frames per second of the streaming engine (``stream``: the pipe and batch renders)
  and of random access from 2 threads (VapourSynth), where one thread's upload and crossfade
  overlap the other's model run on the device's worker (the stream runs one window at a time).
The paper's A100 figure is about 3 s per 24-frame window at 512 x 512 (8 frames per second).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from vs_stc.engine import EngineOptions, RandomAccessRestorer, SampleFormat, WindowRunner, stream, tensor_to_planes
from vs_stc.engine.device import auto_precision
from vs_stc.engine.planning import plan
from vs_stc.loading import resolve_dtype
from vs_stc.models import BFVR, STCConfig
from vs_stc.models.deterministic import deterministic_network

SMALL = STCConfig(base_channels=8, channel_multipliers=(1, 2, 2, 4), latent_channels=16, codebook_size=32,
                  resolution=64, norm_groups=4, temporal_norm_groups=4, transformer_layers=2,
                  transformer_heads=2, transformer_ffn=32)


def check_device(name: str) -> torch.device:
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device {name}: PyTorch sees no CUDA device here (torch {torch.__version__}, CUDA build "
                 f"{torch.version.cuda}); run on a GPU machine or pass --device cpu --small")
    return device


def synchronised(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def random_frames(count: int, size: int, fmt: SampleFormat) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(0)
    return [[rng.integers(0, int(fmt.peak) + 1, (size, size), dtype=fmt.dtype) for _ in range(3)]
            for _ in range(count)]


def split(runner: WindowRunner, frames: list, device: torch.device, repeats: int) -> dict[str, float]:
    """Seconds per frame of each stage over ``repeats`` windows (after one warm-up window)."""
    window, size = runner.options.window, frames[0][0].shape[0]
    local = plan(window, window, 0)  # one window: every frame's contribution is that window alone
    totals = dict.fromkeys(("upload", "model", "download", "crossfade", "encode"), 0.0)
    for repeat in range(repeats + 1):
        start = synchronised(device)
        batch = runner.exchange.upload(frames[:window], runner.fmt, runner.resolution)
        uploaded = synchronised(device)
        restored = runner.device.run(lambda b: runner.model(runner.exchange.wait(b))[0], batch)
        modelled = synchronised(device)
        output = runner.exchange.download(restored)
        downloaded = time.perf_counter()
        finished = [runner.finish(local.contributions(t), [output], size) for t in range(window)]
        crossfaded = time.perf_counter()
        for frame in finished:
            tensor_to_planes(frame, runner.fmt)
        encoded = time.perf_counter()
        if repeat:
            for stage, seconds in zip(totals, (uploaded - start, modelled - uploaded, downloaded - modelled,
                                               crossfaded - downloaded, encoded - crossfaded)):
                totals[stage] += seconds / (repeats * window)
    return totals


def end_to_end(runner: WindowRunner, frames: list) -> tuple[float, float]:
    """Frames per second of the streaming engine and of random access from 2 threads."""
    start = time.perf_counter()
    for frame in stream(runner, frames):
        tensor_to_planes(frame, runner.fmt)
    streamed = len(frames) / (time.perf_counter() - start)
    size = frames[0][0].shape[0]
    restorer = RandomAccessRestorer(runner, len(frames), (size, size), lambda ix: [frames[i] for i in ix])
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda n: tensor_to_planes(restorer.frame(n), runner.fmt), range(len(frames))))
    threaded = len(frames) / (time.perf_counter() - start)
    return streamed, threaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--small", action="store_true", help="a tiny network at 64 x 64, window 4 (for a check)")
    parser.add_argument("--window", type=int)
    parser.add_argument("--overlap", type=int)
    parser.add_argument("--size", type=int, help="input frame side; default: the network's resolution")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2, help="windows timed for the split")
    parser.add_argument("--bits", type=int, default=8, choices=(8, 16), help="input samples: 8 or 16 bits")
    arguments = parser.parse_args()

    device = check_device(arguments.device)
    precision = auto_precision(device) if arguments.precision == "auto" else arguments.precision
    dtype = resolve_dtype(precision, device)
    config = SMALL if arguments.small else BFVR
    window = arguments.window or (4 if arguments.small else 24)
    overlap = arguments.overlap if arguments.overlap is not None else (2 if arguments.small else 8)
    size = arguments.size or config.resolution
    network = deterministic_network(config).to(device=device, dtype=dtype)
    fmt = SampleFormat.of(np.uint8) if arguments.bits == 8 else SampleFormat.of(np.uint16, 16)
    runner = WindowRunner(network, fmt, EngineOptions(window=window, overlap=overlap, resize=True))
    frames = random_frames(max(arguments.frames, window), size, fmt)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"

    stages = split(runner, frames, device, arguments.repeats)
    streamed, threaded = end_to_end(runner, frames)
    total = sum(stages.values())
    print(f"{'small network' if arguments.small else 'released-size bfvr (deterministic weights)'}, {precision}, "
          f"window {window} (overlap {overlap}), {size} x {size} frames, on {name}, torch {torch.__version__}")
    print("| stage | ms / frame | share |")
    print("| --- | --- | --- |")
    for stage, seconds in stages.items():
        print(f"| {stage} | {1000 * seconds:.2f} | {100 * seconds / total:.1f}% |")
    print(f"- one window, stages in sequence: {window * total:.3f} s, {1 / total:.2f} frames/s "
          f"(model alone: {1 / stages['model']:.2f} frames/s)")
    print(f"- end to end, {len(frames)} frames with crossfaded windows: streaming {streamed:.2f} frames/s, "
          f"random access from 2 threads {threaded:.2f} frames/s")
    if not arguments.small and window == 24 and size == 512:
        print(f"- the paper's A100 figure, about 3 s per 24-frame window: 8.0 frames/s of model time; "
              f"here {window * stages['model']:.2f} s per window")


if __name__ == "__main__":
    main()
