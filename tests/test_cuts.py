"""The built-in scene-cut detector: the cuts of footage made to fool it (cut_clips.py), found the
same way by a stream and by random access in any order."""

from __future__ import annotations

import av
import numpy as np
import pytest

from cut_clips import cases
from face_clips import face_clip
from vs_stc.av_frames import frame_thumbnail
from vs_stc.cuts import RandomAccessCuts, StreamCuts, rgb_luma, thumbnail

CASES = cases()


def thumbnails(frames: np.ndarray) -> list[np.ndarray]:
    return [thumbnail(rgb_luma(f[..., 0], f[..., 1], f[..., 2]), 255) for f in frames]


def streamed(frames: np.ndarray) -> set[int]:
    cuts = StreamCuts()
    given = list(range(len(frames)))
    assert list(cuts.follow(zip(given, thumbnails(frames)))) == given  # every frame once, in order
    return cuts.cuts


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_cuts_are_found_and_flashes_pans_fades_and_noise_are_not(case):
    assert streamed(case.frames) == set(case.cuts)


@pytest.mark.parametrize("case", CASES[:2] + CASES[5:6], ids=lambda case: case.name)
def test_random_access_in_any_order_finds_the_stream_s_cuts(case):
    thumbs = thumbnails(case.frames)
    asked = []
    detector = RandomAccessCuts(len(thumbs), kept=8)  # a small memory: thumbnails are made again

    def thumbnail_of(i: int) -> np.ndarray:
        asked.append(i)
        return thumbs[i]

    order = np.random.default_rng(0).permutation(len(thumbs))
    found = {int(n) for n in order if detector.starts_shot(int(n), thumbnail_of)}
    assert found == streamed(case.frames)
    assert min(asked) >= 0 and max(asked) < len(thumbs)


def test_the_face_fixture_s_cuts_are_found():
    assert streamed(face_clip().frames) == set(face_clip().cuts)


def test_a_clip_of_one_or_two_frames_has_no_cut():
    frames = CASES[0].frames
    assert streamed(frames[19:20]) == set() and streamed(frames[18:20]) == set()
    assert streamed(frames[19:21]) == {1}  # the cut is frame 20 of the case, frame 1 here


def test_a_thumbnail_of_integer_samples_is_that_of_the_same_samples_as_floats():
    rng = np.random.default_rng(4)
    for dtype, peak in ((np.uint8, 255), (np.uint16, 1023)):
        luma = rng.integers(0, peak + 1, (1080, 1920)).astype(dtype)
        assert np.array_equal(thumbnail(luma, peak), thumbnail(luma.astype(np.float64), peak))


@pytest.mark.parametrize("stored", ["p010le", "p012le", "p210le", "p410le", "nv12", "yuv444p16le"])
def test_a_frame_s_thumbnail_does_not_depend_on_how_its_samples_are_stored(stored):
    """p010 and its kin keep their samples at the top of 16-bit words: read as they lie, their
    luma was 64 times too bright and the detector 64 times too touchy (pipe and batch only)."""
    picture = face_clip().frames[0]
    rgb = av.VideoFrame.from_ndarray(picture, format="rgb24")
    reference = frame_thumbnail(rgb.reformat(format="yuv420p10le"))
    assert np.abs(frame_thumbnail(rgb.reformat(format=stored)) - reference).max() < 0.01
