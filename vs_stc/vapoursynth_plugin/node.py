"""Builds the output clip: converts to RGB, plans windows (honouring scene-change props), and
serves every output frame from the engine inside one ModifyFrame, whose input clips are the source
shifted in time so that VapourSynth prefetches every frame a window needs (no get_frame inside a
callback). Converts back to the input format at the end."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import vapoursynth as vs

from ..engine import EngineOptions, RandomAccessRestorer, SampleFormat, WindowRunner, tensor_to_planes
from ..models import STCNet
from .options import FilterOptions

core = vs.core


def sample_format(fmt: vs.VideoFormat) -> SampleFormat:
    if fmt.sample_type == vs.FLOAT:
        return SampleFormat.of(np.float16 if fmt.bits_per_sample == 16 else np.float32)
    return SampleFormat.of(np.uint8 if fmt.bits_per_sample == 8 else np.uint16, fmt.bits_per_sample)


def shifted(clip: vs.VideoNode, offset: int) -> vs.VideoNode:
    """Frame n of the result is frame n + offset of ``clip`` (clamped to the clip's ends)."""
    n = clip.num_frames
    if offset == 0:
        return clip
    if offset > 0:
        if offset >= n:
            return clip[n - 1] * n
        return clip[offset:] + clip[n - 1] * offset
    if -offset >= n:
        return clip[0] * n
    return clip[0] * -offset + clip[: n + offset]


def scene_cuts(clip: vs.VideoNode) -> list[int]:
    """Frames that start a new shot, from _SceneChangePrev / _SceneChangeNext. Scans the clip's
    frame props only when its first frame carries them (a scene-detection filter ran upstream)."""
    first = clip.get_frame(0).props
    if "_SceneChangePrev" not in first and "_SceneChangeNext" not in first:
        return []
    cuts = []
    previous_next = 0
    for n, frame in enumerate(clip.frames(close=True)):
        props = frame.props
        if n > 0 and (props.get("_SceneChangePrev", 0) or previous_next):
            cuts.append(n)
        previous_next = props.get("_SceneChangeNext", 0)
    return cuts


def yuv_matrix(clip: vs.VideoNode) -> tuple[int, bool]:
    """The clip's matrix coefficients from its first frame's _Matrix, or BT.709 when unspecified.
    Returns (matrix, assumed)."""
    matrix = clip.get_frame(0).props.get("_Matrix", 2)
    return (1, True) if matrix == 2 else (matrix, False)


def to_rgb(clip: vs.VideoNode, matrix: int) -> vs.VideoNode:
    """YUV -> RGBS (RGB clips pass through)."""
    if clip.format.color_family == vs.RGB:
        return clip
    return core.resize.Bicubic(clip, format=vs.RGBS, matrix_in=matrix)


def from_rgb(rgb: vs.VideoNode, original: vs.VideoNode, matrix: int) -> vs.VideoNode:
    """Back to the original format, matrix and range."""
    if original.format.color_family == vs.RGB:
        return rgb
    full = original.get_frame(0).props.get("_Range", vs.RANGE_LIMITED) == vs.RANGE_FULL
    return core.resize.Bicubic(rgb, format=original.format.id, matrix=matrix, range_s="full" if full else "limited")


def build(clip: vs.VideoNode, network: STCNet, options: FilterOptions) -> vs.VideoNode:
    matrix, assumed = yuv_matrix(clip) if clip.format.color_family == vs.YUV else (0, False)
    rgb = to_rgb(clip, matrix)
    fmt = sample_format(rgb.format)
    engine_options = EngineOptions(window=options.window, overlap=options.overlap, resize=True,
                                   keep_detail=options.keep_detail, keep_colours=options.keep_colours)
    runner = WindowRunner(network, fmt, engine_options)
    restorer = RandomAccessRestorer(runner, rgb.num_frames, (rgb.height, rgb.width), cuts=scene_cuts(clip))
    reach = options.window - 1  # a frame's windows never read further than this from it
    clips = [rgb] + [shifted(rgb, d) for d in range(-reach, reach + 1)]
    props = {
        "STCModel": options.model,
        "STCPrecision": options.precision,
        "STCWindow": options.window,
        "STCOverlap": options.overlap,
        "STCKeepDetail": int(options.keep_detail),
        "STCKeepColours": int(options.keep_colours),
        **({"STCAssumedMatrix": matrix} if assumed else {}),
    }

    def serve(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        by_index = {n + d: f[1 + d + reach] for d in range(-reach, reach + 1)}

        def read(indices: Sequence[int]) -> list[list[np.ndarray]]:
            return [[np.asarray(by_index[i][p]) for p in range(3)] for i in indices]

        restored = restorer.frame(n, read)
        out = f[0].copy()
        tensor_to_planes(restored, fmt, out=[np.asarray(out[p]) for p in range(3)])
        out.props.update(props)
        out.props["STCWindows"] = [restorer.plan.windows[c.window].start for c in restorer.plan.contributions(n)]
        return out

    restored = core.std.ModifyFrame(rgb, clips, serve)
    return from_rgb(restored, clip, matrix)

