"""Which detections are faces. A face detector also fires on things that only look like one:
RetinaFace-MobileNet scores an upside-down cat photo 0.99, the moon's craters 0.99 and a car's
headlight 0.89 when they are enlarged (benchmarks/not_faces.py measures it on scikit-image's
pictures). Restoring those paints a face into them. A detection counts as a face when:

- the detector is sure of it three times: in the frame, and when it looks again at the face alone,
  cut out upright at one fixed size with the face at two scales (``confirmed``). What fools a
  detector at one scale and in one context rarely fools it in both crops (a headlight that passes
  the first crop fails the second), while a real face, even a blurred one, is found again there.
  A face's score becomes the lowest of the three, and must reach ``face_score``;
- its five landmarks are laid out like a face's (``plausible_landmarks``), judged in the face's
  own frame (x along the eye line, y across it), so that a tilted, lying or upside-down head
  passes: the mouth below the eyes, the nose between the eyes and the mouth, the mouth corners
  in the same order as the eyes, an eye distance that fits the box. A face whose landmarks fail
  this would be aligned wrongly anyway;
- and most detections of its track pass both (``is_face``): a real face is then restored in all
  its frames, including those where it was blurred or half turned away, and a thing that looks
  like a face now and then is never restored.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .alignment import Alignment, crop, similarity, template
from .tracking import Track, face_size
from .types import Detector, Face

FACE_SCORE = 0.8
"""The lowest score, in the frame and in both second looks, of a detection taken for a face: the
shipped detectors' own threshold. Measured (benchmarks/not_faces.py, docs/faces.md): no false face
left in 1568 face-free pictures (54 without the filter) from 0.5 up, no face of the fixtures
missed. Higher thresholds cost degraded faces: the heavily compressed "carphone" face passes in 90%
of its frames at 0.8, 71% at 0.9 (near the majority its track needs, so worse footage would lose
whole faces) and 30% at 0.95. 0 turns the filter off: every detection is taken for a face."""

LOOK_SIZE = 256  # pixels: the second looks' crops; the face box is about 90 and 120 pixels in them
# The face at 0.6 and 0.8 of FFHQ's crop layout (the detector needs some head and background):
# real faces are found again at both, face-like things seldom are (benchmarks/not_faces.py).
LOOK_ZOOMS = (0.6, 0.8)
LOOK_REACH = 0.75  # eye distances: how far a second look's face may lie from where the first put it

# The landmark layout of a face, in eye distances from the eyes' midpoint, y towards the mouth.
# Frontal faces: mouth 0.8-1.3 below the eyes, nose 0.3-0.8 of the way there, mouth corners 0.6-1.1
# apart; turned faces reach a mouth 2.6 below (the eyes draw together) and an eye distance of 0.17
# box sizes (frontal: 0.35-0.45). The limits leave room around all the faces measured.
MOUTH_BELOW = (0.4, 4.0)
NOSE_ALONG = (0.15, 0.9)  # the nose's depth below the eyes, as a share of the mouth's
MOUTH_WIDTH = 0.25  # the least distance from the left mouth corner to the right one, along the eye line
EYES_FOR_BOX = (0.08, 0.7)  # eye distance / box size (the geometric mean of its sides)


def plausible_landmarks(landmarks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Whether each set of five landmarks (..., 5, 2) with its box (..., 4) is laid out like a face
    (see the module's docstring); (...) bool."""
    landmarks, boxes = np.asarray(landmarks, np.float64), np.asarray(boxes, np.float64)
    eye_line = landmarks[..., 1, :] - landmarks[..., 0, :]
    eye_distance = np.maximum(np.linalg.norm(eye_line, axis=-1), 1e-9)
    across = eye_line / eye_distance[..., None]
    # Image y points down, so turning the eye line a quarter clockwise points at the mouth of a face
    # whose landmarks are in the detector's order; a mirrored layout (mouth and eyes in opposite
    # orders) comes out with its mouth above the eyes.
    down = np.stack([-across[..., 1], across[..., 0]], axis=-1)
    offsets = (landmarks - landmarks[..., :2, :].mean(axis=-2, keepdims=True)) / eye_distance[..., None, None]
    x = (offsets * across[..., None, :]).sum(-1)
    y = (offsets * down[..., None, :]).sum(-1)
    mouth = y[..., 3:].mean(-1)
    eyes_for_box = eye_distance / face_size(boxes)
    return ((mouth > MOUTH_BELOW[0]) & (mouth < MOUTH_BELOW[1])
            & (y[..., 2] > NOSE_ALONG[0] * mouth) & (y[..., 2] < NOSE_ALONG[1] * mouth)
            & (x[..., 4] - x[..., 3] > MOUTH_WIDTH)
            & (eyes_for_box > EYES_FOR_BOX[0]) & (eyes_for_box < EYES_FOR_BOX[1]))


def passes(face: Face, face_score: float = FACE_SCORE) -> bool:
    """Whether one detection (its score confirmed) is taken for a face. ``face_score`` 0 takes
    every detection, as the detector reports it."""
    return face_score <= 0 or (face.score >= face_score and bool(plausible_landmarks(face.landmarks, face.box)))


def is_face(track: Track, face_score: float = FACE_SCORE) -> bool:
    """Whether most of the detections of ``track`` pass (``face_score`` 0: every track)."""
    if face_score <= 0:
        return True
    good = track.observed & (track.scores >= face_score) & plausible_landmarks(track.landmarks, track.boxes)
    return 2 * int(good.sum()) > int(track.observed.sum())


def look_template(zoom: float) -> np.ndarray:
    """Where a second look at ``zoom`` puts the five landmarks in its crop."""
    centre = (LOOK_SIZE - 1) / 2
    return (template(LOOK_SIZE) - centre) * zoom + centre


def confirmed(detector: Detector, image: np.ndarray, faces: Sequence[Face]) -> list[Face]:
    """``faces``, found in ``image`` (RGB uint8), each scored the lowest of its score and, for each
    of ``LOOK_ZOOMS``, the best score of a face the detector finds where it should be in the face's
    upright crop at that zoom (0: none)."""
    if not faces:
        return []
    targets = [look_template(zoom) for zoom in LOOK_ZOOMS]
    crops = [crop(image, Alignment(similarity(face.landmarks, target), LOOK_SIZE))
             for target in targets for face in faces]
    found = detector.detect(crops)
    scores = np.array([face.score for face in faces])
    for look, target in enumerate(targets):
        reach = LOOK_REACH * np.linalg.norm(target[1] - target[0])
        for n in range(len(faces)):
            again = [f.score for f in found[look * len(faces) + n]
                     if np.linalg.norm(f.landmarks.mean(0) - target.mean(0)) < reach]
            scores[n] = min(scores[n], max(again, default=0.0))
    return [Face(face.box, face.landmarks, float(score)) for face, score in zip(faces, scores)]
