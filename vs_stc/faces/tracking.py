"""Linking faces across frames into tracks: every face, not just the centre one.

A track is one face through consecutive frames of one shot. Each frame's faces are matched to the
tracks still alive by landmark distance (to where each track's last two detections say the face
should be now, so fast motion does not break a track) and box overlap, with an optimal
assignment (two faces crossing keep their tracks). A face no track can claim starts a new track.

A track ends:
- at a scene cut (nothing links across a cut, even when the same person is on both sides);
- when its face has not been seen for more than ``max_gap`` frames. Shorter losses (a hand in
  front of the face, a missed detection, motion blur) are bridged: the landmarks of the missing
  frames are interpolated from the frames around them (and smoothing, which gives those frames
  almost no weight, fills them with the motion around them).

Tracks seen in fewer than ``min_detections`` frames are dropped as false detections: a face that
appears for one or two frames is rarely a face, and restoring it would make it flash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .retinaface_decode import box_iou
from .types import Face

MAX_GAP = 6
"""Frames a face may go unseen and keep its track (a quarter second at 25 fps)."""
MIN_DETECTIONS = 3
MATCH_DISTANCE = 0.5  # landmark distance, in face sizes, below which a face can continue a track
MATCH_IOU = 0.3  # or: box overlap above which it can


@dataclass(frozen=True, eq=False)
class Track:
    """One face through frames ``start`` .. ``stop - 1`` (absolute frame numbers).

    ``landmarks`` (T, 5, 2) and ``boxes`` (T, 4) as detected, interpolated where ``observed`` is
    False; ``scores`` (T,) 0 there. ``opens`` / ``closes``: why it starts and ends: "cut" (a scene
    cut), "edge" (the first / last frame tracked: the track may go on outside), "appears" /
    "lost" (the face came into view / was not seen again)."""

    id: int
    start: int
    landmarks: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    observed: np.ndarray
    opens: str
    closes: str

    @property
    def stop(self) -> int:
        return self.start + len(self.observed)

    @property
    def frames(self) -> range:
        return range(self.start, self.stop)

    def __len__(self) -> int:
        return len(self.observed)


@dataclass
class _Growing:
    id: int
    opens: str
    frames: list[int]
    faces: list[Face]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def predicted(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks and box expected at ``frame``, continuing the motion of the last two detections."""
        face = self.faces[-1]
        velocity = np.zeros(2)
        if len(self.frames) > 1 and self.frames[-1] - self.frames[-2] <= MAX_GAP + 1:
            shift = face.landmarks - self.faces[-2].landmarks
            velocity = shift.mean(axis=0) / (self.frames[-1] - self.frames[-2])
        move = velocity * (frame - self.last)
        return face.landmarks + move, face.box + np.tile(move, 2)

    def finished(self, closes: str) -> Track:
        first, last = self.frames[0], self.frames[-1]
        length = last - first + 1
        positions = np.array(self.frames) - first
        landmarks = np.empty((length, 10))
        boxes = np.empty((length, 4))
        marks = np.stack([f.landmarks.reshape(10) for f in self.faces])
        rects = np.stack([f.box for f in self.faces])
        for column in range(10):
            landmarks[:, column] = np.interp(np.arange(length), positions, marks[:, column])
        for column in range(4):
            boxes[:, column] = np.interp(np.arange(length), positions, rects[:, column])
        scores = np.zeros(length)
        scores[positions] = [f.score for f in self.faces]
        observed = np.zeros(length, dtype=bool)
        observed[positions] = True
        return Track(self.id, first, landmarks.reshape(length, 5, 2), boxes, scores, observed, self.opens, closes)


def face_size(boxes: np.ndarray) -> np.ndarray:
    """Geometric mean of box width and height: a size that does not care about box aspect."""
    boxes = np.asarray(boxes)
    width = np.clip(boxes[..., 2] - boxes[..., 0], 1e-6, None)
    height = np.clip(boxes[..., 3] - boxes[..., 1], 1e-6, None)
    return np.sqrt(width * height)


def track_faces(faces: Sequence[Sequence[Face]], *, start: int = 0, cuts: Iterable[int] = (),
                max_gap: int = MAX_GAP, min_detections: int = MIN_DETECTIONS) -> tuple[list[Track], int]:
    """Tracks of the faces found in frames ``start``, ``start + 1``, ...; ``cuts``: absolute
    frames that start a new shot. Returns the tracks (ordered by start, then id) and how many
    detections were dropped as belonging to tracks shorter than ``min_detections``."""
    cut_set = set(cuts)
    alive: list[_Growing] = []
    done: list[Track] = []
    next_id = 0
    for offset, found in enumerate(faces):
        frame = start + offset
        if frame in cut_set and offset > 0:
            done.extend(t.finished("cut" if t.last == frame - 1 else "lost") for t in alive)
            alive = []
        still = [t for t in alive if frame - t.last <= max_gap + 1]
        done.extend(t.finished("lost") for t in alive if frame - t.last > max_gap + 1)
        alive = still
        claimed = _match(alive, list(found), frame)
        for index, face in enumerate(found):
            if index in claimed:
                track = claimed[index]
                track.frames.append(frame)
                track.faces.append(face)
            else:
                opens = "edge" if offset == 0 else "cut" if frame in cut_set else "appears"
                alive.append(_Growing(next_id, opens, [frame], [face]))
                next_id += 1
    end = start + len(faces)
    done.extend(t.finished("edge" if t.last == end - 1 else "lost") for t in alive)
    kept = [t for t in done if t.observed.sum() >= min_detections]
    dropped = sum(int(t.observed.sum()) for t in done if t.observed.sum() < min_detections)
    return sorted(kept, key=lambda t: (t.start, t.id)), dropped


def _match(tracks: list[_Growing], faces: list[Face], frame: int) -> dict[int, _Growing]:
    """Optimal assignment of ``faces`` (by index) to ``tracks``, among plausible pairs."""
    if not tracks or not faces:
        return {}
    cost = np.full((len(tracks), len(faces)), np.inf)
    boxes = np.stack([f.box for f in faces])
    for i, track in enumerate(tracks):
        landmarks, box = track.predicted(frame)
        size = face_size(track.faces[-1].box)
        distance = np.array([np.linalg.norm(f.landmarks - landmarks, axis=1).mean() for f in faces]) / size
        overlap = box_iou(box[None], boxes)[0]
        plausible = (distance < MATCH_DISTANCE) | (overlap > MATCH_IOU)
        cost[i, plausible] = distance[plausible] + (1 - overlap[plausible])
    from scipy.optimize import linear_sum_assignment  # 0.6 s to import: not before a face is tracked

    finite = np.where(np.isfinite(cost), cost, 1e9)
    rows, cols = linear_sum_assignment(finite)
    return {int(c): tracks[r] for r, c in zip(rows, cols) if np.isfinite(cost[r, c])}
