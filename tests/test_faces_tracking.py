"""Tracking and the face-mode analysis of a block: stable ids, every face its own track, tracks
end at cuts and after losses longer than ``max_gap``, short losses bridged, false detections
dropped, small faces left alone and counted, fades where a face comes and goes inside a shot."""

from __future__ import annotations

import numpy as np
import pytest
from face_clips import CUTS, PORTRAITS, face_clip

from vs_stc.faces import MAX_GAP, Face, analyse, analyse_detections, block_margin, track_crops, track_faces
from vs_stc.faces.restoring import track_plan
from vs_stc.faces.smoothing import reach


@pytest.fixture(scope="module")
def analysis(fixture_clip_faces):
    return analyse_detections(fixture_clip_faces, cuts=face_clip().cuts)


def face_at(centre, size=100.0, score=0.99) -> Face:
    """A synthetic detection: the template's landmark layout at ``centre``, ``size`` px box."""
    shape = PORTRAITS["hopper"][0] - PORTRAITS["hopper"][0].mean(0)
    shape = shape / (PORTRAITS["hopper"][1][2] - PORTRAITS["hopper"][1][0]) * size
    c = np.asarray(centre, float)
    return Face(np.r_[c - size / 2, c + size / 2], shape + c, score)


def test_fixture_tracks(analysis):
    clip = face_clip()
    tracks = analysis.tracks
    assert len(tracks) == 3 and analysis.spurious == 0 and analysis.small_faces == 0
    astronaut, hopper, cameraman = tracks
    assert astronaut.frames == range(0, CUTS[0]) and astronaut.track.closes == "cut"  # ends at the cut
    assert 4 <= hopper.start <= 8 and 17 <= hopper.stop <= 22 and hopper.id != astronaut.id  # its own track
    assert hopper.track.opens == "appears" and hopper.track.closes == "lost"
    assert cameraman.frames == range(CUTS[0], CUTS[1]) and cameraman.track.opens == "cut"
    assert len({t.id for t in tracks}) == 3
    for track in tracks:  # ids stable: the track follows the same true face in every frame
        names = set()
        for n in track.frames:
            centre = track.landmarks[n - track.start].mean(0)
            nearest = min(clip.truth[n], key=lambda t: np.linalg.norm(t.landmarks.mean(0) - centre))
            assert np.linalg.norm(nearest.landmarks.mean(0) - centre) < 0.2 * nearest.height
            names.add(nearest.name)
        assert len(names) == 1
    assert analysis.at(34) == [] and analysis.at(35) == []
    assert {t.id for t in analysis.at(12)} == {astronaut.id, hopper.id}


def test_analyse_detects_and_analyses_in_one_call(analysis, mobile_detector):
    """The package's one-call entry (detection with second looks, then analysis) gives the tracks
    the two steps give."""
    whole = analyse(face_clip().frames, mobile_detector, cuts=face_clip().cuts)
    assert whole.detector == "retinaface-mobile"
    assert [(t.id, t.start, t.stop) for t in whole.tracks] == [(t.id, t.start, t.stop) for t in analysis.tracks]
    for ours, theirs in zip(whole.tracks, analysis.tracks):
        np.testing.assert_array_equal(ours.landmarks, theirs.landmarks)


def test_fades_where_a_face_comes_and_goes_inside_a_shot(analysis):
    astronaut, hopper, cameraman = analysis.tracks
    assert (astronaut.weights == 1).all() and (cameraman.weights == 1).all()  # cut and clip edge: no fade
    assert hopper.weights[0] < 0.5 and hopper.weights[-1] < 0.5 and hopper.weights.max() == 1
    assert (np.diff(hopper.weights[:4]) > 0).all()


def test_crops_for_the_engine_and_pastes(analysis):
    clip = face_clip()
    astronaut = analysis.tracks[0]
    crops = track_crops(astronaut, lambda n: clip.frames[n])
    assert len(crops) == len(astronaut) and crops[0].shape == (512, 512, 3) and crops[0].dtype == np.uint8
    pastes = analysis.pastes(12, {astronaut.id: crops[12]})
    assert len(pastes) == 1 and pastes[0].alignment is astronaut.alignment(12)
    # the smoothed crops hold the face still: the true landmarks barely move inside them
    in_crop = np.stack([astronaut.alignment(n).to_crop(clip.truth[n][0].landmarks) for n in astronaut.frames])
    assert np.sqrt((np.diff(in_crop, axis=0) ** 2).sum(-1).mean()) < 4.0  # px at 512, over 30 degrees of roll


def synthetic(length, where):
    """Frames of detections: ``where(n)`` -> list of centres (or sizes) in frame n."""
    return [[face_at(*spec) for spec in where(n)] for n in range(length)]


def test_short_losses_bridged_long_ones_end_the_track():
    def path(n):
        return (100 + 5 * n, 120)

    gap = MAX_GAP
    bridged = synthetic(30, lambda n: [] if 10 <= n < 10 + gap else [(path(n),)])
    tracks, _ = track_faces(bridged)
    assert len(tracks) == 1 and not tracks[0].observed[10:10 + gap].any() and len(tracks[0]) == 30
    np.testing.assert_allclose(tracks[0].landmarks[12].mean(0), path(12), atol=1e-6)  # interpolated
    lost = synthetic(30, lambda n: [] if 10 <= n < 11 + gap else [(path(n),)])
    tracks, _ = track_faces(lost)
    assert len(tracks) == 2 and tracks[0].closes == "lost" and tracks[1].opens == "appears"


def test_faces_crossing_keep_their_ids():
    def two(n):  # two faces passing each other, 30 px apart vertically, 8 px per frame each
        return [((100 + 8 * n, 150),), ((340 - 8 * n, 180),)]

    tracks, _ = track_faces(synthetic(30, two))
    assert len(tracks) == 2
    a, b = sorted(tracks, key=lambda t: t.landmarks[0, 0, 0])
    assert (np.diff(a.landmarks[:, 2, 0]) > 0).all() and (np.diff(b.landmarks[:, 2, 0]) < 0).all()


def test_cut_ends_tracks_even_when_the_face_stays():
    tracks, _ = track_faces(synthetic(20, lambda n: [((200, 150),)]), cuts=[8])
    assert [(t.start, t.stop, t.opens, t.closes) for t in tracks] == [(0, 8, "edge", "cut"), (8, 20, "cut", "edge")]


def test_fleeting_detections_are_dropped_and_counted():
    def flicker(n):
        return [((200, 150),)] + ([((400, 100), 60)] if n in (5, 6) else [])

    tracks, spurious = track_faces(synthetic(20, flicker))
    assert len(tracks) == 1 and spurious == 2


def test_small_faces_left_alone_and_counted():
    faces = synthetic(20, lambda n: [((200, 150), 100.0), ((400, 100), 20.0)])  # crops of ~200 and ~40 px
    analysis = analyse_detections(faces)
    assert len(analysis.tracks) == 1 and analysis.small_faces == 20
    assert analysis.tracks[0].alignment(0).face_size > 64
    assert analyse_detections(faces, min_face=1000).tracks == ()
    assert analyse_detections(faces, min_face=0).small_faces == 0


def test_a_face_growing_past_min_face_fades_in():
    faces = synthetic(30, lambda n: [((240, 150), 20 + 2 * n)])  # box 20 -> 78 px
    track = analyse_detections(faces).tracks[0]
    sizes = np.array([a.face_size for a in track.alignments])
    shown = track.weights > 0  # the track opens at the clip's first frame, small: weight 0 there
    assert (sizes[shown] >= 64).all() and (sizes[~shown] < 64).all() and track.weights[shown][0] < 0.1
    assert track.weights[-1] == 1 and (np.diff(track.weights) >= 0).all()


def test_block_margin_makes_a_block_come_out_as_the_whole_shot():
    """A surface analyses frames [40, 80) of a long shot with ``block_margin()`` frames of context
    on each side: the same alignments there as analysing all 160 frames."""
    rng = np.random.default_rng(5)
    faces = []
    for n in range(160):
        face = face_at((200 + 60 * np.sin(n / 7), 150 + 2 * n / 3), 100)
        jitter = rng.normal(0, 1.5, (5, 2))
        if n == 61:
            jitter += 25  # a wrong detection: the robust pass must treat it alike in both
        faces.append([] if 70 <= n < 73 else [Face(face.box, face.landmarks + jitter, face.score)])
    whole = analyse_detections(faces)
    margin = block_margin()
    lo, hi = 40 - margin, 80 + margin
    block = analyse_detections(faces[lo:hi], start=lo)
    a, b = whole.tracks[0], block.tracks[0]
    for n in range(40, 80):
        np.testing.assert_allclose(a.alignment(n).matrix, b.alignment(n).matrix, rtol=0, atol=1e-9)
        assert a.weight(n) == b.weight(n)
    near = 40 - (reach() - 1)  # one frame less than the smoothing's reach: frame 40 comes out differently
    short = analyse_detections(faces[near:hi], start=near).tracks[0]
    assert not np.allclose(a.alignment(40).matrix, short.alignment(40).matrix, rtol=0, atol=1e-9)


def test_a_block_plans_a_track_s_windows_as_one_pass_where_the_face_was_small_at_its_edge():
    """A face large, then below min_face from before the block's context until frame 60 or so, then
    large again: the block must not take that frame for the track's start, or its model windows
    there would not be one pass's."""
    size = np.interp(np.arange(160), [0, 10, 20, 60, 70, 160], [100, 100, 20, 20, 100, 100])
    faces = synthetic(160, lambda n: [((240, 150 + n / 4), size[n])])
    [whole] = analyse_detections(faces).tracks
    assert whole.start == 0 and whole.weight(40) == 0 and whole.weight(75) == 1
    margin = block_margin()
    lo, hi = 60 - margin, 100 + margin
    assert lo > 20  # the face is small throughout the block's context before frame 60
    [block] = analyse_detections(faces[lo:hi], start=lo).tracks
    window, overlap = 24, 8  # the released models'
    plans = [track_plan(t.start, t.stop, window, overlap) for t in (whole, block)]
    for n in range(60, 100):
        assert whole.weight(n) == (block.weight(n) if n in block.frames else 0)
        if whole.weight(n) > 0:
            used = [[(plan.windows[c.window].start, c.weight) for c in plan.contributions(n)] for plan in plans]
            assert used[0] == used[1], n
