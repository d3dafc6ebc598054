"""Test clips for VapourSynth scripts, built from numpy only (scripts that use them must not
import vs_stc: the point is that core.stc works without it)."""

from __future__ import annotations

import numpy as np
import vapoursynth as vs


def moving_rgb(core: vs.Core, size: int, length: int) -> vs.VideoNode:
    """An RGB24 clip: a gradient with a bright ellipse drifting across, different every frame."""
    y, x = np.mgrid[0:size, 0:size] / size

    def draw(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        cx, cy = 0.3 + 0.02 * n, 0.5 + 0.01 * (n % 7)
        blob = ((x - cx) / 0.2) ** 2 + ((y - cy) / 0.3) ** 2 < 1
        for p, base in enumerate((0.2 + 0.5 * y, 0.3 + 0.4 * x, 0.6 - 0.3 * y)):
            plane = np.where(blob, 0.9 - 0.1 * p, base) * 255
            np.copyto(np.asarray(out[p]), plane.astype(np.uint8))
        return out

    blank = core.std.BlankClip(format=vs.RGB24, width=size, height=size, length=length, fpsnum=25, fpsden=1)
    return core.std.ModifyFrame(blank, blank, draw)


def moving(core: vs.Core, size: int, length: int, fmt: int = vs.RGB24) -> vs.VideoNode:
    clip = moving_rgb(core, size, length)
    if fmt == vs.RGB24:
        return clip
    if core.get_video_format(fmt).color_family in (vs.YUV, vs.GRAY):
        return core.resize.Bicubic(clip, format=fmt, matrix_s="709")
    return core.resize.Bicubic(clip, format=fmt)


def counted_blank(core: vs.Core, fmt: int, width: int, height: int, length: int) -> tuple[vs.VideoNode, list[int]]:
    """A blank clip and the list of the frame numbers asked of it, in the order asked."""
    requested: list[int] = []

    def count(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        requested.append(n)
        return f

    blank = core.std.BlankClip(format=fmt, width=width, height=height, length=length)
    return core.std.ModifyFrame(blank, blank, count), requested
