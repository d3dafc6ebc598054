"""Face mode's model lanes: the batch render of the 1080p face clip (face_mode_floors.py's) with the
engine's default, windows side by side on one lane per core, each lane one OpenMP thread
(engine/device.py, ``cpu_lanes``), against one lane whose team is as large as the machine
(``OMP_NUM_THREADS`` = the usable cores, which the engine keeps as the user's) and one lane of one
thread (``OMP_NUM_THREADS=1``, which leaves the other cores to the face pipeline). One command,
each render in its own process, the order alternated over ``--repeats`` rounds.

    .venv/bin/python benchmarks/face_mode_threads.py [--frames 96] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from face_mode_floors import write_clip

from vs_stc.engine.device import usable_cores


def seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2)
    arguments = parser.parse_args()
    cores = usable_cores()
    stc = str(Path(sys.executable).parent / "stc")
    plain = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    settings = {f"one lane of {cores} threads (OMP_NUM_THREADS={cores})": plain | {"OMP_NUM_THREADS": str(cores)},
                "one lane of 1 thread (OMP_NUM_THREADS=1)": plain | {"OMP_NUM_THREADS": "1"},
                f"default ({cores} lanes of 1 thread)": plain}
    times: dict[str, list[float]] = {name: [] for name in settings}
    with tempfile.TemporaryDirectory() as scratch:
        mkv, _ = write_clip(Path(scratch), 1080, arguments.frames)
        command = [stc, "restore", str(mkv), "-o", str(Path(scratch) / "out.mkv"), "--codec", "ffv1", "--model",
                   "tiny-bfvr", "--quiet", "--overwrite"]
        for repeat in range(arguments.repeats):
            order = list(settings) if repeat % 2 == 0 else list(reversed(settings))
            for name in order:
                times[name].append(seconds(command, settings[name]))
    *baselines, ours = (statistics.median(times[name]) for name in settings)
    print(f"{cores} usable cores, 1920 x 1080, {arguments.frames} frames, tiny-bfvr, median of {arguments.repeats}")
    for name in settings:
        print(f"  {name:45s} {statistics.median(times[name]):6.1f} s")
    print("  speed-up of the default: " + ", ".join(f"{baseline / ours:.2f}x" for baseline in baselines))


if __name__ == "__main__":
    main()
