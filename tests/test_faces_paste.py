"""Alignment and paste-back on the fixture clips: round trip, untouched background, no seams,
sample types, faces at the frame edge, several faces, region-only work for YUV surfaces.

Measured on the fixture (480 x 270; faces of 164-201 px crops, 5 face-frames): an unchanged 512
crop pasted back differs from the frame by 0.5-1.3 levels on average over the face (99th
percentile 4-8), 3.4 over Grace Hopper's (glasses: the sharpest edges; 99th percentile 17); not
one pixel outside the masks changes. After pasting a "restored" crop (blurred, brighter, warmer),
the gradient the paste adds across the mask's edge averages 1.5-4.8 levels/px, below the image's
own gradients inside the face (7.5-11.6) and in the background around it (3.7-10.9); a square
pasted as it is adds 14-21 along its border.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from face_clips import face_clip

from vs_stc.faces import (Alignment, Paste, Rect, crop, crop_mask, paste, paste_region, source_region, template,
                          union_region)
from vs_stc.faces.pasteback import mask_at


@pytest.fixture(scope="module")
def clip():
    return face_clip()


def visible_faces(clip, frames=(3, 12, 20, 28)):
    for n in frames:
        for face in clip.truth[n]:
            if face.inside:
                yield n, face


def mask_in_frame(alignment: Alignment, shape) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    m = alignment.matrix
    return mask_at(m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2], alignment.size)


def gradient(image: np.ndarray) -> np.ndarray:
    luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0) / 8, cv2.Sobel(luma, cv2.CV_32F, 0, 1) / 8)


def restored_look(crop_: np.ndarray) -> np.ndarray:
    """Stands in for a restorer's output: smoother, brighter, warmer than the input crop."""
    out = cv2.GaussianBlur(crop_.astype(np.float32), (0, 0), 3) * np.array([1.15, 1.1, 1.0], np.float32) + 12
    return np.clip(out, 0, 255).astype(np.uint8)


def test_alignment_puts_landmarks_on_the_template(clip):
    for _, face in visible_faces(clip):
        for size in (512, 64):
            alignment = Alignment.of(face.landmarks, size)
            residual = np.linalg.norm(alignment.to_crop(face.landmarks) - template(size), axis=1)
            if face.name != "camera":  # frontal; the cameraman is half in profile
                assert residual.max() < 0.05 * size
            # least squares: no similarity fits better, facexlib's LMEDS fit included
            lmeds = cv2.estimateAffinePartial2D(face.landmarks, template(size), method=cv2.LMEDS)[0]
            theirs = np.linalg.norm(face.landmarks @ lmeds[:, :2].T + lmeds[:, 2] - template(size), axis=1)
            assert (residual**2).sum() <= (theirs**2).sum() + 1e-6
            np.testing.assert_allclose(alignment.to_frame(alignment.to_crop(face.landmarks)), face.landmarks, atol=1e-9)
            assert alignment.face_size == pytest.approx(size / alignment.scale)


def test_round_trip_close_to_the_frame_and_background_bit_identical(clip):
    means = []
    for n, face in visible_faces(clip):
        frame = clip.frames[n]
        alignment = Alignment.of(face.landmarks, 512)
        out = paste(frame, [Paste(crop(frame, alignment), alignment)])
        mask = mask_in_frame(alignment, frame.shape)
        assert np.array_equal(out[mask == 0], frame[mask == 0])
        difference = np.abs(out.astype(np.int16) - frame.astype(np.int16))[mask >= 1]
        means.append(difference.mean())
        assert difference.mean() < 4.0 and np.percentile(difference, 99) < 20
    assert np.median(means) < 1.5


def test_no_seam_after_pasting_a_changed_crop(clip):
    for n, face in visible_faces(clip):
        frame = clip.frames[n]
        alignment = Alignment.of(face.landmarks, 512)
        changed = restored_look(crop(frame, alignment))
        out = paste(frame, [Paste(changed, alignment)])
        mask = mask_in_frame(alignment, frame.shape)
        band, inside, outside = (mask > 0.02) & (mask < 0.98), mask >= 1, mask == 0
        around = outside & (cv2.dilate((mask > 0).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0)
        added = gradient(out.astype(np.float32) - frame.astype(np.float32))  # what the paste put there
        image = gradient(out)
        assert added[band].mean() <= image[inside].mean()
        assert added[band].mean() <= image[around].mean()
        # the same measure flags the complaint: a square pasted as it is
        square = cv2.warpAffine(changed.astype(np.float32), alignment.matrix, frame.shape[1::-1],
                                flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderValue=(-1, -1, -1))
        pasted = np.where(square >= 0, square, frame.astype(np.float32))
        footprint = (square[..., 0] >= 0).astype(np.uint8)
        border = (cv2.dilate(footprint, np.ones((3, 3))) > 0) & (cv2.erode(footprint, np.ones((3, 3))) == 0)
        assert gradient(pasted - frame.astype(np.float32))[border].mean() > 2 * added[band].mean()


def test_a_flat_change_fades_in_gently(clip):
    """A crop 20 levels brighter: the paste adds 20 x the mask's slope; nowhere a step."""
    n, face = next(visible_faces(clip))
    frame = clip.frames[n].astype(np.float32)
    alignment = Alignment.of(face.landmarks, 512)
    same = crop(frame, alignment)
    change = paste(frame, [Paste(same + 20, alignment)]) - paste(frame, [Paste(same, alignment)])
    assert change.max() == pytest.approx(20, abs=1e-3)
    assert gradient(change).max() < 2.0  # levels per pixel, where a square paste would step by 20


@pytest.mark.parametrize("dtype, peak", [(np.uint8, 255), (np.uint16, 65535), (np.uint16, 1023), (np.float32, 1.0),
                                         (np.float16, 1.0)])
def test_sample_types(clip, dtype, peak):
    n, face = next(visible_faces(clip))
    reference = clip.frames[n]
    scaled = reference.astype(np.float64) / 255 * peak
    frame = (np.rint(scaled) if np.dtype(dtype).kind == "u" else scaled).astype(dtype)
    alignment = Alignment.of(face.landmarks, 256)
    made = crop(frame, alignment)
    assert made.dtype == dtype and made.shape == (256, 256, 3)
    restored = restored_look(crop(reference, alignment)).astype(np.float32) / 255  # a model's float output
    out = paste(frame, [Paste(restored, alignment)], peak=peak if dtype == np.uint16 else None)
    expected = paste(reference, [Paste(restored, alignment)])
    assert out.dtype == dtype
    mask = mask_in_frame(alignment, frame.shape)
    assert np.array_equal(out[mask == 0], frame[mask == 0])
    np.testing.assert_allclose(out.astype(np.float64) / peak * 255, expected.astype(np.float64), atol=1.0)


def test_face_crossing_the_frame_edge(clip):
    # Grace Hopper half in view (frame 5: enters from the right) and a face pushed off the top
    frame = clip.frames[5]
    hopper = next(f for f in clip.truth[5] if f.name == "hopper")
    assert not hopper.inside
    for landmarks in (hopper.landmarks, clip.truth[12][0].landmarks - [0, 120]):
        alignment = Alignment.of(landmarks, 512)
        made = crop(frame, alignment)
        assert made.shape == (512, 512, 3)
        region = source_region(alignment, frame.shape[:2])
        assert region.x1 <= frame.shape[1] and region.y0 >= 0
        out = paste(frame, [Paste(restored_look(made), alignment)])
        mask = mask_in_frame(alignment, frame.shape)
        assert np.array_equal(out[mask == 0], frame[mask == 0]) and not np.array_equal(out, frame)


def test_several_faces_in_one_frame(clip):
    frame = clip.frames[12]
    faces = [f for f in clip.truth[12] if f.inside]
    assert len(faces) == 2
    pastes = [Paste(restored_look(crop(frame, a)), a) for a in (Alignment.of(f.landmarks, 512) for f in faces)]
    out = paste(frame, pastes)
    masks = [mask_in_frame(p.alignment, frame.shape) for p in pastes]
    untouched = (masks[0] == 0) & (masks[1] == 0)
    assert np.array_equal(out[untouched], frame[untouched])
    for mask in masks:
        assert np.abs(out[mask >= 1].astype(int) - frame[mask >= 1].astype(int)).mean() > 5
    alone = paste(paste(frame, pastes[:1]), pastes[1:])
    assert np.array_equal(out, alone) or np.array_equal(out, paste(paste(frame, pastes[1:]), pastes[:1]))


def test_region_only_work_matches_whole_frame(clip):
    """What a YUV surface does: convert only the union region, crop and paste there."""
    frame = clip.frames[12]
    alignments = [Alignment.of(f.landmarks, 512) for f in clip.truth[12] if f.inside]
    region = union_region(alignments, frame.shape[:2], multiple=2)
    assert region is not None and all(v % 2 == 0 for v in (region.x0, region.y0, region.x1, region.y1))
    for a in alignments:
        r = paste_region(a, frame.shape[:2])
        assert region.union(r) == region
        mask = mask_in_frame(a, frame.shape)
        outside = np.ones(frame.shape[:2], bool)
        outside[r.slices] = False
        assert (mask[outside] == 0).all()  # the region holds the whole mask
    pastes = [Paste(restored_look(crop(frame, a)), a) for a in alignments]
    whole = paste(frame, pastes)
    part = paste(frame[region.slices], pastes, origin=(region.x0, region.y0))
    assert np.array_equal(part, whole[region.slices])
    source = source_region(alignments[0], frame.shape[:2])
    from_part = crop(frame[source.slices], alignments[0], origin=(source.x0, source.y0), frame_size=frame.shape[:2])
    assert np.array_equal(from_part, crop(frame, alignments[0]))


def test_large_face_into_small_crop_is_antialiased():
    """A 4K-sized face (crop side ~1600 px) into a 512 crop: fine stripes must not alias into
    coarse ones."""
    y, x = np.mgrid[0:2000, 0:2000]
    stripes = ((x % 3 == 1) * 255).astype(np.uint8)  # period 3 px: beyond the crop's Nyquist (3.1 px per crop px)
    frame = np.repeat(stripes[..., None], 3, axis=2)
    landmarks = template(512) * (1600 / 512) + 200
    alignment = Alignment.of(landmarks, 512)
    made = crop(frame, alignment)
    assert made.std() < 15  # measured 9.1; warped without antialiasing: 96 (false stripes, full contrast)


def test_crop_mask_is_zero_at_the_crop_border_and_one_on_the_face():
    mask = crop_mask(512)
    assert mask[0].max() == mask[-1].max() == mask[:, 0].max() == mask[:, -1].max() == 0
    points = np.rint(template(512)).astype(int)
    assert (mask[points[:, 1], points[:, 0]] == 1).all()


def test_rect_helpers():
    r = Rect.around(np.array([[3.2, 4.7], [10.0, 8.1]]), margin=1)
    assert r == Rect(2, 3, 12, 11)
    assert r.aligned(4, 100, 100) == Rect(0, 0, 12, 12)
    assert r.clipped(5, 5) == Rect(2, 3, 5, 5) and Rect(5, 5, 5, 9).is_empty
