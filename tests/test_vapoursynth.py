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
from vs_stc.vapoursynth_plugin.plugin import installed_path

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
    from vs_test_clips import moving

    core = vs.core
    clip = vs_stc.restore(moving(core, SIZE, LENGTH, vs.YUV420P8), model=tiny_model, faces="aligned", **kwargs)
    return [frame_bytes(f) for f in clip.frames()]


def test_plugin_is_installed_for_autoloading():
    assert installed_path().exists()
    assert hasattr(vs.core, "stc")
    assert "Restore" in dir(vs.core.stc) and "Deflicker" in dir(vs.core.stc)


def test_vspipe_y4m_matches_the_python_api(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Restore(clip, model={tiny_model!r}, faces='aligned', window=6, overlap=2)")
    result = vspipe(script, "-c", "y4m")
    assert result.returncode == 0, result.stderr.decode()
    rendered = parse_y4m(result.stdout)
    expected = python_api_frames(tiny_model, window=6, overlap=2)
    assert len(rendered) == LENGTH
    assert rendered == expected


def test_ranges_and_threads_render_identical_frames(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Restore(clip, model={tiny_model!r}, faces='aligned', window=6, overlap=2)")
    full = vspipe(script, "-c", "y4m")
    assert full.returncode == 0, full.stderr.decode()
    frames = parse_y4m(full.stdout)
    part = vspipe(script, "-c", "y4m", "--start", "5", "--end", "11")
    assert part.returncode == 0, part.stderr.decode()
    assert parse_y4m(part.stdout) == frames[5:12]
    threaded = vspipe(script, "-c", "y4m", "--arg", "threads=4")
    assert threaded.returncode == 0, threaded.stderr.decode()
    assert parse_y4m(threaded.stdout) == frames


def test_wrong_format_gives_the_expected_error(tiny_model):
    clip = vs.core.std.BlankClip(format=vs.GRAY32, width=64, height=64, length=4)
    with pytest.raises(vs.Error, match=r"^Restore: 'clip' is Gray32; integer samples must be 8 to 16 bits$"):
        vs.core.stc.Restore(clip, model=tiny_model, faces="aligned")


def test_deflicker_rejects_an_unknown_mode(tmp_path, tiny_model):
    script = write_script(tmp_path, f"Deflicker(clip, mode='strobe', model={tiny_model!r}, faces='aligned')")
    result = vspipe(script, "-c", "y4m")
    assert "Deflicker: 'mode' must be one of brightness, pixel, not 'strobe'" in result.stderr.decode()


def test_non_square_and_variable_clips_are_refused(tiny_model):
    core = vs.core
    wide = core.std.BlankClip(format=vs.RGB24, width=SIZE * 2, height=SIZE, length=4)
    with pytest.raises(vs.Error, match="Restore: .*square aligned face crops"):
        core.stc.Restore(wide, model=tiny_model, faces="aligned")
    variable = core.std.Splice([wide, core.std.BlankClip(format=vs.RGB24, width=SIZE, height=SIZE, length=4)],
                               mismatch=True)
    with pytest.raises(vs.Error, match="Restore: 'clip' has a variable frame size"):
        core.stc.Restore(variable, model=tiny_model, faces="aligned")


@pytest.mark.parametrize("fmt", [vs.RGB24, vs.RGB48, vs.RGBS, vs.RGBH, vs.YUV444P10, vs.YUV420P8])
def test_output_keeps_format_length_rate_and_props(tiny_model, fmt):
    from vs_test_clips import moving

    source = vs.core.std.SetFrameProps(moving(vs.core, 2 * SIZE, 8, fmt), Custom=7)
    out = vs.core.stc.Restore(source, model=tiny_model, faces="aligned", window=4, overlap=2)
    assert (out.format.id, out.width, out.height, out.num_frames, out.fps) == (
        source.format.id, source.width, source.height, source.num_frames, source.fps)
    frame = out.get_frame(3)
    props = dict(frame.props)
    assert props["Custom"] == 7 and props["STCWindow"] == 4 and props["STCOverlap"] == 2
    assert props["STCPrecision"] == "fp32" and props["STCModel"] == tiny_model
    assert frame_bytes(frame) != frame_bytes(source.get_frame(3))


def test_models_run_at_their_own_window_unless_told_otherwise(tiny_model, tmp_path):
    from vs_stc.weights import bundled_path, model_defaults

    clip = vs.core.std.BlankClip(format=vs.RGB24, width=SIZE, height=SIZE, length=8)
    props = vs.core.stc.Restore(clip, model=tiny_model, faces="aligned").get_frame(0).props
    assert (props["STCWindow"], props["STCOverlap"]) == (4, 2)  # what the tiny models were trained on
    props = vs.core.stc.Restore(clip, model=tiny_model, faces="aligned", window=6).get_frame(0).props
    assert (props["STCWindow"], props["STCOverlap"]) == (6, 2)
    # the file carries its defaults: the same file by path behaves as by name
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(bundled_path(tiny_model).read_bytes())
    props = vs.core.stc.Restore(clip, model=str(copy), faces="aligned").get_frame(0).props
    assert (props["STCWindow"], props["STCOverlap"], props["STCKeepColours"]) == (4, 2, 1)
    assert (model_defaults("bfvr").window, model_defaults("bfvr").overlap) == (24, 8)


def test_keep_detail_keeps_the_input_detail(bundled_deflicker):
    from vs_test_clips import moving

    source = moving(vs.core, 2 * SIZE, 8, vs.RGBS)
    arguments = dict(model=bundled_deflicker, faces="aligned", window=4, overlap=2)
    plain = vs.core.stc.Deflicker(source, keep_detail=False, **arguments)
    kept = vs.core.stc.Deflicker(source, **arguments)  # the model's preference
    source_plane, plain_plane, kept_plane = (np.asarray(c.get_frame(3)[0]).ravel() for c in (source, plain, kept))
    assert kept.get_frame(3).props["STCKeepDetail"] == 1 and plain.get_frame(3).props["STCKeepDetail"] == 0
    # the input scaled by one gain: every pixel's detail kept, unlike the re-rendered frame
    kept_match, plain_match = (np.corrcoef(p, source_plane)[0, 1] for p in (kept_plane, plain_plane))
    assert kept_match > 0.99 and kept_match > plain_match


def test_every_yuv_frame_is_read_with_its_own_matrix_and_range():
    """The colour rule per frame: its _Matrix and _Range, and for an untagged 32 x 32 frame BT.601;
    the RGB face mode and aligned mode read equals zimg's conversion with that matrix and range."""
    from vs_stc.vapoursynth_plugin.node import picture_of

    from vs_test_clips import moving_rgb

    core = vs.core
    rgb = moving_rgb(core, 32, 6)
    parts = [core.resize.Bicubic(rgb[0:2], format=vs.YUV444P16, matrix_s="709"),
             core.resize.Bicubic(rgb[2:4], format=vs.YUV444P16, matrix_s="170m", range_s="full"),
             core.std.SetFrameProps(core.resize.Bicubic(rgb[4:6], format=vs.YUV444P16, matrix_s="170m"), _Matrix=2)]
    expected = [(1, False, False), (6, True, False), (6, False, True)]  # matrix, full range, assumed
    for n, frame in enumerate((parts[0] + parts[1] + parts[2]).frames()):
        matrix, full, assumed = expected[n // 2]
        layout = picture_of(frame).layout
        assert (layout.matrix, layout.full_range, layout.assumed_matrix) == (matrix, full, assumed), n
        zimg = core.resize.Point(parts[n // 2][n % 2], format=vs.RGBS, matrix_in=matrix,
                                 range_in_s="full" if full else "limited").get_frame(0)
        want = np.stack([np.asarray(zimg[p]) for p in range(3)], axis=-1).clip(0, 1)
        assert np.abs(picture_of(frame).rgb() - want).max() < 1e-4, n


def test_building_on_a_long_clip_asks_for_no_frame_and_a_frame_only_for_its_neighbours(tiny_model):
    from vs_test_clips import counted_blank

    core = vs.core
    source, requested = counted_blank(core, vs.YUV420P8, SIZE, SIZE, 10_000)
    for clip in (core.stc.Restore(source, model=tiny_model, faces="aligned"),
                 vs_stc.restore(source, model=tiny_model, faces="aligned", window=6)):
        assert clip.num_frames == 10_000
    assert requested == []
    clip = core.stc.Restore(source, model=tiny_model, faces="aligned", window=6, overlap=2)
    frame = clip.get_frame(5_000)
    assert frame.props["STCAssumedMatrix"] == 1 and frame.props["_Matrix"] == 6  # untagged, below HD: BT.601
    # 2 * window - overlap back and window ahead, and the cut detector's two more back and one more ahead
    assert set(requested) <= set(range(5_000 - 12, 5_000 + 7 + 1))


@pytest.mark.parametrize("prop", ["_SceneChangePrev", "_SceneChangeNext"])
def test_a_cut_on_the_window_grid_splits_the_clip_into_two_clips(tiny_model, prop):
    from vs_test_clips import moving

    core = vs.core
    source = moving(core, SIZE, 14)
    marked_frame = 6 if prop == "_SceneChangePrev" else 5
    marked = (source[:marked_frame] + core.std.SetFrameProps(source[marked_frame], **{prop: 1})
              + source[marked_frame + 1:])
    whole = core.stc.Restore(marked, model=tiny_model, faces="aligned", window=4, overlap=2)  # the grid: every 2 frames
    parts = [core.stc.Restore(part, model=tiny_model, faces="aligned", window=4, overlap=2)
             for part in (source[:6], source[6:])]
    expected = [frame_bytes(f) for part in parts for f in part.frames()]
    assert [frame_bytes(f) for f in whole.frames()] == expected


def test_out_of_order_requests_from_many_threads_match_a_sequential_pass(tiny_model):
    from vs_test_clips import moving

    core = vs.core
    source = moving(core, SIZE, LENGTH)
    restored = core.stc.Restore(source, model=tiny_model, faces="aligned", window=6, overlap=2)
    sequential = [frame_bytes(f) for f in restored.frames()]
    old_threads = core.num_threads
    core.num_threads = 4
    try:
        clip = core.stc.Restore(source, model=tiny_model, faces="aligned", window=6, overlap=2)
        order = list(range(LENGTH))
        random.Random(3).shuffle(order)
        futures = [(n, clip.get_frame_async(n)) for n in order]
        for n, future in futures:
            assert frame_bytes(future.result()) == sequential[n], n
    finally:
        core.num_threads = old_threads


def test_windows_never_cross_scene_changes(tiny_model):
    from vs_test_clips import moving

    core = vs.core
    source = moving(core, SIZE, 12)
    unmarked = core.std.SetFrameProps(source, _SceneChangePrev=0)
    marked = unmarked[:5] + core.std.SetFrameProps(unmarked[5], _SceneChangePrev=1) + unmarked[6:]
    out = core.stc.Restore(marked, model=tiny_model, faces="aligned", window=4, overlap=2)
    expected = plan(12, 4, 2, cuts=[5])
    for n in range(12):
        starts = out.get_frame(n).props["STCWindows"]
        starts = list(starts) if isinstance(starts, (list, tuple)) else [starts]
        assert starts == [expected.windows[c.window].start for c in expected.contributions(n)]
        assert all((s < 5) == (n < 5) for s in starts)


def test_the_readme_script_runs_verbatim_on_a_real_file(tmp_path):
    """The README's .vpy, as written there, through vspipe: BestSource reads a face clip from disk."""
    import av

    from face_clips import face_clip
    from media import write_yuv420

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## VapourSynth"):]
    block = section[section.index("```python\n") + len("```python\n"):]
    script = tmp_path / "script.vpy"
    script.write_text(block[:block.index("```")])
    frames = face_clip().frames[:24]
    write_yuv420(tmp_path / "talk.mkv", frames, "ffv1")
    result = subprocess.run([str(VSPIPE), str(script), "-c", "y4m", str(tmp_path / "out.y4m")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    with av.open(str(tmp_path / "talk.mkv")) as source, av.open(str(tmp_path / "out.y4m")) as output:
        before = [f.to_ndarray() for f in source.decode(video=0)]
        after = [f.to_ndarray() for f in output.decode(video=0)]
    assert len(after) == len(before) == 24
    changed = [np.mean(a != b) for a, b in zip(after, before)]
    assert all(0 < c < 0.5 for c in changed)  # the faces restored, most of the frame as it was
