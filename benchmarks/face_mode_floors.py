"""Face mode's own cost at 1080p and 4K, as issue 24's floors put it: peak memory (RSS) and time of
the batch render and of VapourSynth (vspipe, default threads) against an ``ffmpeg`` decode plus
lossless encode of the same file, in one run.

    .venv/bin/python benchmarks/face_mode_floors.py [--frames 48] [--sizes 1080 2160]

The clip: the face fixture's first shot (tests/face_clips.py: the astronaut, Grace Hopper entering
and leaving; 36 frames, played forwards and backwards to ``--frames``, the issue's 96 by default)
scaled to 1920 x 1080 (or 3840 x 2160), YUV 4:2:0 8-bit, FFV1 in Matroska for the batch
render and ffmpeg, raw YUV read frame by frame for VapourSynth (no source plugin holds frames).
Model: the bundled ``tiny-bfvr`` (64 pixels), so that nearly all the time is face mode's own work.
Each command runs in its own process; its peak RSS comes from the kernel (wait4).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from face_clips import face_clip  # noqa: E402

VPY = """
import numpy as np
import vapoursynth as vs
core = vs.core
width, height, length = {width}, {height}, {length}
frame_bytes = width * height * 3 // 2
blank = core.std.BlankClip(format=vs.YUV420P8, width=width, height=height, length=length, fpsnum=25)

def fill(n, f):
    out = f.copy()
    data = np.fromfile({raw!r}, np.uint8, frame_bytes, offset=n * frame_bytes)
    np.asarray(out[0])[:] = data[:width * height].reshape(height, width)
    chroma = data[width * height:].reshape(2, height // 2, width // 2)
    np.asarray(out[1])[:], np.asarray(out[2])[:] = chroma
    out.props["_Matrix"], out.props["_Range"] = 1, 1
    return out

core.stc.Restore(core.std.ModifyFrame(blank, blank, fill), model="tiny-bfvr").set_output()
"""


def measured(command: list[str], **kwargs) -> tuple[float, float]:
    """(seconds, peak RSS in GiB) of one command run to its end."""
    start = time.perf_counter()
    process = subprocess.Popen(command, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{command[0]} failed ({os.waitstatus_to_exitcode(status)})")
    return seconds, usage.ru_maxrss / 2**20


def ping_pong(index: int, length: int) -> int:
    """Frame ``index`` of a clip played forwards, backwards, forwards... (no jump, so no cut)."""
    step = index % (2 * length - 2)
    return step if step < length else 2 * length - 2 - step


def write_clip(folder: Path, height: int, frames: int) -> tuple[Path, Path]:
    width = height * 16 // 9
    mkv, raw = folder / f"clip{height}.mkv", folder / f"clip{height}.yuv"
    with av.open(str(mkv), "w") as container, raw.open("wb") as plain:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.colorspace = 1
        shot = face_clip().frames[:36]
        for index in range(frames):
            rgb = shot[ping_pong(index, len(shot))]
            big = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC)
            frame = av.VideoFrame.from_ndarray(big, format="rgb24").reformat(format="yuv420p", dst_colorspace=1,
                                                                              dst_color_range=1)
            container.mux(stream.encode(frame))
            plain.write(b"".join(bytes(np.frombuffer(p, np.uint8).reshape(p.height, -1)[:, :p.width])
                                 for p in frame.planes))
        container.mux(stream.encode(None))
    return mkv, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1080, 2160])
    arguments = parser.parse_args()
    venv = Path(sys.executable).parent
    print("| size | ffmpeg decode + FFV1 | batch render | VapourSynth (default threads) | batch / ffmpeg | "
          "VapourSynth / batch |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for height in arguments.sizes:
            mkv, raw = write_clip(folder, height, arguments.frames)
            ffmpeg = measured([shutil.which("ffmpeg"), "-nostdin", "-loglevel", "error", "-y", "-i", str(mkv),
                               "-c:v", "ffv1", str(folder / "ffmpeg.mkv")])
            batch = measured([str(venv / "stc"), "restore", str(mkv), "-o", str(folder / "batch.mkv"), "--codec",
                              "ffv1", "--model", "tiny-bfvr", "--quiet", "--overwrite"], stdout=subprocess.DEVNULL)
            script = folder / "clip.vpy"
            script.write_text(VPY.format(width=height * 16 // 9, height=height, length=arguments.frames, raw=str(raw)))
            vapoursynth = measured([str(venv / "vspipe"), str(script), "--"], stdout=subprocess.DEVNULL)
            print(f"| {height * 16 // 9} x {height}, {arguments.frames} frames "
                  f"| {ffmpeg[0]:.1f} s, {ffmpeg[1]:.2f} GiB "
                  f"| {batch[0]:.1f} s, {batch[1]:.2f} GiB | {vapoursynth[0]:.1f} s, {vapoursynth[1]:.2f} GiB "
                  f"| {batch[0] / ffmpeg[0]:.1f}x | {vapoursynth[0] / batch[0]:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
