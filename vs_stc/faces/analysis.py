"""Face mode over a block of frames: detect -> track -> smooth -> align, ready for the engine.

A surface calls ``analyse`` on a bounded block of frames (a shot, or a stretch of a few windows),
then for each track feeds ``track_crops`` (one clip per face, aligned square crops) through the
engine, and for each output frame pastes the restored crops back with ``paste`` and
``FaceAnalysis.pastes``. Because smoothing looks both ways, results near a block's ends depend on
frames outside it: analyse ``block_margin(...)`` extra frames on each side (stopping at cuts,
which nothing crosses) and use only the middle.

Which faces are restored:
- every track that is a face (plausibility.py: scored ``face_score`` or more in the frame and in two
  second looks, landmarks laid out like a face's, in most of its detections);
- of those, every face whose aligned crop measures at least ``min_face`` frame pixels (default 64:
  the crop of a 512 model would enlarge it more than 8x, with too little detail to restore, and
  the result pasted back at that size would barely show; such faces are left alone and counted,
  ``FaceAnalysis.small_faces``). Faces growing past the threshold fade in over a quarter of it;
- a track that starts or ends inside a shot (a face turning away, leaving, or coming into view)
  fades in and out over ``fade`` frames, so a restored face never pops; at a cut it starts and
  ends at full strength, as the picture changes there anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .alignment import Alignment, crop
from .detection import DETECT_MAX_SIDE, detect_frames
from .pasteback import Paste
from .plausibility import FACE_SCORE, is_face
from .smoothing import SIGMA, reach, smooth_landmarks
from .tracking import MAX_GAP, MIN_DETECTIONS, Track, track_faces
from .types import Detector, Face

MIN_FACE = 64
"""Smallest face restored: the aligned crop's side in frame pixels (about 1.5 times the detector's
box, 4 times the eye distance)."""
FADE = 4
"""Frames over which a track fades in and out where it starts or ends inside a shot."""


@dataclass(frozen=True, eq=False)
class FaceTrack:
    """One face to restore through frames ``start`` .. ``stop - 1``: its smoothed landmarks
    (T, 5, 2), the alignment of each frame, and the paste weight of each frame (T,), in (0, 1]
    except where the face is below ``min_face`` (0: inside the track, or at an edge of the frames
    analysed, where the track may go on). ``track``: the raw track."""

    id: int
    start: int
    landmarks: np.ndarray
    alignments: tuple[Alignment, ...]
    weights: np.ndarray
    track: Track

    @property
    def stop(self) -> int:
        return self.start + len(self.alignments)

    @property
    def frames(self) -> range:
        return range(self.start, self.stop)

    def __len__(self) -> int:
        return len(self.alignments)

    def alignment(self, frame: int) -> Alignment:
        return self.alignments[frame - self.start]

    def weight(self, frame: int) -> float:
        return float(self.weights[frame - self.start])


@dataclass(frozen=True)
class FaceAnalysis:
    """The faces of frames ``start`` .. ``stop - 1``."""

    start: int
    stop: int
    crop_size: int
    tracks: tuple[FaceTrack, ...]
    small_faces: int  # detections of faces below min_face, left alone
    spurious: int  # detections dropped because their track was too short to be a face
    rejected: tuple[Track, ...] = ()  # tracks that are not plausibly a face, left alone
    detector: str = ""

    def at(self, frame: int) -> list[FaceTrack]:
        """The tracks that show a face in ``frame``."""
        return [t for t in self.tracks if t.start <= frame < t.stop and t.weight(frame) > 0]

    def pastes(self, frame: int, restored: Mapping[int, np.ndarray]) -> list[Paste]:
        """What to paste into ``frame``: ``restored`` maps track id -> that track's restored crop
        for this frame (tracks missing from it are skipped)."""
        return [Paste(restored[t.id], t.alignment(frame), t.weight(frame)) for t in self.at(frame) if t.id in restored]


def block_margin(sigma: float = SIGMA, max_gap: int = MAX_GAP, fade: int = FADE) -> int:
    """Frames to analyse beyond each end of the frames a surface needs, so that their tracks,
    smoothing and fades come out as if the whole shot had been analysed: the smoothing's
    reach (``smoothing.reach``), plus a bridged gap, plus a fade."""
    return reach(sigma) + max_gap + fade + 1


def analyse(frames: Iterable[np.ndarray], detector: Detector, *, start: int = 0, cuts: Iterable[int] = (),
            crop_size: int = 512, min_face: float = MIN_FACE, sigma: float = SIGMA, max_gap: int = MAX_GAP,
            min_detections: int = MIN_DETECTIONS, fade: int = FADE, peak: float | None = None,
            detect_max_side: int | None = DETECT_MAX_SIDE, face_score: float = FACE_SCORE) -> FaceAnalysis:
    """Finds, tracks and aligns every face of frames ``start``, ``start + 1``, ... (RGB arrays
    (H, W, 3), read one at a time). ``cuts``: absolute frames that start a shot."""
    found = list(detect_frames(detector, frames, peak=peak, max_side=detect_max_side, confirm=True))
    result = analyse_detections(found, start=start, cuts=cuts, crop_size=crop_size, min_face=min_face,
                                sigma=sigma, max_gap=max_gap, min_detections=min_detections, fade=fade,
                                face_score=face_score)
    return replace(result, detector=detector.name)


def analyse_detections(faces: Sequence[Sequence[Face]], *, start: int = 0, cuts: Iterable[int] = (),
                       crop_size: int = 512, min_face: float = MIN_FACE, sigma: float = SIGMA,
                       max_gap: int = MAX_GAP, min_detections: int = MIN_DETECTIONS,
                       fade: int = FADE, face_score: float = FACE_SCORE) -> FaceAnalysis:
    """``analyse`` after detection: for surfaces (or tests) that have the faces of each frame
    (scored as ``detect_frames(..., confirm=True)`` scores them)."""
    tracks, spurious = track_faces(faces, start=start, cuts=cuts, max_gap=max_gap, min_detections=min_detections)
    kept: list[FaceTrack] = []
    rejected: list[Track] = []
    small = 0
    for track in tracks:
        if not is_face(track, face_score):
            rejected.append(track)
            continue
        landmarks = smooth_landmarks(track.landmarks, track.observed, sigma)
        alignments = [Alignment.of(points, crop_size) for points in landmarks]
        sizes = np.array([a.face_size for a in alignments])
        small += int(np.count_nonzero((sizes < min_face) & track.observed))
        weights = _size_weights(sizes, min_face) * _fade_weights(track, fade)
        nonzero = np.flatnonzero(weights > 0)
        if nonzero.size == 0:
            continue
        # Frames without weight are dropped from a track's ends, except at the edges of the frames
        # analysed: there the track may go on (a block's context), and the model's windows must
        # stay anchored where they are in one pass over the clip.
        first = 0 if track.opens == "edge" else int(nonzero[0])
        last = len(track) if track.closes == "edge" else int(nonzero[-1]) + 1
        kept.append(FaceTrack(track.id, track.start + first, landmarks[first:last], tuple(alignments[first:last]),
                              weights[first:last], track))
    return FaceAnalysis(start, start + len(faces), crop_size, tuple(kept), small, spurious, tuple(rejected))


def _size_weights(sizes: np.ndarray, min_face: float) -> np.ndarray:
    """0 below ``min_face``, rising smoothly to 1 at 1.25 ``min_face``."""
    if min_face <= 0:
        return np.ones_like(sizes)
    t = np.clip((sizes - min_face) / (0.25 * min_face), 0.0, 1.0)
    weights = t * t * (3 - 2 * t)
    weights[sizes >= min_face] = np.maximum(weights[sizes >= min_face], 1e-3)  # at the threshold: in, faintly
    return weights


def _fade_weights(track: Track, fade: int) -> np.ndarray:
    length = len(track)
    weights = np.ones(length)
    if fade <= 0:
        return weights
    ramp = np.arange(1, length + 1) / (fade + 1)
    if track.opens == "appears":
        weights = np.minimum(weights, ramp)
    if track.closes == "lost":
        weights = np.minimum(weights, ramp[::-1])
    return weights


def track_crops(track: FaceTrack, frame: Callable[[int], np.ndarray], **crop_options) -> list[np.ndarray]:
    """The aligned crops of a track, one per frame of ``track.frames``: the clip the engine
    restores for this face. ``frame(n)`` returns frame n (RGB (H, W, 3))."""
    return [crop(frame(n), track.alignment(n), **crop_options) for n in track.frames]
