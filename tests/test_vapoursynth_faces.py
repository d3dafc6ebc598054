"""core.stc.Restore(clip, faces="auto"): whole frames in, faces found, restored and pasted back,
everything else bit-identical; random access, any order and thread count give the same frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import vapoursynth as vs

from face_clips import HEIGHT, LENGTH, WIDTH, face_clip
from vs_stc.media.video_io import write_video

ARGS = dict(model="tiny-bfvr", window=4, overlap=2, faces="auto")


@pytest.fixture(scope="module")
def tiny_model(bundled_bfvr) -> str:
    return bundled_bfvr


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory) -> Path:
    """The face fixture (480 x 270, 36 frames, cuts at 24 and 34) in a lossless RGB file."""
    path = tmp_path_factory.mktemp("vs-faces") / "clip.mkv"
    write_video(face_clip().frames, path)
    return path


def fixture_clip(path: Path) -> vs.VideoNode:
    """``path`` read through BestSource, as a user's script reads it (cachemode 0: no index file
    written), its cuts marked the way a scene-change plugin marks them."""
    def mark(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        out.props["_SceneChangePrev"] = int(n in face_clip().cuts)
        return out

    source = vs.core.bs.VideoSource(str(path), cachemode=0)
    return vs.core.std.ModifyFrame(source, source, mark)


def planes(frame: vs.VideoFrame) -> list[np.ndarray]:
    return [np.array(frame[p]) for p in range(frame.format.num_planes)]


def far_from_faces(n: int) -> np.ndarray:
    """(H, W) True where no true face of frame n could be pasted: beyond 3.5 face sizes of its
    landmarks' centre."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    far = np.ones((HEIGHT, WIDTH), bool)
    for face in face_clip().truth[n]:
        cx, cy = face.landmarks.mean(axis=0)
        radius = 3.5 * max(face.eye_distance, face.height)
        far &= (x - cx) ** 2 + (y - cy) ** 2 > radius**2
    return far


@pytest.fixture(scope="module")
def sequential(tiny_model, fixture_file) -> list[vs.VideoFrame]:
    """Every frame of the RGB clip, in order, one thread."""
    core = vs.core
    old = core.num_threads
    core.num_threads = 1
    try:
        return list(core.stc.Restore(fixture_clip(fixture_file), **ARGS).frames())
    finally:
        core.num_threads = old


def test_faces_are_restored_and_everything_else_is_the_input(sequential):
    clip = face_clip()
    for n, frame in enumerate(sequential):
        out = np.stack(planes(frame), axis=-1)
        source = clip.frames[n]
        changed = (out != source).any(axis=2)
        assert not (changed & far_from_faces(n)).any(), n
        if clip.truth[n]:
            assert changed.sum() > 2000, n  # a face is a few thousand pixels here
            assert frame.props["STCFaces"] >= 1
        else:
            assert not changed.any(), n
            assert frame.props["STCFaces"] == 0
    faces = [sequential[n].props["STCFaces"] for n in range(LENGTH)]
    assert max(faces) == 2 and faces[34:] == [0, 0]  # astronaut and Grace Hopper together
    props = sequential[0].props
    assert props["STCModel"] == "tiny-bfvr" and props["STCWindow"] == 4 and props["STCOverlap"] == 2
    assert props["_SceneChangePrev"] == 0


def test_reverse_order_and_two_threads_give_the_same_frames(sequential, fixture_file):
    core = vs.core
    old = core.num_threads
    core.num_threads = 2
    try:
        clip = core.stc.Restore(fixture_clip(fixture_file), **ARGS)
        futures = [(n, clip.get_frame_async(n)) for n in reversed(range(LENGTH))]
        for n, future in futures:
            frame = future.result()
            assert all(np.array_equal(a, b) for a, b in zip(planes(frame), planes(sequential[n]))), n
            assert frame.props["STCFaces"] == sequential[n].props["STCFaces"], n
    finally:
        core.num_threads = old


def test_yuv_keeps_its_samples_outside_the_faces(tiny_model, fixture_file):
    core = vs.core
    source = core.resize.Bicubic(fixture_clip(fixture_file), format=vs.YUV420P8, matrix_s="709")
    out = core.stc.Restore(source, **ARGS)
    assert (out.format.id, out.num_frames) == (vs.YUV420P8, LENGTH)
    for n in (0, 10, 30, 35):
        got, want = planes(out.get_frame(n)), planes(source.get_frame(n))
        far = far_from_faces(n)
        far_chroma = far.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).all(axis=(1, 3))
        for p in range(3):
            mask = far if p == 0 else far_chroma
            assert np.array_equal(got[p][mask], want[p][mask]), (n, p)
        if n == 35:
            assert all(np.array_equal(a, b) for a, b in zip(got, want))
        else:
            assert (got[0] != want[0]).sum() > 2000, n
            # the restored face is a plausible picture of the input face, not noise
            diff = np.abs(got[0].astype(int) - want[0].astype(int))
            assert diff[~far].mean() < 40, n


def test_building_on_a_long_clip_renders_nothing_and_a_frame_reads_only_its_block(tiny_model):
    from vs_stc.faces.restoring import block_context

    from vs_test_clips import counted_blank

    core = vs.core
    source, requested = counted_blank(core, vs.RGB24, WIDTH, HEIGHT, 10_000)
    clip = core.stc.Restore(source, **ARGS)
    assert clip.num_frames == 10_000
    assert requested == []
    frame = clip.get_frame(5_000)
    assert frame.props["STCFaces"] == 0
    black = core.std.BlankClip(format=vs.RGB24, width=WIDTH, height=HEIGHT).get_frame(0)
    assert np.array_equal(np.asarray(frame[0]), np.asarray(black[0]))
    block = frame.props["STCBlock"]
    assert block == 8 * ARGS["window"]  # as the pipe and batch renders make them (stream.block_length)
    first = 5_000 // block * block
    before, after = block_context(ARGS["window"], ARGS["overlap"])
    # the block, its context, and the cut detector's two frames before and one after it
    assert set(requested) <= set(range(first - before - 2, first + block + after + 1))


@pytest.mark.slow  # 19 s; faces/restoring.py, which the blocks share, is checked by test_faces_blocks.py
def test_frames_across_a_block_boundary_are_those_of_one_block_in_any_order(sequential, fixture_file):
    """Blocks of 8 (the fixture spans two blocks of the real size): no seam, whatever the order."""
    from vs_stc.options import resolve
    from vs_stc.vapoursynth_plugin import faces_node
    from vs_stc.vapoursynth_plugin.api import _network

    core = vs.core
    options = resolve("restore", **ARGS)
    network = _network(options.network)
    source = fixture_clip(fixture_file)  # blocks of 8: frames 0-7 and 8-15 are the ones asked for
    wanted = range(6, 10)
    old = core.num_threads
    try:
        core.num_threads = 1
        once = faces_node.build(source, network, options, block=8)
        forward = {n: planes(once.get_frame(n)) for n in wanted}
        core.num_threads = 2
        clip = faces_node.build(source, network, options, block=8)
        futures = [(n, clip.get_frame_async(n)) for n in reversed(wanted)]
        for n, future in futures:
            assert all(np.array_equal(a, b) for a, b in zip(planes(future.result()), forward[n])), n
        for n in wanted:
            assert all(np.array_equal(a, b) for a, b in zip(forward[n], planes(sequential[n]))), n
    finally:
        core.num_threads = old


def test_each_frame_is_detected_once_whatever_the_blocks_and_threads(tiny_model, monkeypatch, fixture_file):
    """Two blocks over the fixture (32 frames and 4), each reading the other's frames as context, at
    the default thread count: VapourSynth's own cache alone detected 16 frames twice."""
    from vs_stc.vapoursynth_plugin import faces_node

    detected: list[int] = []
    detect = faces_node.detect_faces
    monkeypatch.setattr(faces_node, "detect_faces", lambda *args: detected.append(1) or detect(*args))
    clip = vs.core.stc.Restore(fixture_clip(fixture_file), **ARGS)
    assert clip.get_frame(0).props["STCBlock"] < LENGTH
    list(clip.frames())
    assert len(detected) == LENGTH
