"""The model's throughput alone and beside a CPU-heavy neighbour, in one run.

    .venv/bin/python benchmarks/neighbour_load.py [--frames 32] [--threads 2 1]

Each measurement is a fresh process that streams ``--frames`` 64 x 64 frames through the bundled
``tiny-bfvr`` (window 4, overlap 2) with the engine (``WindowRunner`` + ``stream``, the pipe's and
batch renders' path) and reports frames per second, with PyTorch's intra-op threads set by
OMP_NUM_THREADS to each of ``--threads`` (the first is what the engine picks here: the usable
cores). The neighbour is a busy loop pinned to one core, started before and stopped after the
measurement. The floor (issue 15): throughput beside the neighbour falls by no more than the share
of cores it takes (1 of the usable cores).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

BUSY = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True: pass"


def measure(frames: int) -> float:
    """(In the child) frames per second of the engine on ``frames`` frames."""
    from vs_stc.engine import SampleFormat, WindowRunner, stream
    from vs_stc.loading import load_model
    from vs_stc.options import resolve

    options = resolve("restore", model="tiny-bfvr", precision="fp32")
    network = load_model(options.model, precision=options.precision)
    size = network.config.resolution
    rng = np.random.default_rng(0)
    clip = [[rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in range(3)] for _ in range(frames)]
    runner = WindowRunner(network, SampleFormat.of(np.uint8), options.engine_options())
    list(stream(runner, clip[:4]))  # warm-up: first-call allocations and kernel choices
    start = time.perf_counter()
    for _ in stream(runner, clip):
        pass
    return frames / (time.perf_counter() - start)


def child_fps(frames: int, threads: int, neighbour: bool) -> float:
    busy = None
    if neighbour:
        core = min(os.sched_getaffinity(0))
        busy = subprocess.Popen([sys.executable, "-c", BUSY, str(core)])
    try:
        env = os.environ | {"OMP_NUM_THREADS": str(threads)}
        result = subprocess.run([sys.executable, __file__, "--child", "--frames", str(frames)], env=env,
                                capture_output=True, text=True)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if result.returncode:
        sys.exit(result.stderr.strip())
    return float(result.stdout.split()[-1])


def main() -> None:
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--threads", type=int, nargs="+", default=sorted({cores, 1}, reverse=True))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(measure(arguments.frames))
        return

    floor = (cores - 1) / cores
    print(f"tiny-bfvr, {arguments.frames} frames of 64 x 64, {cores} usable cores, neighbour: a busy loop on 1 core "
          f"(floor: loaded / alone >= {floor:.2f})")
    print("| intra-op threads | alone frames/s | beside the neighbour | loaded / alone |")
    print("| --- | --- | --- | --- |")
    best_alone = 0.0
    for threads in arguments.threads:
        alone = child_fps(arguments.frames, threads, neighbour=False)
        loaded = child_fps(arguments.frames, threads, neighbour=True)
        best_alone = max(best_alone, alone)
        print(f"| {threads} | {alone:.2f} | {loaded:.2f} | {loaded / alone:.3f} |")
    print(f"(loaded throughput against the best alone: divide the loaded column by {best_alone:.2f})")


if __name__ == "__main__":
    main()
