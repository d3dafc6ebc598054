"""Restoring one face track's aligned crops through the model, on the clip's window grid.

A track never crosses a cut, so it is a shot of its own, and its windows are planned as the
engine plans a shot (planning.py): on the grid of the whole clip, a window every
``window - overlap`` frames from frame 0, plus the track's own first and last windows. Output
frame n then depends only on windows starting at most ``2 * window - overlap - 1`` frames before
it and reaching at most ``window - 1`` frames after it. Surfaces cut a clip into blocks (for
bounded memory and random access); when a block is analysed with ``block_context`` frames around
it, each of its frames comes out exactly as one pass over the whole track would make it, so the
blocks leave no seam and no block boundary shows in the output.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..engine import Frame, WindowRunner
from ..engine.planning import Plan, Window, shot_window_starts
from .alignment import Alignment
from .analysis import FaceTrack, block_margin


def block_context(window: int, overlap: int) -> tuple[int, int]:
    """Frames to analyse before and after a block: the analysis margin (``block_margin``) around
    the frames whose windows reach into the block (their first windows' starts, which fix the
    handovers, and their last windows' ends)."""
    return block_margin() + 2 * window - overlap, block_margin() + window


def track_plan(start: int, stop: int, window: int, overlap: int) -> Plan:
    """The engine's plan of a track over frames ``start`` .. ``stop - 1`` as one shot of the clip."""
    windows = tuple(Window(s, window, min(s + window, stop), s == start)
                    for s in shot_window_starts(start, stop, window, overlap))
    return Plan(stop, window, overlap, windows)


def restore_track(runner: WindowRunner, track: FaceTrack, crop_at: Callable[[int, Alignment], np.ndarray],
                  wanted: range) -> dict[int, np.ndarray]:
    """{n: restored crop (R, R, 3) float32 in [0, 1]} for the frames of ``wanted`` the track shows.
    ``crop_at(n, alignment)``: the aligned crop (R, R, 3) of frame n, in the runner's sample format;
    asked only for frames within ``window - 1`` of ``wanted``. The windows those frames need run
    together (``WindowRunner.run_many``: side by side where the runner has several lanes)."""
    options = runner.options
    plan = track_plan(track.start, track.stop, options.window, options.overlap)
    crops: dict[int, Frame] = {}

    def planes(n: int) -> Frame:
        if n not in crops:  # neighbouring windows share frames: each is cropped once
            aligned = crop_at(n, track.alignment(n))
            crops[n] = [aligned[..., c] for c in range(3)]
        return crops[n]

    shown = [n for n in range(max(wanted.start, track.start), min(wanted.stop, track.stop)) if track.weight(n) > 0]
    needed = {plan.windows[c.window].start: plan.windows[c.window] for n in shown for c in plan.contributions(n)}
    outputs = dict(zip(needed, runner.run_many([([planes(i) for i in window.frames], start)
                                                for start, window in needed.items()])))
    restored = {}
    for n in shown:
        contributions = plan.contributions(n)
        original = planes(n) if options.uses_input_frames else None
        blended = runner.finish(contributions, [outputs[plan.windows[c.window].start] for c in contributions],
                                runner.resolution, original)
        restored[n] = blended.permute(1, 2, 0).numpy()
    return restored
