"""core.stc.Restore / Deflicker through the real vspipe and in-process, with the bundled models."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import vapoursynth as vs

import vs_stc
from vs_stc.engine import plan
from vs_stc.vsfilter.plugin import installed_path

from conftest import TINY

TESTS = Path(__file__).resolve().parent
VSPIPE = Path(sys.executable).with_name("vspipe")
SIZE, LENGTH = TINY.resolution, 14


@pytest.fixture(scope="module")
def tiny_model(bundled_bfvr) -> str:
    return bundled_bfvr


SCRIPT = textwrap.dedent(
    """
    import sys
    import vapoursynth as vs
    sys.path.insert(0, {tests!r})
    from vs_test_clips import moving
    core = vs.core
    core.num_threads = int(globals().get("threads", 1))
    clip = moving(core, {size}, {length}, vs.{fmt})
    clip = core.stc.{call}
    clip.set_output()
    """
)


def write_script(tmp_path: Path, call: str, fmt: str = "YUV420P8", size: int = SIZE, length: int = LENGTH) -> Path:
    script = tmp_path / "restore.vpy"
    script.write_text(SCRIPT.format(tests=str(TESTS), size=size, length=length, fmt=fmt, call=call))
    return script


def vspipe(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VSPIPE), *args, str(script), "-"], capture_output=True, timeout=600)


def parse_y4m(data: bytes) -> list[bytes]:
    header, _, body = data.partition(b"\n")
    fields = dict((f[:1], f[1:]) for f in header.split()[1:])
    w, h = int(fields[b"W"]), int(fields[b"H"])
    frame_bytes = w * h * 3 // 2  # 4:2:0, 8 bit
    frames = []
    while body:
        assert body.startswith(b"FRAME")
        body = body[body.index(b"\n") + 1:]
        frames.append(body[:frame_bytes])
        body = body[frame_bytes:]
    return frames


def frame_bytes(frame: vs.VideoFrame) -> bytes:
    return b"".join(np.ascontiguousarray(np.asarray(frame[p])).tobytes() for p in range(frame.format.num_planes))


def python_api_frames(tiny_model: str, **kwargs) -> list[bytes]:
    sys.path.insert(0, str(TESTS))
    from vs_test_clips import moving

    core = vs.core
    clip = vs_stc.restore(moving(core, SIZE, LENGTH, vs.YUV420P8), model=tiny_model, **kwargs)
    return [frame_bytes(f) for f in clip.frames()]


def test_plugin_is_installed_for_autoloading():
    assert installed_path().exists()
    assert hasattr(vs.core, "stc")
    assert "Restore" in dir(vs.core.stc) and "Deflicker" in dir(vs.core.stc)


def test_vspipe_y4m_matches_the_python_api(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Restore(clip, model={tiny_model!r}, window=6, overlap=2)")
    result = vspipe(script, "-c", "y4m")
    assert result.returncode == 0, result.stderr.decode()
    rendered = parse_y4m(result.stdout)
    expected = python_api_frames(tiny_model, window=6, overlap=2)
    assert len(rendered) == LENGTH
    assert rendered == expected


def test_ranges_and_threads_render_identical_frames(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Restore(clip, model={tiny_model!r}, window=6, overlap=2)")
    full = vspipe(script, "-c", "y4m")
    assert full.returncode == 0, full.stderr.decode()
    frames = parse_y4m(full.stdout)
    part = vspipe(script, "-c", "y4m", "--start", "5", "--end", "11")
    assert part.returncode == 0, part.stderr.decode()
    assert parse_y4m(part.stdout) == frames[5:12]
    threaded = vspipe(script, "-c", "y4m", "--arg", "threads=4")
    assert threaded.returncode == 0, threaded.stderr.decode()
    assert parse_y4m(threaded.stdout) == frames


def test_wrong_format_gives_the_expected_error(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Restore(clip, model={tiny_model!r})", fmt="GRAY8")
    result = vspipe(script, "-c", "y4m")
    assert result.returncode != 0
    assert "Restore: 'clip' is Gray8; use an RGB (RGB24, RGB48, RGBS, RGBH) or a YUV clip" in result.stderr.decode()


def test_deflicker_rejects_an_unknown_mode(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Deflicker(clip, mode='strobe', model={tiny_model!r})")
    result = vspipe(script, "-c", "y4m")
    assert "Deflicker: 'mode' must be 'brightness' or 'pixel', not 'strobe'" in result.stderr.decode()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"window": 7}, "Restore: window must be an even number of frames >= 2, not 7"),
        ({"overlap": 24}, "Restore: overlap must be even and in [0, window)"),
        ({"precision": "fp16"}, "Restore: 'precision' fp16 runs on CUDA only"),
        ({"faces": "auto"}, "Restore: faces='auto'"),
        ({"device": "tpu"}, "Restore: 'device' must be 'cpu', 'cuda' or 'cuda:N'"),
        ({"keep_detail": 2}, "Restore: 'keep_detail' must be 0 or 1"),
        ({"keep_detail": 1, "keep_colours": 1}, "Restore: 'keep_detail' and 'keep_colours' exclude each other"),
    ],
)
def test_arguments_are_checked_up_front(tiny_model, arguments, message):
    clip = vs.core.std.BlankClip(format=vs.RGB24, width=SIZE, height=SIZE, length=4)
    with pytest.raises(vs.Error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        vs.core.stc.Restore(clip, model=tiny_model, **arguments)


def test_non_square_and_variable_clips_are_refused(tiny_model):
    core = vs.core
    wide = core.std.BlankClip(format=vs.RGB24, width=SIZE * 2, height=SIZE, length=4)
    with pytest.raises(vs.Error, match="Restore: .*square aligned face crops"):
        core.stc.Restore(wide, model=tiny_model)
    variable = core.std.Splice([wide, core.std.BlankClip(format=vs.RGB24, width=SIZE, height=SIZE, length=4)],
                               mismatch=True)
    with pytest.raises(vs.Error, match="Restore: 'clip' has a variable frame size"):
        core.stc.Restore(variable, model=tiny_model)


@pytest.mark.parametrize("fmt", [vs.RGB24, vs.RGB48, vs.RGBS, vs.RGBH, vs.YUV444P10, vs.YUV420P8])
def test_output_keeps_format_length_rate_and_props(tiny_model, fmt):
    sys.path.insert(0, str(TESTS))
    from vs_test_clips import moving

    source = vs.core.std.SetFrameProps(moving(vs.core, 2 * SIZE, 8, fmt), Custom=7)
    out = vs.core.stc.Restore(source, model=tiny_model, window=4, overlap=2)
    assert (out.format.id, out.width, out.height, out.num_frames, out.fps) == (
        source.format.id, source.width, source.height, source.num_frames, source.fps)
    frame = out.get_frame(3)
    props = dict(frame.props)
    assert props["Custom"] == 7 and props["STCWindow"] == 4 and props["STCOverlap"] == 2
    assert props["STCPrecision"] == "fp32" and props["STCModel"] == tiny_model
    assert frame_bytes(frame) != frame_bytes(source.get_frame(3))


def test_models_run_at_their_own_window_unless_told_otherwise(tiny_model):
    from vs_stc.weights import window_for

    clip = vs.core.std.BlankClip(format=vs.RGB24, width=SIZE, height=SIZE, length=8)
    props = vs.core.stc.Restore(clip, model=tiny_model).get_frame(0).props
    assert (props["STCWindow"], props["STCOverlap"]) == (4, 2)  # what the tiny models were trained on
    props = vs.core.stc.Restore(clip, model=tiny_model, window=6).get_frame(0).props
    assert (props["STCWindow"], props["STCOverlap"]) == (6, 2)
    assert window_for("bfvr") == (24, 8) and window_for("model.pth", 8) == (8, 8)


def test_keep_detail_keeps_the_input_detail(bundled_deflicker):
    sys.path.insert(0, str(TESTS))
    from vs_test_clips import moving

    source = moving(vs.core, 2 * SIZE, 8, vs.RGBS)
    plain = vs.core.stc.Deflicker(source, model=bundled_deflicker, window=4, overlap=2)
    kept = vs.core.stc.Deflicker(source, model=bundled_deflicker, window=4, overlap=2, keep_detail=True)
    source_plane, plain_plane, kept_plane = (np.asarray(c.get_frame(3)[0]).ravel() for c in (source, plain, kept))
    assert kept.get_frame(3).props["STCKeepDetail"] == 1 and plain.get_frame(3).props["STCKeepDetail"] == 0
    # the input scaled by one gain: every pixel's detail kept, unlike the re-rendered frame
    kept_match, plain_match = (np.corrcoef(p, source_plane)[0, 1] for p in (kept_plane, plain_plane))
    assert kept_match > 0.99 and kept_match > plain_match


@pytest.mark.parametrize("full_range", [False, True])
def test_yuv_goes_to_rgb_and_back_with_its_own_matrix_and_range(full_range):
    from vs_stc.vsfilter.node import from_rgb, to_rgb, yuv_matrix

    sys.path.insert(0, str(TESTS))
    from vs_test_clips import moving_rgb

    core = vs.core
    yuv = core.resize.Bicubic(moving_rgb(core, 32, 3), format=vs.YUV444P16, matrix_s="170m",
                              range_s="full" if full_range else "limited")
    matrix, assumed = yuv_matrix(yuv)
    assert (matrix, assumed) == (6, False)
    back = from_rgb(to_rgb(yuv, matrix), yuv, matrix)
    for a, b in zip(back.frames(), yuv.frames()):
        for p in range(3):
            assert np.abs(np.asarray(a[p]).astype(int) - np.asarray(b[p]).astype(int)).max() <= 2
        assert a.props["_Range"] == b.props["_Range"]


def test_out_of_order_requests_from_many_threads_match_a_sequential_pass(tiny_model):
    sys.path.insert(0, str(TESTS))
    from vs_test_clips import moving

    core = vs.core
    source = moving(core, SIZE, LENGTH)
    sequential = [frame_bytes(f) for f in core.stc.Restore(source, model=tiny_model, window=6, overlap=2).frames()]
    old_threads = core.num_threads
    core.num_threads = 4
    try:
        clip = core.stc.Restore(source, model=tiny_model, window=6, overlap=2)
        order = list(range(LENGTH))
        random.Random(3).shuffle(order)
        futures = [(n, clip.get_frame_async(n)) for n in order]
        for n, future in futures:
            assert frame_bytes(future.result()) == sequential[n], n
    finally:
        core.num_threads = old_threads


def test_windows_never_cross_scene_changes(tiny_model):
    sys.path.insert(0, str(TESTS))
    from vs_test_clips import moving

    core = vs.core
    source = moving(core, SIZE, 12)
    unmarked = core.std.SetFrameProps(source, _SceneChangePrev=0)
    marked = unmarked[:5] + core.std.SetFrameProps(unmarked[5], _SceneChangePrev=1) + unmarked[6:]
    out = core.stc.Restore(marked, model=tiny_model, window=4, overlap=2)
    expected = plan(12, 4, 2, cuts=[5])
    for n in range(12):
        starts = out.get_frame(n).props["STCWindows"]
        starts = list(starts) if isinstance(starts, (list, tuple)) else [starts]
        assert starts == [expected.windows[c.window].start for c in expected.contributions(n)]
        assert all((s < 5) == (n < 5) for s in starts)
