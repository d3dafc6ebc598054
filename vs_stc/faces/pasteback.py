"""Pasting restored crops back into their frames: a soft mask shaped like a face, no seams, and
every pixel outside the masks left exactly as it was.

What users of the other restorers complain about, and what we do instead:
- rectangular seams (pasting the whole square, or a square mask eroded a little): the mask here
  is an ellipse over the face region of the FFHQ template (forehead to chin, cheek to cheek),
  whose weight falls from 1 to 0 along a smoothstep over the outer 30% of its radius. The
  falloff has zero slope at both ends, so neither the ellipse's edge nor its inner edge shows;
- masks that do not stick to the face: the mask is defined in crop coordinates and evaluated
  exactly at every frame pixel through the same (smoothed) transform that made the crop, so it
  moves with the face, sub-pixel, with no resampled mask image to lag or blur;
- backgrounds that change: only pixels where some mask is above zero are written; all others
  are bit-identical to the input (work is also confined to each mask's bounding rectangle, so a
  4K frame costs what its faces cost);
- one face only: any number of pastes per frame, larger faces last (on top: usually nearer).

Frames are RGB arrays (H, W, 3) of uint8, uint16, float16 or float32. A surface holding YUV
frames converts only ``union_region(...)`` to RGB, pastes into that part (``origin``), and
converts it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import cv2
import numpy as np

from .alignment import Alignment, antialiased
from .geometry import Rect


@dataclass(frozen=True)
class MaskShape:
    """The paste mask in crop coordinates, as fractions of the crop side: an ellipse of
    ``centre`` and ``radii``, fully opaque inside ``1 - feather`` of its radius, fading to zero
    at its edge. The default covers the FFHQ template's face (eyes at 0.47 of the height, mouth
    at 0.72, chin near 0.88) and stays clear of the crop's border, where the crop may hold
    mirrored frame content."""

    centre: tuple[float, float] = (0.5, 0.52)
    radii: tuple[float, float] = (0.38, 0.44)
    feather: float = 0.3


FACE_MASK = MaskShape()


@dataclass(frozen=True, eq=False)
class Paste:
    """One restored crop to paste: ``crop`` (size, size, 3) for the face aligned by
    ``alignment``; ``weight`` scales its mask (fades at the ends of a track). The crop is in the
    frame's sample type, or float in [0, 1] (a model's output) for integer frames."""

    crop: np.ndarray
    alignment: Alignment
    weight: float = 1.0


def mask_at(crop_x: np.ndarray, crop_y: np.ndarray, size: int, shape: MaskShape = FACE_MASK) -> np.ndarray:
    """The mask's weight at crop coordinates (pixel centres at integers), float32 in [0, 1]."""
    nx = (np.asarray(crop_x, np.float32) + np.float32(0.5 - shape.centre[0] * size)) / np.float32(shape.radii[0] * size)
    ny = (np.asarray(crop_y, np.float32) + np.float32(0.5 - shape.centre[1] * size)) / np.float32(shape.radii[1] * size)
    t = np.hypot(nx, ny)
    np.subtract(np.float32(1.0), t, out=t)
    t *= np.float32(1.0 / shape.feather)
    np.clip(t, 0.0, 1.0, out=t)
    return t * t * (np.float32(3.0) - np.float32(2.0) * t)


def crop_mask(size: int, shape: MaskShape = FACE_MASK) -> np.ndarray:
    """The mask over a whole crop (size, size): to look at, or to blend in crop space."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    return mask_at(x, y, size, shape)


def paste_region(alignment: Alignment, frame_size: tuple[int, int], *, multiple: int = 1,
                 shape: MaskShape = FACE_MASK) -> Rect:
    """The frame pixels a paste can change (its mask's bounding rectangle), clipped to the frame
    of ``frame_size`` (height, width) and grown to multiples of ``multiple``. May be empty."""
    size = alignment.size
    centre = alignment.to_frame(np.array([shape.centre]) * size - 0.5)[0]
    axes = alignment.inverse[:, :2] * size * np.array(shape.radii)[None, :]  # the ellipse's axes in the frame
    half = np.sqrt((axes**2).sum(axis=1))
    rect = Rect.around(np.array([centre - half, centre + half]), margin=1)
    return rect.aligned(multiple, *frame_size)


def union_region(alignments: Iterable[Alignment], frame_size: tuple[int, int], *, multiple: int = 1,
                 shape: MaskShape = FACE_MASK) -> Rect | None:
    """The rectangle holding every paste's region, or None when nothing would change."""
    result = Rect(0, 0, 0, 0)
    for alignment in alignments:
        result = result.union(paste_region(alignment, frame_size, multiple=multiple, shape=shape))
    return None if result.is_empty else result


def paste(frame: np.ndarray, pastes: Sequence[Paste], *, origin: tuple[int, int] = (0, 0),
          peak: float | None = None, shape: MaskShape = FACE_MASK, inplace: bool = False) -> np.ndarray:
    """``frame`` with the restored crops blended in. ``frame`` may be a part of the frame whose
    top-left pixel is ``origin`` (x, y). ``peak``: the value of white for integer frames
    (default: the type's maximum; 1023 for 10-bit in uint16). Returns a new array unless
    ``inplace``; pixels outside every mask keep their exact values."""
    if frame.ndim != 3:
        raise ValueError(f"frames must be (H, W, C) arrays, not {frame.shape}")
    out = frame if inplace else frame.copy()
    bounds = Rect(origin[0], origin[1], origin[0] + frame.shape[1], origin[1] + frame.shape[0])
    for item in sorted(pastes, key=lambda p: p.alignment.face_size):
        if item.weight <= 0:
            continue
        region = paste_region(item.alignment, (bounds.y1, bounds.x1), shape=shape).intersection(bounds)
        if region.is_empty:
            continue
        _paste_one(out, item, region, origin, peak, shape)
    return out


def _paste_one(out: np.ndarray, item: Paste, region: Rect, origin: tuple[int, int],
               peak: float | None, shape: MaskShape) -> None:
    alignment = item.alignment
    m = alignment.matrix.astype(np.float32)
    xs = np.arange(region.x0, region.x1, dtype=np.float32)[None, :]
    ys = np.arange(region.y0, region.y1, dtype=np.float32)[:, None]
    alpha = mask_at(m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2],
                    alignment.size, shape)
    if item.weight != 1:
        alpha *= np.float32(item.weight)
    inside = alpha > 0
    if not inside.any():
        return
    blended = _warp_back(_in_frame_scale(item.crop, out.dtype, peak), alignment, region)
    target = out[region.shifted(-origin[0], -origin[1]).slices]
    before = target.astype(np.float32)
    blended -= before  # blended = before + alpha * (restored - before), in place
    blended *= alpha[..., None]
    blended += before
    if out.dtype.kind == "u":
        np.rint(blended, out=blended)
        np.clip(blended, 0, peak if peak is not None else np.iinfo(out.dtype).max, out=blended)
    np.copyto(target, blended.astype(out.dtype), where=inside[..., None])


def _in_frame_scale(crop: np.ndarray, dtype: np.dtype, peak: float | None) -> np.ndarray:
    """The crop as float32 in the frame's units."""
    crop = np.asarray(crop)
    values = crop.astype(np.float32)
    if crop.dtype == dtype:
        return values
    frame_peak = (peak or np.iinfo(dtype).max) if np.dtype(dtype).kind == "u" else 1.0
    crop_peak = np.iinfo(crop.dtype).max if crop.dtype.kind == "u" else 1.0
    return values * np.float32(frame_peak / crop_peak)


def _warp_back(crop: np.ndarray, alignment: Alignment, region: Rect) -> np.ndarray:
    """The crop resampled onto the frame pixels of ``region``, float32 (h, w, C). The crop is
    usually larger than the face in the frame: it is low-passed first (antialias), then sampled
    once, bicubic."""
    matrix = alignment.matrix.copy()  # frame -> crop, used as cv2's inverse map
    matrix[:, 2] += matrix[:, :2] @ np.array([region.x0, region.y0], dtype=np.float64)
    crop = antialiased(crop, alignment.scale)
    warped = cv2.warpAffine(crop, matrix, (region.width, region.height),
                            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    warped = warped[..., None] if warped.ndim == 2 else warped
    # bicubic overshoots at sharp edges; keep within the crop's own range (float frames are not clipped later)
    return np.clip(warped, crop.min(axis=(0, 1)), crop.max(axis=(0, 1)), out=warped)
