"""Work units: which frames of which file a worker renders, and which input frames it decodes.

A chunk's output frames end where an engine window ends, and it decodes every frame of the windows
that make its output (the neighbour window its last crossfade needs included), so a chunk's frames
are those of a render of the whole file: the engine makes each output frame from its windows alone
(engine/runner.py), given the file's scene cuts (found once by the driver's survey of the file).
Face mode (whole frames) can split anywhere: a stretch of frames given the context of
``faces.restoring.block_context`` on each side comes out as in one pass over the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.planning import plan
from ..faces.restoring import block_context
from ..options import RunOptions

CHUNK_FRAMES = 256  # a chunk is at least this long (one window more is rendered twice per cut)


@dataclass(frozen=True)
class Unit:
    """Output frames [start, stop) of one file (stop None: the whole file, rendered as a stream).
    A chunk decodes input frames [read_from, read_to) of a file of ``length`` frames, seeking to
    the key frame ``seek_pts`` and starting at the frame whose pts is ``first_pts``."""

    job: int  # the file's place among the batch's renders
    source: str
    pix_fmt: str
    start: int = 0
    stop: int | None = None
    length: int | None = None
    read_from: int = 0
    read_to: int | None = None
    seek_pts: int | None = None
    first_pts: int | None = None
    cuts: tuple[int, ...] = ()  # every frame of the file that starts a shot (chunks only)

    @property
    def name(self) -> str:
        return f"{self.start:09d}"


def chunk_bounds(length: int, window: int, overlap: int, chunk_frames: int = CHUNK_FRAMES,
                 cuts: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Output ranges [a, b) covering [0, length), each cut at a window's end and at least
    ``chunk_frames`` long (the last one may be shorter)."""
    bounds, start = [], 0
    for end in sorted({w.end for w in plan(length, window, overlap, cuts).windows}):
        if end - start >= chunk_frames and length - end >= 1:
            bounds.append((start, end))
            start = end
    bounds.append((start, length))
    return bounds


def frames_needed(length: int, window: int, overlap: int, start: int, stop: int,
                  cuts: tuple[int, ...] = ()) -> tuple[int, int]:
    """The input frames [first, last + 1) of the windows that make output frames [start, stop)."""
    whole = plan(length, window, overlap, cuts)
    used = [c.window for n in (start, stop - 1) for c in whole.contributions(n)]
    return min(whole.windows[i].start for i in used), max(whole.windows[i].end for i in used)


def chunks(length: int, options: RunOptions, cuts: tuple[int, ...] = (),
           chunk_frames: int = CHUNK_FRAMES) -> list[tuple[int, int, int, int]]:
    """(start, stop, read_from, read_to) of the chunks of a file of ``length`` frames with scene
    ``cuts``: output frames [start, stop) made from input frames [read_from, read_to)."""
    if options.faces == "aligned":
        return [(start, stop, *frames_needed(length, options.window, options.overlap, start, stop, cuts))
                for start, stop in chunk_bounds(length, options.window, options.overlap, chunk_frames, cuts)]
    before, after = block_context(options.window, options.overlap)
    return [(start, min(start + chunk_frames, length), max(0, start - before), min(length, start + chunk_frames + after))
            for start in range(0, length, chunk_frames)]
