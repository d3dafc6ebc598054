"""Nothing crosses a cut, on every surface: two shots with different faces at the same place, a hard
cut between them on the window grid, YUV 4:2:0 8-bit, no scene-change props anywhere. The batch
render, the pipe and VapourSynth each give every shot's frames sample for sample as when that shot
is rendered alone; without cuts (cuts off) the second shot's first frames come out otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import vapoursynth as vs

from commands import stc_ffmpeg
from face_clips import two_shots
from vs_stc.cli import main as stc

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (setup.sh installs it)")
CUT = 12  # on the grid of windows of 4 with an overlap of 2
FACE_MODE = ["--model", "tiny-bfvr", "--window", "4", "--overlap", "2"]
SHOTS = {"whole": slice(None), "first": slice(None, CUT), "second": slice(CUT, None)}


def yuv_frames(path: Path) -> list[list[np.ndarray]]:
    with av.open(str(path)) as container:
        return [[np.array(p) for p in frame_planes(f)] for f in container.decode(video=0)]


def frame_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [np.frombuffer(p, np.uint8).reshape(p.height, -1)[:, :p.width] for p in frame.planes]


def write(frames: np.ndarray, path: Path) -> Path:
    """RGB frames as lossless YUV 4:2:0 (FFV1 in Matroska, or raw video in NUT)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1" if path.suffix == ".mkv" else "rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shots")
    return {name: write(two_shots()[part], folder / f"{name}.mkv") for name, part in SHOTS.items()}


def assert_shots_as_alone(rendered: dict[str, list[list[np.ndarray]]]) -> None:
    whole = rendered["whole"]
    assert len(whole) == len(two_shots())
    for name, part in list(SHOTS.items())[1:]:
        alone = rendered[name]
        for n, (got, want) in enumerate(zip(whole[part], alone)):
            assert all(np.array_equal(a, b) for a, b in zip(got, want)), f"{name} shot, its frame {n}"


def test_batch_render(sources, tmp_path):
    rendered = {}
    for name, source in sources.items():
        assert stc(["restore", str(source), "-o", str(tmp_path / name / "out.mkv"), "--codec", "ffv1", "--quiet",
                    *FACE_MODE]) == 0
        rendered[name] = yuv_frames(tmp_path / name / "out.mkv")
    assert_shots_as_alone(rendered)
    assert stc(["restore", str(sources["whole"]), "-o", str(tmp_path / "off.mkv"), "--codec", "ffv1", "--quiet",
                "--cuts", "off", *FACE_MODE]) == 0
    crossed = yuv_frames(tmp_path / "off.mkv")[CUT]
    assert not all(np.array_equal(a, b) for a, b in zip(crossed, rendered["second"][0]))


def test_pipe(sources, tmp_path):
    rendered = {}
    for name in SHOTS:
        nut = write(two_shots()[SHOTS[name]], tmp_path / f"{name}.nut")
        result = stc_ffmpeg(["restore", "--quiet", *FACE_MODE], nut.read_bytes())
        assert result.returncode == 0, result.stderr.decode()
        (tmp_path / f"{name}-out.nut").write_bytes(result.stdout)
        rendered[name] = yuv_frames(tmp_path / f"{name}-out.nut")
    assert_shots_as_alone(rendered)


def test_vapoursynth_without_scene_change_props(sources, bundled_bfvr):
    core = vs.core
    planes = yuv_frames(sources["whole"])
    blank = core.std.BlankClip(format=vs.YUV420P8, width=two_shots().shape[2], height=two_shots().shape[1],
                               length=len(planes))

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(3):
            np.asarray(out[p])[:] = planes[n][p]
        return out

    clip = core.std.ModifyFrame(blank, blank, fill)
    rendered = {}
    for name, part in SHOTS.items():
        restored = core.stc.Restore(clip[part], model=bundled_bfvr, window=4, overlap=2)
        rendered[name] = [[np.array(f[p]) for p in range(3)] for f in restored.frames()]
        assert not any("_SceneChangePrev" in f.props for f in clip[part].frames())
    assert_shots_as_alone(rendered)
