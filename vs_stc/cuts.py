"""The built-in scene-cut detector, the same on every surface.

A frame starts a new shot when its small luma image (block means, about 36 rows) differs from the
frame before's by at least ``THRESHOLD`` (mean absolute difference on a 0-1 scale, at the best of
small shifts, so that a pan is not a change of picture), at least ``RATIO`` times as much as the
frames around it differ from their neighbours (a steady fast pan or a fade changes every frame a
lot; a cut changes one frame far more than the others), and the frame after does not return to the
picture before it (a flash or a single odd frame is not a cut). So
frame n's flag needs frames n - 2 .. n + 1: a stream knows it one frame late, random access reads
those four frames. Gradual transitions (fades, dissolves) are not cuts; windows may cross them.

Luma comes from the frame's own luma plane (YUV, gray) or from RGB with BT.709 weights, never from
a surface's own RGB conversion, so that the pipe, batch renders and VapourSynth find the same cuts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

THUMBNAIL_ROWS = 36
THRESHOLD = 0.04  # mean absolute luma difference (0-1) a cut must reach, at the best shift
RATIO = 3.0  # ... and how many times the change just before it
SHIFT = 2  # thumbnail pixels (about 1/18 of the frame's height) a pan may move between frames
RETURN = 0.5  # a frame after a "cut" this close to the frame before it (relative to the cut) makes it a flash
BT709_LUMA = (0.2126, 0.7152, 0.0722)
CUT_SOURCES = ("auto", "props", "off")  # the ``cuts`` option: see options.py

T = TypeVar("T")


def thumbnail(luma: np.ndarray, peak: float) -> np.ndarray:
    """(H, W) luma samples -> block means in [0, 1] (float64), about 36 along the shorter side."""
    h, w = luma.shape
    step = max(1, min(h, w) // THUMBNAIL_ROWS)
    rows, cols = h // step, w // step
    blocks = luma[:rows * step, :cols * step]
    if blocks.dtype.kind in "ui":  # integer sums are exact, as float64's are: the same means, 3x faster
        sums = blocks.reshape(rows, step, cols * step).sum(axis=1, dtype=np.int64)
        return sums.reshape(rows, cols, step).sum(axis=2) / (step * step) / peak
    return blocks.astype(np.float64).reshape(rows, step, cols, step).mean(axis=(1, 3)) / peak


def rgb_luma(red: np.ndarray, green: np.ndarray, blue: np.ndarray) -> np.ndarray:
    """BT.709 luma of RGB planes, float64 in the planes' own units."""
    kr, kg, kb = BT709_LUMA
    return kr * red.astype(np.float64) + kg * green.astype(np.float64) + kb * blue.astype(np.float64)


def _change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails at the best of the shifts up to ``SHIFT``
    thumbnail pixels either way (a pan moves the picture; a cut replaces it)."""
    h, w = a.shape
    best = float("inf")
    for dy in range(-SHIFT, SHIFT + 1):
        for dx in range(-SHIFT, SHIFT + 1):
            if abs(dy) >= h or abs(dx) >= w:
                continue
            moved = a[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
            fixed = b[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
            best = min(best, float(np.abs(moved - fixed).mean()))
    return best


def starts_shot(two_before: np.ndarray | None, before: np.ndarray | None, this: np.ndarray,
                after: np.ndarray | None) -> bool:
    """Whether the frame of thumbnail ``this`` starts a new shot, given the thumbnails of the two
    frames before it and the one after it (None beyond the clip's ends)."""
    if before is None:
        return False
    change = _change(before, this)
    if change < THRESHOLD:
        return False
    if two_before is not None and change < RATIO * _change(two_before, before):
        return False
    return after is None or (_change(before, after) >= RETURN * change and change >= RATIO * _change(this, after))


class StreamCuts:
    """Cut flags of frames given in order: ``follow`` hands each item on once its frame's flag is
    known (one frame late; the last at the end), and ``cuts`` then holds every cut so far."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.cuts: set[int] = set()

    def follow(self, items: Iterable[tuple[T, np.ndarray]]) -> Iterator[T]:
        """``items``: (item, thumbnail of its frame) in frame order -> the items, in order."""
        if not self.enabled:
            yield from (item for item, _ in items)
            return
        held: deque[tuple[T, np.ndarray]] = deque(maxlen=4)  # frames n - 2 .. n + 1
        arrived = 0
        for item, thumb in items:
            held.append((item, thumb))
            arrived += 1
            if arrived >= 2:  # frame n = arrived - 2 now has the frame after it
                self._judge(arrived - 2, [t for _, t in held], ahead=1)
                yield held[-2][0]
        if held:
            self._judge(arrived - 1, [t for _, t in held], ahead=0)
            yield held[-1][0]

    def _judge(self, n: int, thumbs: list[np.ndarray], ahead: int) -> None:
        """Flags frame n from the held thumbnails, the last ``ahead`` of which come after it."""
        at = len(thumbs) - 1 - ahead
        near = [thumbs[i] if 0 <= i < len(thumbs) else None for i in (at - 2, at - 1, at, at + 1)]
        if n > 0 and starts_shot(*near):
            self.cuts.add(n)


class RandomAccessCuts:
    """Cut flags of any frame of a clip of ``length`` frames, in any order and from any thread;
    thumbnails and flags of the frames asked about lately are kept."""

    def __init__(self, length: int, kept: int = 4096) -> None:
        self.length, self.kept = length, kept
        self._thumbnails: OrderedDict[int, np.ndarray] = OrderedDict()
        self._flags: OrderedDict[int, bool] = OrderedDict()
        self._lock = threading.Lock()

    def starts_shot(self, n: int, thumbnail_of: Callable[[int], np.ndarray]) -> bool:
        """Whether frame n starts a shot; ``thumbnail_of(i)`` is asked for frames n - 2 .. n + 1."""
        with self._lock:
            if n in self._flags:
                return self._flags[n]
        near = [self._thumbnail(i, thumbnail_of) if 0 <= i < self.length else None for i in (n - 2, n - 1, n, n + 1)]
        flag = n > 0 and starts_shot(*near)
        with self._lock:
            self._remember(self._flags, n, flag)
        return flag

    def _thumbnail(self, n: int, thumbnail_of: Callable[[int], np.ndarray]) -> np.ndarray:
        with self._lock:
            if n in self._thumbnails:
                return self._thumbnails[n]
        thumb = thumbnail_of(n)
        with self._lock:
            self._remember(self._thumbnails, n, thumb)
        return thumb

    def _remember(self, kept: OrderedDict, key: int, value: object) -> None:
        kept[key] = value
        kept.move_to_end(key)
        while len(kept) > self.kept:
            kept.popitem(last=False)
