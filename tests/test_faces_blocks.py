"""Face mode works in blocks (bounded memory, random access in VapourSynth), and the blocks leave
no seam: whatever the block size, every frame is the one a single pass over the clip makes."""

from __future__ import annotations

import numpy as np
import pytest

from face_clips import face_clip
from vs_stc.engine import SampleFormat
from vs_stc.faces import load_detector
from vs_stc.faces.stream import FaceStreamRestorer
from vs_stc.loading import load_model
from vs_stc.options import resolve

FRAMES = 24  # the first shot: one face moving and turning, a second one entering and leaving


@pytest.fixture(scope="module")
def render():
    clip = face_clip().frames[:FRAMES]
    options = resolve("restore", model="tiny-bfvr", faces="auto", detector="retinaface-mobile")
    network = load_model(options.model)
    detector, reason = load_detector(options.detector, options.device)

    def frames_with_block(block: int) -> list[np.ndarray]:
        restorer = FaceStreamRestorer(network, options.engine_options(), detector, reason, block=block)
        planes = ([frame[..., c] for c in range(3)] for frame in clip)
        return [frame.rgb for frame in restorer(planes, SampleFormat.of(np.uint8))]

    return clip, frames_with_block


def test_any_block_size_gives_the_frames_of_one_pass(render):
    clip, frames_with_block = render
    one_pass = frames_with_block(FRAMES)
    assert sum(not np.array_equal(out, source) for out, source in zip(one_pass, clip)) >= FRAMES - 2
    blocked = frames_with_block(5)  # boundaries inside both faces' tracks and inside window handovers
    different = [n for n in range(FRAMES) if not np.array_equal(blocked[n], one_pass[n])]
    assert different == [], f"frames {different} differ from one pass"
