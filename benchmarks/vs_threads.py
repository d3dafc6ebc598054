"""VapourSynth thread counts: the same script through the real ``vspipe`` at 1, the default and 4
threads, in subprocesses, one after the other in this one run.

    .venv/bin/python benchmarks/vs_threads.py [--frames 48] [--size 256] [--repeats 2]

The script restores a drawn ``--size`` x ``--size`` RGB24 clip of ``--frames`` frames with
``core.stc.Restore(clip, model="tiny-bfvr", faces="aligned")``; the thread count is the only
difference between runs (``core.num_threads`` left alone for the default). Each configuration runs
``--repeats`` times, interleaved, and the fastest run counts (machine load only ever adds time).
Wall time is the whole vspipe process, start-up included; a run that renders one frame is timed
too, so the rendering time (wall minus that start-up) is printed beside it. Every run's output is
hashed: the frames must be identical whatever the thread count. Floors (issue 15): default / 1
thread at most 1.10, 4 threads no slower than the default.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

VSPIPE = Path(sys.executable).with_name("vspipe")

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import vapoursynth as vs
    core = vs.core
    if "threads" in globals():
        core.num_threads = int(threads)
    size, length = {size}, {frames}
    y, x = np.mgrid[0:size, 0:size] / size

    def draw(n, f):
        out = f.copy()
        blob = ((x - 0.3 - 0.01 * n) / 0.2) ** 2 + ((y - 0.5) / 0.3) ** 2 < 1
        for p, base in enumerate((0.2 + 0.5 * y, 0.3 + 0.4 * x, 0.6 - 0.3 * y)):
            np.copyto(np.asarray(out[p]), (np.where(blob, 0.9 - 0.1 * p, base) * 255).astype(np.uint8))
        return out

    blank = core.std.BlankClip(format=vs.RGB24, width=size, height=size, length=length, fpsnum=25, fpsden=1)
    clip = core.std.ModifyFrame(blank, blank, draw)
    clip = core.stc.Restore(clip, model="tiny-bfvr", faces="aligned")
    clip.set_output()
    """
)


def render(script: Path, threads: int | None, end: int | None = None) -> tuple[float, str]:
    """(wall seconds, sha256 of the output) of one vspipe run."""
    args = [str(VSPIPE), str(script), "-"]
    if threads is not None:
        args[1:1] = ["--arg", f"threads={threads}"]
    if end is not None:
        args[1:1] = ["--end", str(end)]
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"vspipe failed: {result.stderr.decode().strip()}")
    return seconds, hashlib.sha256(result.stdout).hexdigest()


def default_threads() -> int:
    import vapoursynth as vs

    return vs.core.num_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "threads.vpy"
        script.write_text(SCRIPT.format(size=arguments.size, frames=arguments.frames))
        configurations = {"1 thread": 1, f"default ({default_threads()})": None, "4 threads": 4}
        best: dict[str, float] = {}
        digests: dict[str, str] = {}
        startup = min(render(script, 1, end=0)[0] for _ in range(arguments.repeats))
        for _ in range(arguments.repeats):
            for name, threads in configurations.items():
                seconds, digest = render(script, threads)
                best[name] = min(best.get(name, seconds), seconds)
                digests[name] = digest
    names = list(configurations)
    print(f"{arguments.frames} frames, {arguments.size} x {arguments.size}, tiny-bfvr, "
          f"cores available: {len(os.sched_getaffinity(0))}, vspipe start-up + 1 frame: {startup:.2f} s")
    print("| run | wall s | rendering s (wall - start-up) |")
    print("| --- | --- | --- |")
    for name in names:
        print(f"| {name} | {best[name]:.2f} | {best[name] - startup:.2f} |")
    one, default, four = (best[n] for n in names)
    print(f"- default / 1 thread: {default / one:.3f} (floor: at most 1.10); "
          f"rendering only: {(default - startup) / (one - startup):.3f}")
    print(f"- 4 threads / default: {four / default:.3f} (floor: at most 1.00)")
    identical = len(set(digests.values())) == 1
    print(f"- output identical at every thread count: {identical}")
    if not identical:
        sys.exit("outputs differ between thread counts")


if __name__ == "__main__":
    main()
