"""Builds the output clip without rendering a frame: nothing is read until a frame is asked for.

- YUV -> RGB -> YUV per frame, from each frame's own ``_Matrix`` and ``_Range`` props (BT.709
  where ``_Matrix`` is missing or 2, unspecified: such frames get ``STCAssumedMatrix=1``; limited
  range where ``_Range`` is missing). The way back picks, per frame, a conversion clip built on
  first use for that (matrix, range).
- Scene cuts come from the ``_SceneChangePrev`` / ``_SceneChangeNext`` props of the frames each
  request already brings: the plan (planning.py) needs only the cuts from ``2 * window - overlap - 1``
  frames before a frame to ``window`` frames after it, never a scan of the clip.
- Every output frame is served from the engine inside one ModifyFrame, whose input clips are the
  source shifted in time (``window`` frames ahead, ``2 * window - overlap`` back), so that
  VapourSynth prefetches every frame a request needs (no get_frame inside a callback). A frame's
  windows read only frames within ``window - 1`` of it; the frames further back lend their props.
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np
import vapoursynth as vs

from ..engine import RandomAccessRestorer, SampleFormat, WindowRunner, tensor_to_planes
from ..engine.planning import cut_span
from ..models import STCNet
from ..options import RunOptions

core = vs.core

ASSUMED_MATRIX = 1  # BT.709, for YUV frames whose _Matrix is missing or unspecified


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


def starts_shot(props: vs.FrameProps, previous: vs.FrameProps | None) -> bool:
    """Whether the frame with ``props`` starts a new shot (``previous``: the frame before's)."""
    return bool(props.get("_SceneChangePrev", 0)) or bool(previous is not None and previous.get("_SceneChangeNext", 0))


def frame_matrix(props: vs.FrameProps) -> tuple[int, bool]:
    """A YUV frame's matrix coefficients: its _Matrix, or BT.709 when missing or unspecified.
    Returns (matrix, assumed)."""
    matrix = int(props.get("_Matrix", 2))
    return (ASSUMED_MATRIX, True) if matrix == 2 else (matrix, False)


def full_range(props: vs.FrameProps) -> bool:
    """Whether a YUV frame is full range: its _Range, limited when missing."""
    return props.get("_Range", vs.RANGE_LIMITED) == vs.RANGE_FULL


def with_matrix(clip: vs.VideoNode) -> vs.VideoNode:
    """YUV frames whose _Matrix is missing or unspecified get BT.709 and STCAssumedMatrix=1; the
    others pass unchanged. Per frame, when the frame is asked for."""

    def fix(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        matrix, assumed = frame_matrix(f.props)
        if not assumed:
            return f
        out = f.copy()
        out.props["_Matrix"] = matrix
        out.props["STCAssumedMatrix"] = 1
        return out

    return core.std.ModifyFrame(clip, clip, fix)


def to_rgb(clip: vs.VideoNode) -> vs.VideoNode:
    """YUV -> RGBS with each frame's own matrix and range (RGB clips pass through)."""
    if clip.format.color_family == vs.RGB:
        return clip
    return core.resize.Bicubic(with_matrix(clip), format=vs.RGBS)


def from_rgb(rgb: vs.VideoNode, original: vs.VideoNode) -> vs.VideoNode:
    """Back to the original format, each frame with the matrix and range of ``original``'s frame
    (BT.709 where that is unspecified), through a conversion clip made on first use per pair."""
    if original.format.color_family == vs.RGB:
        return rgb
    conversions: dict[tuple[int, bool], vs.VideoNode] = {}
    lock = threading.Lock()

    def convert(n: int, f: vs.VideoFrame) -> vs.VideoNode:
        matrix, full = frame_matrix(f.props)[0], full_range(f.props)
        key = (matrix, full)
        with lock:
            if key not in conversions:
                conversions[key] = core.resize.Bicubic(rgb, format=original.format.id, matrix=matrix,
                                                       range_s="full" if full else "limited")
            return conversions[key]

    template = core.std.BlankClip(original, keep=True)  # FrameEval's output format, length and rate
    return core.std.FrameEval(template, convert, prop_src=original, clip_src=rgb)


def run_props(options: RunOptions) -> dict[str, object]:
    """The frame props that say how a frame was made."""
    return {
        "STCModel": options.model,
        "STCPrecision": options.precision,
        "STCWindow": options.window,
        "STCOverlap": options.overlap,
        "STCKeepDetail": int(options.keep_detail),
        "STCKeepColours": int(options.keep_colours),
    }


def build(clip: vs.VideoNode, network: STCNet, options) -> vs.VideoNode:
    """``options``: model, precision, window, overlap, keep_detail, keep_colours."""
    rgb = to_rgb(clip)
    fmt = sample_format(rgb.format)
    runner = WindowRunner(network, fmt, options.engine_options())
    length = rgb.num_frames
    restorer = RandomAccessRestorer(runner, length, (rgb.height, rgb.width))
    first_cut, last_cut = cut_span(0, options.window, options.overlap)
    back, ahead = 1 - first_cut, last_cut  # frames whose props decide the cuts: n - back .. n + ahead
    clips = [rgb] + [shifted(rgb, d) for d in range(-back, ahead + 1)]
    props = run_props(options)

    def serve(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        by_index = {n + d: f[1 + d + back] for d in range(-back, ahead + 1)}

        def read(indices: Sequence[int]) -> list[list[np.ndarray]]:
            return [[np.asarray(by_index[i][p]) for p in range(3)] for i in indices]

        def is_cut(i: int) -> bool:
            return starts_shot(by_index[i].props, by_index[i - 1].props)

        restored, windows = restorer.frame_and_windows(n, read, is_cut)
        out = f[0].copy()
        tensor_to_planes(restored, fmt, out=[np.asarray(out[p]) for p in range(3)])
        out.props.update(props)
        out.props["STCWindows"] = windows
        return out

    restored = core.std.ModifyFrame(rgb, clips, serve)
    return from_rgb(restored, clip)
