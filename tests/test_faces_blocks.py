"""Face mode works in blocks (bounded memory, random access in VapourSynth) and in chunks (a
cluster's units), and neither leaves a seam: every frame is the one a single pass over the clip
makes, whatever the block size, as long as a chunk is given its context."""

from __future__ import annotations

import numpy as np
import pytest

from face_clips import face_clip
from vs_stc.colour import rgb_pictures
from vs_stc.errors import InputError
from vs_stc.faces.stream import BLOCK, HELD_BYTES, SHORTEST_BLOCK, FaceStreamRestorer, block_length
from vs_stc.loading import load_model
from vs_stc.options import resolve

SHOT = 24  # the fixture's first shot: one face moving and turning, a second one entering and leaving
CLIP = np.concatenate([face_clip().frames[:SHOT], face_clip().frames[SHOT - 1:SHOT - 17:-1]])  # there and back: 40


@pytest.fixture(scope="module")
def restorer(mobile_detector):
    def make(block: int) -> FaceStreamRestorer:
        options = resolve("restore", model="tiny-bfvr", faces="auto", detector="retinaface-mobile")
        return FaceStreamRestorer(load_model(options.model), options.engine_options(), mobile_detector,
                                  "retinaface-mobile", block=block)

    return make


def render(restorer: FaceStreamRestorer, first: int = 0, stop: int = len(CLIP), wanted: range | None = None):
    return [frame.rgb for frame in restorer(rgb_pictures(CLIP[first:stop]), first=first, wanted=wanted)]


@pytest.mark.slow
def test_blocks_and_chunks_give_the_frames_of_one_pass(restorer):
    one_pass = render(restorer(len(CLIP)))
    assert sum(not np.array_equal(out, source) for out, source in zip(one_pass, CLIP)) >= len(CLIP) - 2
    blocks = restorer(5)  # boundaries inside both faces' tracks and inside window handovers
    before, after = blocks.context()
    assert before < 36, "the last chunk should start after frame 0"
    chunked = []
    for start, stop in ((0, 18), (18, 36), (36, 40)):
        given = max(0, start - before), min(len(CLIP), stop + after)
        chunked += render(blocks, *given, wanted=range(start, stop))
    different = [n for n in range(len(CLIP)) if not np.array_equal(chunked[n], one_pass[n])]
    assert different == [], f"frames {different} differ from one pass"


def test_blocks_are_some_windows_long_and_shorten_for_large_frames():
    """Short windows make short blocks (little model work straddles their boundaries); frames so
    large that two blocks and their context outgrow HELD_BYTES make shorter ones, down to 8 frames
    or one window."""
    hd, four_k = 1920 * 1080 * 3 // 2, 3840 * 2160 * 3 // 2
    window, after = 4, 33  # the bundled models' window and analysis context
    assert block_length(hd, window, after) == 32
    assert block_length(hd, 24, after) == BLOCK  # a released model's window: the longest block
    assert block_length(four_k, window, after) < 32
    assert (2 * block_length(four_k, window, after) + window - 1 + after) * four_k <= HELD_BYTES
    assert block_length(10**10, window, after) == SHORTEST_BLOCK
    assert block_length(four_k, 24, 53) == 24  # a released model at 4K: never shorter than a window


def test_a_stretch_whose_input_ends_early_gives_what_arrived_and_names_the_rest(restorer):
    """A cluster's chunk of frames 10-29 whose file ends at frame 24: frames 10-23 come out, as one
    pass makes them, and the error names 24-29."""
    made = []
    with pytest.raises(InputError, match="the input ended at frame 24, before frames 24-29 of frames 10-29"):
        for frame in restorer(len(CLIP))(rgb_pictures(CLIP[:24]), wanted=range(10, 30)):
            made.append(frame.rgb)
    assert len(made) == 14
    assert sum(not np.array_equal(out, source) for out, source in zip(made, CLIP[10:24])) >= 12  # restored
