"""Aligning faces to the FFHQ 5-point template: the square crops face restorers are trained on.

The transform is a similarity (rotation, uniform scale, shift), the least-squares fit of the five
landmarks to the template (Umeyama's closed form). It is deterministic and changes smoothly with
the landmarks, so smoothed landmarks give steady crops. facexlib's helper fits with
``cv2.estimateAffinePartial2D(method=LMEDS)``, a randomised robust fit that may keep a different
subset of the five points from one frame to the next: a jump in the crop. Its warp also works on
whole frames (all of a 4K frame for one face) and fills the outside with grey. So the fit and warp
are ours; we reuse facexlib's template numbers (FFHQ's own, for 512 x 512 crops).

Crops are cut from the smallest frame region that holds them (a 512 crop of a 4K face touches a
few hundred thousand pixels, not eight million). Where a crop reaches past the frame edge, the
frame is mirrored at its edge: the network sees a plausible continuation instead of a grey or
black block, which would bleed into the restored face near the edge (only pixels inside the frame
are ever pasted back). Shrinking a large face into the crop is antialiased (see ``antialiased``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .geometry import Rect

FFHQ_TEMPLATE_512 = np.array([
    [192.98138, 239.94708],  # left eye (as seen in the image)
    [318.90277, 240.19360],  # right eye
    [256.63416, 314.01935],  # nose tip
    [201.26117, 371.41043],  # left mouth corner
    [313.08905, 371.15118],  # right mouth corner
])
"""Where FFHQ's alignment puts the five RetinaFace landmarks in a 512 x 512 crop (the numbers
facexlib's FaceRestoreHelper, GFPGAN, CodeFormer and KEEP use)."""


def template(size: int) -> np.ndarray:
    """The template for a ``size`` x ``size`` crop (pixel centres at integers in both)."""
    return (FFHQ_TEMPLATE_512 + 0.5) * (size / 512.0) - 0.5


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The similarity (2, 3) that maps ``source`` points (N, 2) closest to ``target`` in least
    squares, never a reflection (Umeyama 1991)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, singular, vt = np.linalg.svd(t.T @ s / len(source))
    d = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ np.diag(d) @ vt
    variance = (s**2).sum() / len(source)
    scale = (singular * d).sum() / max(variance, 1e-12)
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_t - matrix[:, :2] @ mu_s
    return matrix


@dataclass(frozen=True, eq=False)
class Alignment:
    """Where one face's ``size`` x ``size`` crop lies in its frame: ``matrix`` (2, 3) maps frame
    pixel coordinates to crop coordinates."""

    matrix: np.ndarray
    size: int

    @classmethod
    def of(cls, landmarks: np.ndarray, size: int = 512) -> "Alignment":
        """The alignment of a face with these five landmarks (frame coordinates) to the template."""
        return cls(similarity(landmarks, template(size)), size)

    @cached_property
    def inverse(self) -> np.ndarray:
        """(2, 3): crop coordinates -> frame coordinates."""
        return cv2.invertAffineTransform(self.matrix)

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel (above 1: the face is enlarged into the crop)."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def face_size(self) -> float:
        """The crop's side measured in frame pixels: how big the face is in the frame."""
        return self.size / self.scale

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Crop coordinates (..., 2) -> frame coordinates."""
        points = np.asarray(points, np.float64)
        return points @ self.inverse[:, :2].T + self.inverse[:, 2]

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, np.float64)
        return points @ self.matrix[:, :2].T + self.matrix[:, 2]


def source_region(alignment: Alignment, frame_size: tuple[int, int]) -> Rect:
    """The frame pixels (clipped to the frame) a crop is made from; ``frame_size``: (height, width).
    A surface holding YUV frames converts just this rectangle to RGB. The margin covers bicubic
    interpolation's reach (2 pixels) and, for faces shrunk into the crop, the antialiasing blur's."""
    margin = 3 + int(np.ceil(1.5 / alignment.scale))  # + 3 sigma of the antialiasing blur, when it shrinks
    s = alignment.size - 1
    corners = alignment.to_frame(np.array([[0, 0], [s, 0], [0, s], [s, s]], dtype=np.float64))
    return Rect.around(corners, margin).clipped(*frame_size)


def crop(frame: np.ndarray, alignment: Alignment, *, origin: tuple[int, int] = (0, 0),
         frame_size: tuple[int, int] | None = None) -> np.ndarray:
    """The aligned crop (size, size, C) of a frame (H, W, C), in the frame's sample type.

    ``frame`` may be a part of the frame only (at least ``source_region``), whose top-left pixel
    is ``origin`` (x, y) of the whole frame of ``frame_size`` (height, width); the mirroring at
    the edges is then still that of the whole frame."""
    full = frame_size or (origin[1] + frame.shape[0], origin[0] + frame.shape[1])
    region = source_region(alignment, full)
    if region.is_empty:
        raise ValueError("the face lies wholly outside the frame")
    local = region.shifted(-origin[0], -origin[1])
    if local.x0 < 0 or local.y0 < 0 or local.x1 > frame.shape[1] or local.y1 > frame.shape[0]:
        raise ValueError(f"the frame part given ({frame.shape[1]}x{frame.shape[0]} at {origin}) does not hold "
                         f"the crop's source region {region}")
    source = frame[local.y0:local.y1, local.x0:local.x1]
    dtype = source.dtype
    work = source.astype(np.float32) if dtype == np.float16 else np.ascontiguousarray(source)
    matrix = alignment.matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([region.x0, region.y0], dtype=np.float64)
    work = antialiased(work, 1.0 / alignment.scale)
    out = cv2.warpAffine(work, matrix, (alignment.size, alignment.size), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT_101)
    if out.ndim == 2:
        out = out[..., None]
    return out.astype(dtype, copy=False)


def antialiased(image: np.ndarray, shrink: float) -> np.ndarray:
    """``image`` low-passed for sampling at ``1 / shrink`` of its density: a Gaussian of sigma
    (shrink - 1) / 2 pixels (scikit-image's rule for antialiased rescaling), nothing when it is not
    shrunk. One blur and one bicubic sampling, not resizing by area first and then warping (two
    resamplings), which keeps less detail (benchmarks/README.md, "Figures moved from docstrings")."""
    if shrink <= 1.0:
        return image
    return cv2.GaussianBlur(image, (0, 0), (shrink - 1.0) / 2.0, borderType=cv2.BORDER_REFLECT_101)
