"""Window planning: which model windows serve each output frame, and with what crossfade weight.

Pure functions of (clip length, window, overlap, scene cuts). Windows lie on one grid for the
whole clip, a window every ``stride = window - overlap`` frames from frame 0, and no window ever
straddles a cut (a cut at c: frame c starts a new shot):

- in a shot at least one window long, a grid window serves only if it lies wholly inside the
  shot; the shot adds a window starting on its first frame and one ending on its last frame (each
  overlaps its grid neighbour by at least ``overlap``), so no frame is ever padded. Without cuts
  the plan is the familiar one: windows every ``stride`` frames and one more ending on the clip's
  last frame;
- a shot no longer than the window gets one window padded by reflecting the shot's own frames
  (never black, never frames of another shot).

Because the grid does not move with the cuts, whether a window exists depends only on the cuts
within it and right after it, so the windows around a frame are known from the cuts near it:
:func:`plan_around` plans frame ``n`` asking only about frames ``cut_span(n, ...)`` (from
``2 * window - overlap - 1`` frames before ``n`` to ``window`` frames after it), which lets a
filter read scene-change props lazily from the frames each request already brings.

Consecutive windows hand over with a raised-cosine ramp across their overlap; the weights of
every frame sum to 1 and at most two windows make any frame. Where three windows overlap (a
shot's first or last window, or overlap > window / 2), a handover starts only where the previous
one ended, so the ramps never mix three windows. With ``overlap=0`` windows meet with hard cuts.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable

IsCut = Callable[[int], bool]  # whether frame n (0 < n < length) starts a new shot


@dataclass(frozen=True)
class Window:
    """One model run: the clip frames it reads, in order (reflection padding repeats frames)."""

    start: int  # first clip frame of the window; ``frames`` starts here
    length: int
    end: int  # one past the last real clip frame; below start + length only in a short shot
    opens_shot: bool = True  # ``start`` is the first frame of a shot

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(self.start + reflect(i, self.end - self.start) for i in range(self.length))


@dataclass(frozen=True)
class Contribution:
    window: int  # index into Plan.windows
    offset: int  # position of the frame inside that window
    weight: float


def reflect(i: int, length: int) -> int:
    """Index ``i`` folded into [0, length) by mirroring at the ends (0 1 2 3 2 1 0 1 ...)."""
    if length == 1:
        return 0
    period = 2 * (length - 1)
    i %= period
    return i if i < length else period - i


def validate(window: int, overlap: int) -> None:
    if window < 2 or window % 2:
        raise ValueError(f"window must be an even number of frames >= 2, not {window}")
    if overlap < 0 or overlap % 2 or overlap >= window:
        raise ValueError(f"overlap must be even and in [0, window) = [0, {window}), not {overlap}")


def shot_window_starts(shot_start: int, shot_end: int, window: int, overlap: int) -> list[int]:
    """Window starts (clip frames) of the shot [shot_start, shot_end): its first frame, the grid
    points whose windows fit inside it, and the start of the window ending on its last frame."""
    if shot_end - shot_start <= window:
        return [shot_start]
    stride = window - overlap
    first_grid = (shot_start // stride + 1) * stride
    starts = [shot_start, *range(first_grid, shot_end - window + 1, stride)]
    if starts[-1] != shot_end - window:
        starts.append(shot_end - window)
    return starts


def shot_bounds(length: int, cuts: Iterable[int]) -> list[tuple[int, int]]:
    """[start, end) of every shot; a cut at c means frame c starts a new shot."""
    edges = sorted({c for c in cuts if 0 < c < length})
    starts = [0, *edges]
    return list(zip(starts, [*edges, length]))


def ramp(position: float, span: int) -> float:
    """Raised-cosine rise across ``span`` frames, evaluated at frame centres: 0 -> 1."""
    return math.sin(0.5 * math.pi * (position + 0.5) / span) ** 2


@dataclass(frozen=True)
class Plan:
    """Windows in order of their starts: every window of the clip, or (from :func:`plan_around`)
    a consecutive run of them, enough for the frames it was made for."""

    length: int
    window: int
    overlap: int
    windows: tuple[Window, ...]

    @cached_property
    def _ends(self) -> list[int]:
        return [w.end for w in self.windows]

    def _same_shot(self, a: int, b: int) -> bool:
        """For consecutive windows a = b - 1: b continues a's shot."""
        return 0 <= a < len(self.windows) and 0 <= b < len(self.windows) and not self.windows[b].opens_shot

    def handover_start(self, index: int) -> int:
        """Where window ``index`` starts handing over to the next: at the next window's start, or
        where the previous handover ended, whichever is later. The handover ends at this window's end."""
        start = self.windows[index + 1].start
        if self._same_shot(index - 1, index):
            start = max(start, self.windows[index - 1].end)
        return start

    def contributions(self, frame: int) -> list[Contribution]:
        """The windows that make output ``frame`` and their weights, which sum to 1.

        Window ends partition each shot: the first window ending after ``frame`` owns it, and
        shares it with the next window when ``frame`` falls in their handover."""
        if not 0 <= frame < self.length:
            raise IndexError(f"frame {frame} is outside the clip (0..{self.length - 1})")
        i = bisect.bisect_right(self._ends, frame)
        window = self.windows[i]
        if self._same_shot(i, i + 1):
            handover = self.handover_start(i)
            if frame >= handover:
                incoming = ramp(frame - handover, window.end - handover)
                nxt = self.windows[i + 1]
                return [
                    Contribution(i, frame - window.start, 1.0 - incoming),
                    Contribution(i + 1, frame - nxt.start, incoming),
                ]
        return [Contribution(i, frame - window.start, 1.0)]


def windows_between(lo: int, hi: int, length: int, window: int, overlap: int, is_cut: IsCut) -> tuple[Window, ...]:
    """Every window of the clip that starts in [lo, hi), in order. Asks ``is_cut`` only about
    frames in [lo, hi + window - 1] that lie inside (0, length)."""
    lo, hi = max(lo, 0), min(hi, length)
    if lo >= hi:
        return ()
    last = min(hi + window - 1, length - 1)  # the last frame asked about
    cuts = [f for f in range(max(lo, 1), last + 1) if is_cut(f)]
    # Shots meeting [lo, last]: a start before lo, or an end after last, is unknown; lo - 1 and
    # last + 1 stand in for them (lo - 1 only drops the start window of a shot begun before lo;
    # last + 1 >= hi + window only drops windows that start at hi or later).
    first_start = lo if lo == 0 or (cuts and cuts[0] == lo) else lo - 1
    starts = [first_start, *(c for c in cuts if c != lo)]
    ends = [*starts[1:], length if last == length - 1 else last + 1]
    windows = []
    for shot_start, shot_end in zip(starts, ends):
        for s in shot_window_starts(shot_start, shot_end, window, overlap):
            if lo <= s < hi:
                windows.append(Window(s, window, min(s + window, shot_end), s == shot_start))
    return tuple(windows)


def cut_span(frame: int, window: int, overlap: int) -> tuple[int, int]:
    """The frames [first, last] (clipped to the clip by the caller) that :func:`plan_around`
    asks ``is_cut`` about for ``frame``."""
    return frame - 2 * window + overlap + 1, frame + window


def plan_around(frame: int, length: int, window: int, overlap: int, is_cut: IsCut) -> Plan:
    """The windows that can matter to ``frame``: enough for ``contributions(frame)``, equal to
    ``plan(...).contributions(frame)`` with windows of the same starts. A frame's windows start in
    [frame - window + 1, frame], and the window before its first one (whose end can delay a
    handover) at most ``window - overlap`` frames earlier."""
    validate(window, overlap)
    if not 0 <= frame < length:
        raise IndexError(f"frame {frame} is outside the clip (0..{length - 1})")
    first, _ = cut_span(frame, window, overlap)
    return Plan(length, window, overlap, windows_between(first, frame + 1, length, window, overlap, is_cut))


def plan(length: int, window: int = 24, overlap: int = 8, cuts: Iterable[int] = ()) -> Plan:
    """Plans a clip of ``length`` frames. ``cuts``: frames that start a new shot."""
    if length < 1:
        raise ValueError(f"a clip needs at least one frame, not {length}")
    validate(window, overlap)
    windows = tuple(
        Window(s, window, min(s + window, shot_end), s == shot_start)
        for shot_start, shot_end in shot_bounds(length, cuts)
        for s in shot_window_starts(shot_start, shot_end, window, overlap)
    )
    return Plan(length, window, overlap, windows)
