"""The one colour rule: which YUV matrix and range a frame is read and written with, on every surface.

A frame's own tags win (VapourSynth's ``_Matrix`` / ``_Range``, the container's colour description);
an explicit choice (the pipe's ``--matrix`` / ``--range``, for containers such as NUT that carry no
tags) wins over both. An untagged frame is BT.709 at HD sizes (wider than 1024 or taller than 576
pixels) and BT.601 below, limited range, as zimg and mpv guess.

And the one way frames cross between their own format and RGB, for every surface: a ``Picture`` is a
frame's planes with their ``Layout``; ``to_rgb`` reads any region of it as float RGB (chroma repeated
over the pixels it covers), and ``composite`` writes an RGB change back into the planes, leaving every
sample none of whose pixels changed exactly as it was. ``Restored`` is what the restorers give back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Sequence

import numpy as np

from .errors import InputError

# ITU-T H.273 matrix coefficients (VapourSynth's _Matrix, FFmpeg's AVColorSpace) by name.
MATRICES = {"709": 1, "fcc": 4, "470bg": 5, "601": 6, "170m": 6, "240m": 7, "2020": 9}
UNSPECIFIED = 2
RANGES = ("limited", "full")


@dataclass(frozen=True)
class YUVRule:
    """How YUV frames of one clip are read: ``matrix``/``full_range`` given explicitly (None: by
    each frame's tags, else by the frame size)."""

    matrix: int | None = None
    full_range: bool | None = None

    @classmethod
    def given(cls, matrix: str | None, colour_range: str | None) -> "YUVRule":
        """From the pipe's --matrix and --range (names checked by the caller's parser)."""
        return cls(MATRICES[matrix] if matrix else None, None if colour_range is None else colour_range == "full")

    def matrix_for(self, tagged: int | None, width: int, height: int) -> tuple[int, bool]:
        """(matrix, assumed): the explicit one, the frame's tag, or the size rule (assumed=True)."""
        if self.matrix is not None:
            return self.matrix, False
        if tagged not in (None, UNSPECIFIED, 0):
            return tagged, False
        return untagged_matrix(width, height), True

    def full_range_for(self, tagged: bool | None) -> bool:
        if self.full_range is not None:
            return self.full_range
        return bool(tagged)


def untagged_matrix(width: int, height: int) -> int:
    """BT.709 for HD frames, BT.601 (SMPTE 170M) for standard definition and below."""
    return MATRICES["709"] if width > 1024 or height > 576 else MATRICES["601"]


# Kr, Kb of the YUV matrices we convert (H.273 codes).
KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114), 7: (0.212, 0.087),
         9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}


@dataclass(frozen=True)
class Layout:
    """How a frame's planes hold its picture: ``family`` rgb (planes R, G, B), yuv (Y, Cb, Cr, chroma
    subsampled by 2**``subsampling`` (x, y)) or gray (Y); ``peak``: integer samples' white (None:
    float samples, [0, 1]); for yuv and gray, the matrix and range the colour rule chose. Planes after
    the colour planes (alpha) are carried through untouched."""

    family: str
    peak: float | None
    subsampling: tuple[int, int] = (0, 0)
    matrix: int = 1
    full_range: bool = False
    assumed_matrix: bool = False  # the frame had no matrix tag: the size rule chose it

    def __post_init__(self) -> None:
        if self.family == "yuv" and self.matrix not in KR_KB:
            raise InputError(f"YUV matrix {self.matrix} (H.273) is not one vs-stc converts; convert the clip to RGB "
                             f"first, or give a matrix ({', '.join(MATRICES)})")

    @property
    def colour_planes(self) -> int:
        return 1 if self.family == "gray" else 3

    @property
    def chroma_multiple(self) -> int:
        """Regions (x, y) must start and end on multiples of this, for whole chroma samples."""
        return 1 << max(self.subsampling)

    def scales(self) -> tuple[float, float, float]:
        """(luma offset, luma units per [0, 1], chroma units per [0, 1]) in sample units."""
        if self.peak is None:
            return 0.0, 1.0, 1.0
        if self.full_range:
            return 0.0, self.peak, self.peak
        unit = (self.peak + 1) / 256
        return 16 * unit, 219 * unit, 224 * unit

    def chroma_middle(self) -> float:
        return 0.0 if self.peak is None else (self.peak + 1) / 2


def to_rgb(planes: list[np.ndarray], layout: Layout, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The frame's pixels (x0, y0, x1, y1) of ``region`` (default: all; on chroma_multiple) as RGB
    float32 (h, w, 3) in [0, 1]: chroma repeated over the pixels it covers, no interpolation."""
    height, width = planes[0].shape
    x0, y0, x1, y1 = region or (0, 0, width, height)
    luma = planes[0][y0:y1, x0:x1].astype(np.float32)
    if layout.family == "rgb":
        rgb = np.stack([luma] + [p[y0:y1, x0:x1].astype(np.float32) for p in planes[1:3]], axis=-1)
        return rgb / np.float32(layout.peak) if layout.peak is not None else rgb
    offset, luma_scale, chroma_scale = layout.scales()
    y = (luma - np.float32(offset)) / np.float32(luma_scale)
    if layout.family == "gray":
        return np.clip(np.repeat(y[..., None], 3, axis=2), 0, 1)
    sx, sy = layout.subsampling
    middle = np.float32(layout.chroma_middle())
    cb, cr = ((_upsampled(p[y0 >> sy:-(-y1 >> sy), x0 >> sx:-(-x1 >> sx)], sx, sy)[:y1 - y0, :x1 - x0]
               .astype(np.float32) - middle) / np.float32(chroma_scale) for p in planes[1:3])
    kr, kb = KR_KB[layout.matrix]
    red = y + np.float32(2 * (1 - kr)) * cr
    blue = y + np.float32(2 * (1 - kb)) * cb
    green = (y - np.float32(kr) * red - np.float32(kb) * blue) / np.float32(1 - kr - kb)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 1)


def _upsampled(plane: np.ndarray, sx: int, sy: int) -> np.ndarray:
    return np.repeat(np.repeat(plane, 1 << sy, axis=0), 1 << sx, axis=1) if sx or sy else plane


def composite(planes: list[np.ndarray], layout: Layout, region: tuple[int, int, int, int], before: np.ndarray,
              after: np.ndarray) -> list[np.ndarray]:
    """The frame's planes with the change ``after - before`` (RGB float32 (h, w, 3) in [0, 1], from
    ``to_rgb`` of ``region``) written into their own format: RGB directly, YUV as the luma and
    chroma of the change (chroma the mean over the pixels a sample covers). Samples none of whose
    pixels changed keep their exact values; the planes given are not modified."""
    x0, y0, x1, y1 = region
    delta = after.astype(np.float64) - before.astype(np.float64)
    changed = (after != before).any(axis=2)
    out = [p.copy() for p in planes]
    if layout.family == "rgb":
        for c in range(3):
            _add(out[c][y0:y1, x0:x1], delta[..., c] * (layout.peak or 1.0), changed, layout.peak)
        return out
    kr, kb = KR_KB.get(layout.matrix, KR_KB[1])
    dy = kr * delta[..., 0] + (1 - kr - kb) * delta[..., 1] + kb * delta[..., 2]
    _, luma_scale, chroma_scale = layout.scales()
    _add(out[0][y0:y1, x0:x1], dy * luma_scale, changed, layout.peak)
    if layout.family == "gray":
        return out
    sx, sy = layout.subsampling
    # A region ending on an odd frame edge: pad to whole chroma samples (edge values, not changed).
    pad = ((0, -changed.shape[0] % (1 << sy)), (0, -changed.shape[1] % (1 << sx)))
    mask = np.pad(changed, pad)
    h, w = mask.shape
    if sx or sy:
        mask = mask.reshape(h >> sy, 1 << sy, w >> sx, 1 << sx).any(axis=(1, 3))
    chroma = ((out[1], (delta[..., 2] - dy) / (2 * (1 - kb))), (out[2], (delta[..., 0] - dy) / (2 * (1 - kr))))
    for plane, change in chroma:
        change = np.pad(change, pad, mode="edge")
        if sx or sy:
            change = change.reshape(h >> sy, 1 << sy, w >> sx, 1 << sx).mean(axis=(1, 3))
        _add(plane[y0 >> sy:(y0 >> sy) + (h >> sy), x0 >> sx:(x0 >> sx) + (w >> sx)], change * chroma_scale, mask,
             layout.peak)
    return out


def _add(target: np.ndarray, change: np.ndarray, mask: np.ndarray, peak: float | None) -> None:
    new = target.astype(np.float64) + change
    if peak is not None:
        np.rint(new, out=new)
        np.clip(new, 0, peak, out=new)
    np.copyto(target, new.astype(target.dtype), where=mask)


@dataclass(frozen=True, eq=False)
class Picture:
    """A frame in its own format: its planes (strided views are fine; never written to) and their
    layout. Face mode reads RGB from it where it needs it and composites back into copies."""

    planes: Sequence[np.ndarray]
    layout: Layout

    @classmethod
    def of_rgb(cls, planes: Sequence[np.ndarray], peak: float | None) -> "Picture":
        """R, G, B planes whose integer white is ``peak`` (None: floats in [0, 1])."""
        return cls(planes, Layout("rgb", peak))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.planes[0].shape

    def rgb(self, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
        return to_rgb(list(self.planes), self.layout, region)

    def reduced(self, factor: int) -> "Picture":
        """The picture ``factor`` (a power of two) times smaller: block means of each plane (chroma
        by what its subsampling leaves of the factor), the last rows and columns that do not fill a
        block dropped. Pixel (x, y) of the result covers x * factor .. x * factor + factor - 1."""
        if factor == 1:
            return self
        steps = [(factor, factor)]
        subsampling = self.layout.subsampling
        if self.layout.family == "yuv":
            sx, sy = subsampling
            steps.append((max(factor >> sx, 1), max(factor >> sy, 1)))
            shift = factor.bit_length() - 1
            subsampling = (max(sx - shift, 0), max(sy - shift, 0))
        planes = []
        for index, plane in enumerate(self.planes[:self.layout.colour_planes]):
            fx, fy = steps[min(index, len(steps) - 1)]
            h, w = plane.shape[0] // fy * fy, plane.shape[1] // fx * fx
            blocks = plane[:h, :w].astype(np.float32).reshape(h // fy, fy, w // fx, fx)
            planes.append(blocks.mean(axis=(1, 3)))
        return Picture(planes, replace(self.layout, subsampling=subsampling))


def rgb_pictures(frames: Iterable[np.ndarray], peak: float | None = 255.0) -> Iterator[Picture]:
    """(H, W, 3) RGB arrays (integer white ``peak``; None: floats in [0, 1]) as pictures."""
    for frame in frames:
        yield Picture.of_rgb([frame[..., c] for c in range(3)], peak)


@dataclass(frozen=True, eq=False)
class Restored:
    """One output frame, in its own format: ``planes`` with the restoration composited (the input's
    own planes where nothing changed), ``changed`` (H, W) the pixels whose RGB changed (None: none),
    and how many faces were pasted (face mode; 0 in aligned mode)."""

    planes: list[np.ndarray]
    changed: np.ndarray | None
    faces: int = 0

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3): the planes of an RGB frame, stacked."""
        return np.stack(self.planes[:3], axis=-1)


def restored(picture: Picture, region: tuple[int, int, int, int], before: np.ndarray, after: np.ndarray,
             faces: int = 0) -> Restored:
    """``picture`` with the RGB of ``region`` changed from ``before`` to ``after``."""
    x0, y0, x1, y1 = region
    changed = np.zeros(picture.size, bool)
    changed[y0:y1, x0:x1] = (after != before).any(axis=2)
    return Restored(composite(list(picture.planes), picture.layout, region, before, after), changed, faces)
