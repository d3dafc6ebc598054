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
from typing import Iterable, Iterator, Mapping, Sequence

import cv2
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
    if layout.family == "rgb":
        rgb = _interleaved([p[y0:y1, x0:x1] for p in planes[:3]])
        return np.divide(rgb, np.float32(layout.peak), out=rgb) if layout.peak is not None else rgb
    offset, luma_scale, chroma_scale = layout.scales()
    luma = planes[0][y0:y1, x0:x1]
    if layout.family == "gray":
        gray = _interleaved([luma] * 3)
        return _clipped(np.divide(np.subtract(gray, np.float32(offset), out=gray), np.float32(luma_scale), out=gray))
    sx, sy = layout.subsampling
    cb, cr = (_upsampled(p[y0 >> sy:-(-y1 >> sy), x0 >> sx:-(-x1 >> sx)], sx, sy)[:y1 - y0, :x1 - x0]
              for p in planes[1:3])
    kr, kb = KR_KB[layout.matrix]
    g = 1 - kr - kb
    to_red, to_blue = 2 * (1 - kr), 2 * (1 - kb)
    from_cb, from_cr = -kb * to_blue / g, -kr * to_red / g  # green = y + from_cb * cb + from_cr * cr
    ly, lc, middle = 1 / luma_scale, 1 / chroma_scale, layout.chroma_middle()
    matrix = np.array([[ly, 0, to_red * lc, -offset * ly - to_red * lc * middle],
                       [ly, from_cb * lc, from_cr * lc, -offset * ly - (from_cb + from_cr) * lc * middle],
                       [ly, to_blue * lc, 0, -offset * ly - to_blue * lc * middle]])
    return _clipped(cv2.transform(_interleaved([luma, cb, cr]), matrix))


def _native(samples: np.ndarray) -> np.ndarray:
    """Samples OpenCV takes: unsigned integers as they are, other types as float32; contiguous
    rows (OpenCV takes rows with a stride, not strided columns)."""
    dtype = samples.dtype if samples.dtype in (np.uint8, np.uint16) else np.float32
    return np.ascontiguousarray(samples, dtype=dtype)


def _interleaved(planes: list[np.ndarray]) -> np.ndarray:
    """(h, w, 3) float32 of three equal-sized planes (interleaved in their own type, then widened:
    several times faster than interleaving floats)."""
    return cv2.merge([_native(p) for p in planes]).astype(np.float32, copy=False)


def _float(samples: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(samples, dtype=np.float32)


def _clipped(rgb: np.ndarray) -> np.ndarray:
    np.maximum(rgb, 0, out=rgb)
    return np.minimum(rgb, 1, out=rgb)


def _upsampled(plane: np.ndarray, sx: int, sy: int) -> np.ndarray:
    """Each sample repeated over the 2**sx x 2**sy pixels it covers."""
    if not (sx or sy):
        return plane
    plane = _native(plane)
    return cv2.resize(plane, (plane.shape[1] << sx, plane.shape[0] << sy), interpolation=cv2.INTER_NEAREST)


def _block_means(plane: np.ndarray, fx: int, fy: int) -> np.ndarray:
    """float32 means of the fx x fy blocks of ``plane`` (its shape a multiple of them)."""
    if fx == fy == 1:
        return plane
    return cv2.resize(plane, (plane.shape[1] // fx, plane.shape[0] // fy), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True, eq=False)
class Patch:
    """New samples for a rectangle of one plane: ``samples`` at (x0, y0) of plane ``plane``."""

    plane: int
    x0: int
    y0: int
    samples: np.ndarray

    def write(self, planes: Sequence[np.ndarray] | Mapping[int, np.ndarray]) -> None:
        height, width = self.samples.shape[:2]
        planes[self.plane][self.y0:self.y0 + height, self.x0:self.x0 + width] = self.samples


def composite(planes: Sequence[np.ndarray], layout: Layout, region: tuple[int, int, int, int], before: np.ndarray,
              after: np.ndarray) -> tuple[list[Patch], np.ndarray]:
    """(the patches that write the change ``after - before`` into the frame's planes in their own
    format, the (h, w) pixels of ``region`` whose RGB changed). ``before``, ``after``: RGB float32
    (h, w, 3) in [0, 1], ``before`` from ``to_rgb`` of ``region``. RGB is written directly, YUV as
    the luma and chroma of the change (chroma the mean over the pixels a sample covers). Samples
    none of whose pixels changed keep their exact values; the planes given are not modified."""
    x0, y0, x1, y1 = region
    delta = np.subtract(after, before, dtype=np.float32)
    nonzero = delta != 0
    changed = nonzero[..., 0] | nonzero[..., 1] | nonzero[..., 2]

    def patch(index: int, x: int, y: int, change: np.ndarray, mask: np.ndarray) -> Patch:
        samples = np.array(planes[index][y:y + mask.shape[0], x:x + mask.shape[1]])
        _add(samples, change, mask, layout.peak)
        return Patch(index, x, y, samples)

    if layout.family == "rgb":
        return [patch(c, x0, y0, delta[..., c] * np.float32(layout.peak or 1.0), changed) for c in range(3)], changed
    kr, kb = KR_KB.get(layout.matrix, KR_KB[1])
    g = 1 - kr - kb
    _, luma_scale, chroma_scale = layout.scales()
    luma_row = [luma_scale * kr, luma_scale * g, luma_scale * kb]
    if layout.family == "gray":
        return [patch(0, x0, y0, cv2.transform(delta, np.array([luma_row])), changed)], changed
    cb_row = [chroma_scale * c / (2 * (1 - kb)) for c in (-kr, -g, 1 - kb)]
    cr_row = [chroma_scale * c / (2 * (1 - kr)) for c in (1 - kr, -g, -kb)]
    change = cv2.transform(delta, np.array([luma_row, cb_row, cr_row]))
    patches = [patch(0, x0, y0, np.ascontiguousarray(change[..., 0]), changed)]
    sx, sy = layout.subsampling
    fx, fy = 1 << sx, 1 << sy
    # A region ending on an odd frame edge: pad to whole chroma samples (edge values, not changed).
    pad = ((0, -changed.shape[0] % fy), (0, -changed.shape[1] % fx))
    mask = np.pad(changed, pad)
    mask = np.logical_or.reduce([mask[i::fy, j::fx] for i in range(fy) for j in range(fx)])
    for index in (1, 2):
        samples = _block_means(np.pad(change[..., index], pad, mode="edge"), fx, fy)
        patches.append(patch(index, x0 >> sx, y0 >> sy, samples, mask))
    return patches, changed


def _add(target: np.ndarray, change: np.ndarray, mask: np.ndarray, peak: float | None) -> None:
    new = target.astype(np.float32)
    new += change
    if peak is not None:
        np.rint(new, out=new)
        np.maximum(new, 0, out=new)
        np.minimum(new, np.float32(peak), out=new)
    np.copyto(target, new, where=mask, casting="unsafe")


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
            planes.append(_block_means(_float(plane[:h, :w]), fx, fy))
        return Picture(planes, replace(self.layout, subsampling=subsampling))


def rgb_pictures(frames: Iterable[np.ndarray], peak: float | None = 255.0) -> Iterator[Picture]:
    """(H, W, 3) RGB arrays (integer white ``peak``; None: floats in [0, 1]) as pictures."""
    for frame in frames:
        yield Picture.of_rgb([frame[..., c] for c in range(3)], peak)


@dataclass(frozen=True, eq=False)
class Restored:
    """One output frame, in its own format: the input's planes (``source``, never written) with
    ``patches`` written over them, the ``region`` (x0, y0, x1, y1) the change lies in with
    ``region_changed`` (its pixels whose RGB changed; region None: nothing changed), and how many
    faces were pasted (face mode; 0 in aligned mode)."""

    source: Sequence[np.ndarray]
    patches: Sequence[Patch] = ()
    region: tuple[int, int, int, int] | None = None
    region_changed: np.ndarray | None = None
    faces: int = 0

    @property
    def planes(self) -> list[np.ndarray]:
        """The output's planes: copies where a patch lands, the input's own elsewhere."""
        planes = list(self.source)
        for index in {patch.plane for patch in self.patches}:
            planes[index] = np.array(planes[index])
        self.write_patches(planes)
        return planes

    def write_patches(self, planes: Sequence[np.ndarray]) -> None:
        """Writes the patches into ``planes`` (a copy of the input's)."""
        for patch in self.patches:
            patch.write(planes)

    @property
    def changed(self) -> np.ndarray | None:
        """(H, W): the pixels whose RGB changed; None when none did."""
        if self.region is None:
            return None
        x0, y0, x1, y1 = self.region
        changed = np.zeros(self.source[0].shape, bool)
        changed[y0:y1, x0:x1] = self.region_changed
        return changed

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3): the planes of an RGB frame, stacked."""
        return np.stack(self.planes[:3], axis=-1)


def restored(picture: Picture, region: tuple[int, int, int, int], before: np.ndarray, after: np.ndarray,
             faces: int = 0) -> Restored:
    """``picture`` with the RGB of ``region`` changed from ``before`` to ``after``."""
    patches, changed = composite(picture.planes, picture.layout, region, before, after)
    return Restored(picture.planes, patches, region, changed, faces)
