"""Cluster renders (``stc restore --ray``) against a local render of the same batch, and what Ray
costs per unit.

1. The same batch (four short clips and one long clip cut into chunks; bundled tiny-bfvr, 64 x 64,
   window 6, overlap 2) rendered locally (one process, PyTorch on both cores) and through a local
   Ray runtime with 2 workers of one thread each; outputs checked frame-identical.
2. Ray's cost per unit: the batch's units run one at a time on one actor; the driver's round trip
   (submit, schedule, run, return the part's bytes) minus the time the worker itself reports is
   Ray's scheduling and serialisation, given as a fraction of the worker's time.
3. What a restored frame costs to send back: packing (lossless, zlib level 1) time and bytes at
   64 x 64 and at 1920 x 1080, and unpacking on the driver.

    cd benchmarks && ../.venv/bin/python ray_batch.py
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import ray
import torch

from vs_stc.batch import run_batch
from vs_stc.cluster import run_cluster_batch
from vs_stc.cluster.packing import PartWriter, read_frames, read_header
from vs_stc.cluster.units import Unit
from vs_stc.cluster.worker import Renderer
from vs_stc.encoding import Encoder
from vs_stc.options import resolve
from vs_stc.restorer import load_restorer
from vs_stc.summary import summary

SHORT, LONG, CHUNK = 48, 96, 32  # frames
FFMPEG = shutil.which("ffmpeg")


def clip(path: Path, frames: int, size: str = "64x64", noise: int = 0) -> Path:
    picture = f"testsrc2=size={size}:rate=25:duration={frames / 25}" + (f",noise=alls={noise}:allf=t" if noise else "")
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i",
                    f"sine=frequency=300:duration={frames / 25}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-g", "12", "-c:a", "aac", str(path)], check=True)
    return path


def digests(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(f.to_ndarray().tobytes()).hexdigest() for f in container.decode(video=0)]


def packing(frame: av.VideoFrame, repeats: int = 5) -> tuple[float, float, int]:
    """(ms to pack, ms to unpack, bytes) per frame."""
    writer = PartWriter()
    start = time.perf_counter()
    for _ in range(repeats):
        writer.add(frame, None)
    pack = (time.perf_counter() - start) / repeats
    size = writer.records.getbuffer().nbytes // repeats
    payload = writer.finish({})
    stream = io.BytesIO(payload)
    read_header(stream)
    start = time.perf_counter()
    for rebuilt in read_frames(stream):
        rebuilt(frame)
    unpack = (time.perf_counter() - start) / repeats
    return pack * 1e3, unpack * 1e3, size


def main() -> None:
    options = resolve("restore", model="tiny-bfvr", faces="aligned", window=6, overlap=2)
    encoder = Encoder()
    with tempfile.TemporaryDirectory(prefix="stc-ray-bench-") as scratch:
        folder = Path(scratch)
        clips = [clip(folder / f"short{i}.mp4", SHORT) for i in range(4)] + [clip(folder / "long.mp4", LONG)]
        frames = 4 * SHORT + LONG

        start = time.perf_counter()
        results = run_batch([str(c) for c in clips], folder / "local", load_restorer(options), encoder, quiet=True)
        local = time.perf_counter() - start
        assert not any(r.error for r in results), summary(results)

        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 _temp_dir=str(folder / "ray"))
        startup = time.perf_counter() - start
        units: list[Unit] = []
        start = time.perf_counter()
        results = run_cluster_batch([str(c) for c in clips], folder / "cluster", options, encoder, quiet=True,
                                    chunk_frames=CHUNK, on_unit=lambda unit, actors: units.append(unit))
        cluster = time.perf_counter() - start
        assert not any(r.error for r in results), summary(results)
        identical = all(digests(folder / "local" / c.name) == digests(folder / "cluster" / c.name) for c in clips)

        actor = ray.remote(Renderer).options(num_cpus=1).remote(options, 1)
        ray.get(actor.render.remote(units[0]))  # model loaded and warm
        trips, worked, sizes = [], [], []
        for unit in units:
            start = time.perf_counter()
            payload, error = ray.get(actor.render.remote(unit))
            trips.append(time.perf_counter() - start)
            assert error is None, error
            header = read_header(io.BytesIO(payload))
            worked.append(header["seconds"])
            sizes.append(len(payload) / header["frames"])
        ray.kill(actor)
        ray.shutdown()

        samples = {}
        for name, path in (("64 x 64", clips[0]), ("1920 x 1080", clip(folder / "hd.mp4", 1, "1920x1080")),
                           ("1920 x 1080 + noise (a worst case)", clip(folder / "noisy.mp4", 1, "1920x1080", 24))):
            with av.open(str(path)) as source:
                samples[name] = next(source.decode(video=0))

    overhead = [t - w for t, w in zip(trips, worked)]
    print(f"torch {torch.__version__}, ray {ray.__version__}, {frames} frames in {len(clips)} files, "
          f"{len(units)} units (long clip in chunks of >= {CHUNK})")
    print(f"local render (1 process, 2 threads):      {local:7.1f} s  {frames / local:6.2f} frames/s")
    print(f"Ray runtime start (ray.init, local):      {startup:7.1f} s")
    print(f"cluster render, 2 workers x 1 thread:    {cluster:7.1f} s  {frames / cluster:6.2f} frames/s "
          f"(workers started and models loaded inside)")
    print(f"local / cluster time: {local / cluster:.2f}x; with the runtime's start: {local / (cluster + startup):.2f}x")
    print(f"frame-identical outputs: {identical}")
    print(f"per unit, one actor, sequential: worker {statistics.mean(worked) * 1e3:.0f} ms, round trip "
          f"{statistics.mean(trips) * 1e3:.0f} ms; Ray's share (round trip - worker) "
          f"{statistics.median(overhead) * 1e3:.1f} ms median, {sum(overhead) / sum(worked):.2%} of worker time; "
          f"{statistics.mean(sizes) / 1e3:.1f} kB / frame returned")
    for name, frame in samples.items():
        pack, unpack, size = packing(frame)
        print(f"packing a {name} {frame.format.name} frame: {pack:.2f} ms, unpacking {unpack:.2f} ms, "
              f"{size / 1e3:.1f} kB (raw {sum(p.buffer_size for p in frame.planes) / 1e3:.1f} kB)")
    print(f"(np {np.__version__}; absolute times move with load on the machine, the ratios less)")


if __name__ == "__main__":
    main()
