"""The surfaces agree: one YUV 4:2:0 8-bit clip tagged BT.709, rendered by the batch render (a
lossless codec), the pipe (told the matrix, which NUT cannot carry) and VapourSynth at 1 thread and
at its default thread count (the file read through BestSource, as a user's script reads it), gives
the same frames, sample for sample: face mode on a clip with two faces, and aligned mode on a clip
of face crops. Gray clips too."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import vapoursynth as vs

from commands import stc_ffmpeg
from face_clips import face_clip
from vs_stc.cli import main as stc
from vs_stc.media.portraits import held_out_clip

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (setup.sh installs it)")
MODES = {"faces": ["--faces", "auto"], "aligned": ["--faces", "aligned"]}
COMMON = ["--model", "tiny-bfvr", "--window", "4", "--overlap", "2"]


def clip(mode: str) -> np.ndarray:
    """Two faces moving over a background (20 frames, 480 x 270), or a face crop (12 frames, 96 x 96)."""
    return face_clip().frames[:20] if mode == "faces" else held_out_clip(seed=4, frames=12, size=96)


def write(frames: np.ndarray, path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1" if path.suffix == ".mkv" else "rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        if path.suffix == ".mkv":
            stream.codec_context.colorspace = 1
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p", dst_colorspace=1,
                                                                              dst_color_range=1)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def planes(path: Path) -> list[list[np.ndarray]]:
    with av.open(str(path)) as container:
        return [[np.frombuffer(p, np.uint8).reshape(p.height, -1)[:, :p.width].copy() for p in frame.planes]
                for frame in container.decode(video=0)]


def vapoursynth(source: Path, mode: str, threads: int | None) -> list[list[np.ndarray]]:
    """``source`` read through BestSource, as a user's script reads it (cachemode 0: no index file
    written), restored by ``core.stc.Restore``, its planes."""
    core = vs.core
    old = core.num_threads
    if threads:
        core.num_threads = threads
    try:
        restored = core.stc.Restore(core.bs.VideoSource(str(source), cachemode=0), model="tiny-bfvr", window=4,
                                    overlap=2, faces="auto" if mode == "faces" else "aligned")
        return [[np.array(frame[p]) for p in range(restored.format.num_planes)] for frame in restored.frames()]
    finally:
        core.num_threads = old


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_batch_pipe_and_vapoursynth_give_the_same_samples(mode, tmp_path):
    source = write(clip(mode), tmp_path / "clip.mkv")
    assert stc(["restore", str(source), "-o", str(tmp_path / "batch.mkv"), "--codec", "ffv1", "--quiet",
                *MODES[mode], *COMMON]) == 0
    rendered = {"batch": planes(tmp_path / "batch.mkv")}
    nut = write(clip(mode), tmp_path / "clip.nut")
    result = stc_ffmpeg(["restore", "--quiet", "--matrix", "709", *MODES[mode], *COMMON], nut.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    (tmp_path / "pipe.nut").write_bytes(result.stdout)
    rendered["pipe"] = planes(tmp_path / "pipe.nut")
    source_planes = planes(source)
    rendered["vapoursynth, 1 thread"] = vapoursynth(source, mode, 1)
    rendered["vapoursynth, default threads"] = vapoursynth(source, mode, None)
    batch = rendered.pop("batch")
    assert len(batch) == len(source_planes)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(batch, source_planes))  # it restored something
    for surface, frames in rendered.items():
        assert len(frames) == len(batch), surface
        for n, (got, want) in enumerate(zip(frames, batch)):
            assert all(np.array_equal(a, b) for a, b in zip(got, want)), f"{surface}, frame {n}"


@pytest.mark.parametrize("mode", list(MODES))
def test_gray_clips_are_restored_alike_by_every_surface(mode, tmp_path):
    """One policy for gray on every surface (VapourSynth refused it before): restored through RGB,
    written back as gray, sample for sample the same by the batch render, the pipe and VapourSynth."""
    gray = clip(mode)[:12].mean(axis=3).round().astype(np.uint8)  # 12 frames: 5 windows of 4
    source = tmp_path / "gray.mkv"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = gray.shape[2], gray.shape[1], "gray"
        for frame in gray:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")))
        container.mux(stream.encode(None))
    assert stc(["restore", str(source), "-o", str(tmp_path / "batch.mkv"), "--codec", "ffv1", "--quiet",
                *MODES[mode], *COMMON]) == 0
    batch = [frame[0] for frame in planes(tmp_path / "batch.mkv")]
    ours = [frame[0] for frame in vapoursynth(source, mode, None)]
    nut = tmp_path / "gray.nut"
    with av.open(str(source)) as reader, av.open(str(nut), "w", format="nut") as writer:
        stream = writer.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = gray.shape[2], gray.shape[1], "gray"
        for frame in reader.decode(video=0):
            writer.mux(stream.encode(frame))
        writer.mux(stream.encode(None))
    result = stc_ffmpeg(["restore", "--quiet", *MODES[mode], *COMMON], nut.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    (tmp_path / "pipe.nut").write_bytes(result.stdout)
    piped = [frame[0] for frame in planes(tmp_path / "pipe.nut")]
    assert len(batch) == len(ours) == len(piped) == len(gray)
    assert all(np.array_equal(a, b) for a, b in zip(batch, ours)), "vapoursynth"
    assert all(np.array_equal(a, b) for a, b in zip(batch, piped)), "pipe"
    assert sum(not np.array_equal(a, g) for a, g in zip(ours, gray)) >= len(gray) // 2  # restored, not passed
