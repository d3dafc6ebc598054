"""Face mode (``faces="auto"``): detect every face (pluggy detector plugins), track faces across
frames, keep those that are plausibly faces, smooth their landmarks without lag, align them to the
FFHQ template for the engine, and paste the restored crops back with a seamless mask. Importing
this package loads no model and touches no network; the detectors load on first use.

A surface, per bounded block of frames::

    detector, why = load_detector("auto", device)           # says which detector and why
    faces = analyse(frames, detector, start=s, cuts=cuts)   # FaceAnalysis
    for track in faces.tracks:                              # one clip per face
        crops = track_crops(track, read_frame)              # -> engine (square crops)
    out = paste(frame, faces.pastes(n, {track.id: restored_crop_n, ...}))
"""

from .alignment import FFHQ_TEMPLATE_512, Alignment, crop, similarity, source_region, template
from .analysis import FADE, MIN_FACE, FaceAnalysis, FaceTrack, analyse, analyse_detections, block_margin, track_crops
from .detection import (AUTO, DETECT_MAX_SIDE, Choice, DetectorRegistry, choose_detector, default_registry, describe,
                        detect_frames, detection_image, load_detector, new_registry)
from .geometry import Rect
from .hooks import ENTRY_POINT_GROUP, hookimpl, hookspec
from .pasteback import FACE_MASK, MaskShape, Paste, crop_mask, paste, paste_region, union_region
from .plausibility import FACE_SCORE, confirmed, is_face, passes, plausible_landmarks
from .smoothing import SIGMA, smooth_landmarks, smooth_path
from .tracking import MAX_GAP, Track, track_faces
from .types import Detector, DetectorInfo, Face

__all__ = [
    "FFHQ_TEMPLATE_512", "Alignment", "crop", "similarity", "source_region", "template",
    "FADE", "MIN_FACE", "FaceAnalysis", "FaceTrack", "analyse", "analyse_detections", "block_margin", "track_crops",
    "AUTO", "DETECT_MAX_SIDE", "Choice", "DetectorRegistry", "choose_detector", "default_registry", "describe",
    "detect_frames", "detection_image", "load_detector", "new_registry",
    "Rect", "ENTRY_POINT_GROUP", "hookimpl", "hookspec",
    "FACE_MASK", "MaskShape", "Paste", "crop_mask", "paste", "paste_region", "union_region",
    "FACE_SCORE", "confirmed", "is_face", "passes", "plausible_landmarks",
    "SIGMA", "smooth_landmarks", "smooth_path", "MAX_GAP", "Track", "track_faces",
    "Detector", "DetectorInfo", "Face",
]
