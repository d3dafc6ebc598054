"""Integer pixel rectangles: the frame regions that crops come from and pastes go to."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rect:
    """Pixels x0 <= x < x1, y0 <= y < y1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(cls, points: np.ndarray, margin: int = 0) -> "Rect":
        """The smallest rectangle holding every point (pixel centres), widened by ``margin``."""
        points = np.asarray(points, np.float64).reshape(-1, 2)
        lo, hi = points.min(0), points.max(0)
        return cls(math.floor(lo[0]) - margin, math.floor(lo[1]) - margin,
                   math.ceil(hi[0]) + 1 + margin, math.ceil(hi[1]) + 1 + margin)

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    @property
    def slices(self) -> tuple[slice, slice]:
        """Index a (H, W, ...) array with ``frame[rect.slices]``."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def clipped(self, height: int, width: int) -> "Rect":
        return Rect(max(self.x0, 0), max(self.y0, 0), min(self.x1, width), min(self.y1, height))

    def shifted(self, dx: int, dy: int) -> "Rect":
        return Rect(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def union(self, other: "Rect") -> "Rect":
        if self.is_empty:
            return other
        if other.is_empty:
            return self
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def intersection(self, other: "Rect") -> "Rect":
        return Rect(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))

    def aligned(self, multiple: int, height: int, width: int) -> "Rect":
        """Grown outwards to multiples of ``multiple`` (chroma subsampling: 2 for 4:2:0), then
        clipped to the frame (whose sides a surface keeps at such multiples anyway)."""
        if multiple <= 1:
            return self.clipped(height, width)
        grown = Rect(self.x0 // multiple * multiple, self.y0 // multiple * multiple,
                     -(-self.x1 // multiple) * multiple, -(-self.y1 // multiple) * multiple)
        return grown.clipped(height, width)
