"""The one colour rule: a frame's own tags, an explicit choice over them, and for untagged frames
BT.709 at HD sizes and BT.601 below, limited range; the pipe, told the matrix NUT cannot carry,
gives the frames the batch render gives for the same video tagged in Matroska."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from commands import stc_ffmpeg
from vs_stc.cli import main as stc
from vs_stc.colour import YUVRule

ALIGNED = ["--model", "tiny-bfvr", "--faces", "aligned", "--window", "4", "--overlap", "2"]


@pytest.mark.parametrize(("tag", "size", "expected"), [
    (None, (1920, 1080), (1, True)), (2, (1280, 720), (1, True)), (None, (720, 576), (6, True)),
    (None, (64, 64), (6, True)), (9, (64, 64), (9, False)), (5, (3840, 2160), (5, False))])
def test_tags_win_else_the_size_decides(tag, size, expected):
    assert YUVRule().matrix_for(tag, *size) == expected


def test_an_explicit_choice_wins_over_tags():
    rule = YUVRule.given("709", "full")
    assert rule.matrix_for(6, 64, 64) == (1, False) and rule.full_range_for(False)
    assert YUVRule().full_range_for(None) is False and YUVRule().full_range_for(True) is True


def write(path: Path, colorspace: int | None) -> Path:
    """24 saturated 64 x 64 frames as lossless YUV 4:2:0 (BT.709 samples), tagged or not."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1" if path.suffix == ".mkv" else "rawvideo", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        if colorspace:
            stream.codec_context.colorspace = colorspace
        for t in range(8):
            rgb = np.clip(rng.normal(128, 70, (8, 8, 3)), 0, 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p", dst_colorspace=1,
                                                                              dst_color_range=1)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray() for f in container.decode(video=0)]


def pipe(source: Path, *extra: str) -> list[np.ndarray]:
    result = stc_ffmpeg(["restore", "--quiet", *ALIGNED, *extra], source.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    output = source.with_name(source.stem + "-out" + "".join(extra) + ".nut")
    output.write_bytes(result.stdout)
    return frames(output)


def test_the_pipe_told_the_matrix_matches_the_batch_render_of_the_tagged_file(tmp_path):
    tagged = write(tmp_path / "tagged.mkv", colorspace=1)
    assert stc(["restore", str(tagged), "-o", str(tmp_path / "out.mkv"), "--codec", "ffv1", "--quiet", *ALIGNED]) == 0
    batch = frames(tmp_path / "out.mkv")
    untagged = write(tmp_path / "untagged.nut", colorspace=None)
    told = pipe(untagged, "--matrix", "709")
    assert len(told) == len(batch) == 8
    assert all(np.array_equal(a, b) for a, b in zip(told, batch))
    guessed = pipe(untagged)  # 64 x 64 and untagged: read as BT.601
    assert not all(np.array_equal(a, b) for a, b in zip(guessed, batch))
