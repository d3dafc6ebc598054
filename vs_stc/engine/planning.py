"""Window planning: which model windows serve each output frame, and with what crossfade weight.

Pure functions of (clip length, window, overlap, scene cuts). Each shot (the frames between two
cuts) is planned on its own, so no window ever straddles a cut:

- a shot at least one window long gets windows every ``window - overlap`` frames; when the last
  regular window stops short of the shot's end, one more window ends exactly on the shot's last
  frame (it overlaps its neighbour by more than ``overlap``), so no frame is ever padded;
- a shot shorter than the window gets one window padded by reflecting the shot's own frames
  (never black, never frames of another shot).

Consecutive windows hand over with a raised-cosine ramp across their overlap; the weights of
every frame sum to 1 and at most two windows make any frame. Where three windows overlap (the
shot's last window, or overlap > window / 2), a handover starts only where the previous one
ended, so the ramps never mix three windows. With ``overlap=0`` windows meet with hard cuts.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Window:
    """One model run: the clip frames it reads, in order (reflection padding repeats frames)."""

    shot_start: int
    shot_end: int
    start: int  # first clip frame of the window; ``frames`` starts here
    length: int

    @property
    def end(self) -> int:
        """One past the last real clip frame the window covers."""
        return min(self.start + self.length, self.shot_end)

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(self.shot_start + reflect(self.start - self.shot_start + i, self.shot_end - self.shot_start)
                     for i in range(self.length))


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


def shot_window_starts(length: int, window: int, overlap: int) -> list[int]:
    """Window starts, relative to the shot, for a shot of ``length`` frames."""
    if length <= window:
        return [0]
    stride = window - overlap
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
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
    length: int
    window: int
    overlap: int
    windows: tuple[Window, ...]

    @cached_property
    def _ends(self) -> list[int]:
        return [w.end for w in self.windows]

    def _same_shot(self, a: int, b: int) -> bool:
        return 0 <= a < len(self.windows) and 0 <= b < len(self.windows) and (
            self.windows[a].shot_start == self.windows[b].shot_start
        )

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


def plan(length: int, window: int = 24, overlap: int = 8, cuts: Sequence[int] = ()) -> Plan:
    """Plans a clip of ``length`` frames. ``cuts``: frames that start a new shot."""
    if length < 1:
        raise ValueError(f"a clip needs at least one frame, not {length}")
    validate(window, overlap)
    windows = tuple(
        Window(shot_start, shot_end, shot_start + s, window)
        for shot_start, shot_end in shot_bounds(length, cuts)
        for s in shot_window_starts(shot_end - shot_start, window, overlap)
    )
    return Plan(length, window, overlap, windows)
