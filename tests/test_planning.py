"""Window planning properties, for any clip length, window, overlap and scene cuts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vs_stc.engine.planning import cut_span, plan, plan_around, reflect, shot_bounds


@st.composite
def clips(draw):
    length = draw(st.integers(1, 200))
    window = 2 * draw(st.integers(1, 16))
    overlap = 2 * draw(st.integers(0, window // 2 - 1))
    cuts = draw(st.lists(st.integers(0, length), max_size=6))
    return length, window, overlap, cuts


@settings(max_examples=300, deadline=None)
@given(clips())
def test_every_frame_is_covered_once_with_weights_summing_to_one(clip):
    length, window, overlap, cuts = clip
    p = plan(length, window, overlap, cuts)
    for frame in range(length):
        contributions = p.contributions(frame)
        assert contributions, frame
        assert abs(sum(c.weight for c in contributions) - 1.0) < 1e-12
        assert 1 <= len(contributions) <= 2
        assert all(0 < c.weight <= 1 for c in contributions)
        for c in contributions:
            assert p.windows[c.window].frames[c.offset] == frame


def shot_of(frame, length, cuts):
    return next((s, e) for s, e in shot_bounds(length, cuts) if s <= frame < e)


@settings(max_examples=300, deadline=None)
@given(clips())
def test_windows_stay_inside_their_shot_and_pad_only_short_shots_by_reflection(clip):
    length, window, overlap, cuts = clip
    p = plan(length, window, overlap, cuts)
    stride = window - overlap
    for w in p.windows:
        shot_start, shot_end = shot_of(w.start, length, cuts)
        assert len(w.frames) == window
        assert w.opens_shot == (w.start == shot_start)
        assert all(shot_start <= f < shot_end for f in w.frames)  # never crosses a cut
        shot_length = shot_end - shot_start
        if shot_length >= window:
            assert w.frames == tuple(range(w.start, w.start + window))  # real frames only
            # on the clip's grid, or the shot's first or last window
            assert w.start % stride == 0 or w.start == shot_start or w.end == shot_end
        else:
            assert w.start == shot_start
            assert w.frames[:shot_length] == tuple(range(shot_start, shot_end))
            assert w.frames[shot_length] == (shot_end - 2 if shot_length > 1 else shot_start)


@settings(max_examples=300, deadline=None)
@given(clips())
def test_planning_around_a_frame_asks_only_about_nearby_cuts_and_matches_the_whole_plan(clip):
    length, window, overlap, cuts = clip
    whole = plan(length, window, overlap, cuts)
    cut_set = set(cuts)
    for frame in range(length):
        first, last = cut_span(frame, window, overlap)
        asked = []

        def is_cut(f):
            asked.append(f)
            return f in cut_set

        local = plan_around(frame, length, window, overlap, is_cut)
        assert all(max(first, 1) <= f <= min(last, length - 1) for f in asked)
        got = [(local.windows[c.window], c.offset, c.weight) for c in local.contributions(frame)]
        want = [(whole.windows[c.window], c.offset, c.weight) for c in whole.contributions(frame)]
        assert got == want, frame


def test_windows_stay_on_the_grid_after_a_cut():
    p = plan(60, window=24, overlap=8, cuts=[5])
    assert [(w.start, w.opens_shot) for w in p.windows] == [(0, True), (5, True), (16, False), (32, False), (36, False)]
    assert p.windows[0].frames == (0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1)


@settings(max_examples=200, deadline=None)
@given(clips())
def test_crossfade_ramps_are_monotonic(clip):
    length, window, overlap, cuts = clip
    p = plan(length, window, overlap, cuts)
    for frame in range(length):
        for c in p.contributions(frame):
            # A window's weight rises, holds at 1, then falls: never rises again after falling.
            w = p.windows[c.window]
            weights = [next((d.weight for d in p.contributions(f) if d.window == c.window), 0.0)
                       for f in range(w.start, w.end)]
            peak = weights.index(max(weights))
            assert weights[: peak + 1] == sorted(weights[: peak + 1])
            assert weights[peak:] == sorted(weights[peak:], reverse=True)


def test_no_overlap_means_hard_cuts():
    p = plan(48, window=24, overlap=0)
    assert [w.start for w in p.windows] == [0, 24]
    assert all(len(p.contributions(f)) == 1 for f in range(48))


def test_default_plan_of_a_hundred_frames():
    p = plan(100)
    assert [w.start for w in p.windows] == [0, 16, 32, 48, 64, 76]
    weights = [c.weight for c in p.contributions(17)]
    assert len(weights) == 2 and weights[0] > weights[1]  # frame 17 is early in the 16..24 overlap


def test_single_frame_clip():
    p = plan(1)
    assert p.windows[0].frames == (0,) * 24
    assert [(c.window, c.offset, c.weight) for c in p.contributions(0)] == [(0, 0, 1.0)]


def test_reflection_index():
    assert [reflect(i, 4) for i in range(10)] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]


@pytest.mark.parametrize(("window", "overlap"), [(23, 0), (24, 24), (24, 3), (0, 0)])
def test_bad_window_arguments_are_refused(window, overlap):
    with pytest.raises(ValueError):
        plan(10, window, overlap)
