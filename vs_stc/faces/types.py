"""What a face detector reports, and the protocol every detector follows.

Kept apart from the detectors themselves so that tracking, smoothing and alignment (and a third
party's detector plugin) can use these types without importing onnxruntime, torch or facexlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

LANDMARK_NAMES = ("left eye", "right eye", "nose", "left mouth corner", "right mouth corner")
"""The five landmarks, in RetinaFace's order, named as they appear in the image ("left" is the
image's left, i.e. the subject's right eye). The FFHQ template in alignment.py uses the same order."""


@dataclass(frozen=True, eq=False)
class Face:
    """One face in one image: ``box`` (x0, y0, x1, y1) and ``landmarks`` (5, 2) as float pixel
    coordinates of that image (pixel centres at integers, OpenCV's convention), and the detector's
    confidence ``score`` in [0, 1]. Floats, never rounded: rounding landmarks to whole pixels is a
    visible source of jitter in aligned crops."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", np.asarray(self.box, dtype=np.float64).reshape(4))
        object.__setattr__(self, "landmarks", np.asarray(self.landmarks, dtype=np.float64).reshape(5, 2))

    def scaled(self, factor: float) -> "Face":
        """The same face in an image ``factor`` times larger (detection often runs downscaled).
        Pixel centres stay at integers: x -> (x + 0.5) * factor - 0.5."""
        shift = 0.5 * (factor - 1.0)
        return Face(self.box * factor + shift, self.landmarks * factor + shift, self.score)


@runtime_checkable
class Detector(Protocol):
    """A loaded face detector. ``detect`` takes RGB uint8 images of shape (H, W, 3), all of one
    size, and returns the faces of each image (any order). Batches let a GPU detector run several
    frames at once; a detector may split them as it likes."""

    name: str

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]: ...


@dataclass(frozen=True)
class DetectorInfo:
    """A detector a plugin offers, before it is loaded (loading may be slow or download weights).

    - ``status()``: None when it can be loaded right now without the network; otherwise a short
      reason (weights not downloaded yet, a package missing). Must be cheap: it is asked for every
      detector whenever ``detector="auto"`` chooses.
    - ``load(device)``: the ready detector; may download weights when ``fetchable``.
    - ``rank``: ``detector="auto"`` takes the highest-ranked detector whose status is None.
    - ``fetchable``: loading fetches what ``status`` says is missing (so naming it explicitly works).
    """

    name: str
    description: str
    load: Callable[[str], Detector]
    status: Callable[[], str | None]
    rank: int = 0
    fetchable: bool = False
