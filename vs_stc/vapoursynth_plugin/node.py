"""Builds the output clip without rendering a frame: nothing is read until a frame is asked for.

- Frames are read in their own format (``picture_of``): YUV by the colour rule (each frame's own
  ``_Matrix`` and ``_Range``; where ``_Matrix`` is missing or 2, unspecified, the size rule's, and
  the frame gets ``_Matrix`` and ``STCAssumedMatrix=1``; colour.py), and the restored frame is
  written back into them (``colour.composite``), as the pipe and batch renders do: the surfaces give
  the same samples.
- Scene cuts (``cuts``: auto, props, off) come from the built-in detector (cuts.py, on the clip's
  own luma) and the ``_SceneChangePrev`` / ``_SceneChangeNext`` props of the frames each request
  already brings: the plan (planning.py) needs only the cuts from ``2 * window - overlap - 1``
  frames before a frame to ``window`` frames after it (the detector two more before and one
  after), never a scan of the clip.
- Every output frame is served from the engine inside one ModifyFrame, whose input clips are the
  source shifted in time, so that VapourSynth prefetches every frame a request needs (no get_frame
  inside a callback). A frame's windows read only frames within ``window - 1`` of it; the frames
  further back lend their props and luma.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import vapoursynth as vs

from ..colour import Layout, Patch, Picture, YUVRule
from ..cuts import RandomAccessCuts, rgb_luma, thumbnail
from ..engine import RandomAccessRestorer, WindowRunner
from ..engine.planning import cut_span
from ..engine.onnx_runtime import Network
from ..options import RunOptions
from ..restorer import RGB, rgb_planes, whole_frame

core = vs.core


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


def picture_of(frame: vs.VideoFrame) -> Picture:
    """The frame's planes (views) and their layout by the colour rule."""
    fmt = frame.format
    peak = None if fmt.sample_type == vs.FLOAT else float(2**fmt.bits_per_sample - 1)
    planes = [np.asarray(frame[p]) for p in range(fmt.num_planes)]
    if fmt.color_family == vs.RGB:
        return Picture(planes, Layout("rgb", peak))
    if fmt.color_family == vs.GRAY:  # gray is full range unless it says otherwise
        full = frame.props.get("_Range", vs.RANGE_FULL) == vs.RANGE_FULL
        return Picture(planes, Layout("gray", peak, full_range=full))
    matrix, assumed = YUVRule().matrix_for(frame.props.get("_Matrix"), frame.width, frame.height)
    full = frame.props.get("_Range", vs.RANGE_LIMITED) == vs.RANGE_FULL
    return Picture(planes, Layout("yuv", peak, (fmt.subsampling_w, fmt.subsampling_h), matrix, full, assumed))


def written(source: vs.VideoFrame, picture: Picture, patches: Sequence[Patch], props: dict[str, object]
            ) -> vs.VideoFrame:
    """A copy of ``source`` with ``patches`` written over its planes, ``props``, and the matrix the
    colour rule assumed for it."""
    out = source.copy()
    planes = {p: np.asarray(out[p]) for p in {patch.plane for patch in patches}}  # writable views of the copy
    for patch in patches:
        patch.write(planes)
    out.props.update(props)
    if picture.layout.assumed_matrix:
        out.props["_Matrix"] = picture.layout.matrix
        out.props["STCAssumedMatrix"] = 1
    return out


def frame_thumbnail(frame: vs.VideoFrame) -> np.ndarray:
    """The frame's small luma image for the cut detector: its own luma plane (YUV, gray), or BT.709
    luma of its RGB."""
    fmt = frame.format
    peak = 1.0 if fmt.sample_type == vs.FLOAT else float(2**fmt.bits_per_sample - 1)
    if fmt.color_family == vs.RGB:
        return thumbnail(rgb_luma(*(np.asarray(frame[p]) for p in range(3))), peak)
    return thumbnail(np.asarray(frame[0]), peak)


class ShotStarts:
    """Whether frame i starts a shot, by the ``cuts`` option: the detector, the props, or both."""

    def __init__(self, cuts: str, length: int) -> None:
        self.props, self.detector = cuts in ("auto", "props"), RandomAccessCuts(length) if cuts == "auto" else None

    def __call__(self, i: int, frame_at: Callable[[int], vs.VideoFrame]) -> bool:
        """``frame_at(j)``: frame j of the clip, for j from i - 2 to i + 1 (inside the clip)."""
        if self.props and starts_shot(frame_at(i).props, frame_at(i - 1).props):
            return True
        return self.detector is not None and self.detector.starts_shot(i, lambda j: frame_thumbnail(frame_at(j)))


def starts_shot(props: vs.FrameProps, previous: vs.FrameProps | None) -> bool:
    """Whether the frame with ``props`` starts a new shot (``previous``: the frame before's)."""
    return bool(props.get("_SceneChangePrev", 0)) or bool(previous is not None and previous.get("_SceneChangeNext", 0))


def run_props(options: RunOptions) -> dict[str, object]:
    """The frame props that say how a frame was made."""
    return {
        "STCModel": options.model,
        "STCPrecision": options.precision,
        "STCBackend": options.backend,
        "STCWindow": options.window,
        "STCOverlap": options.overlap,
        "STCKeepDetail": int(options.keep_detail),
        "STCKeepColours": int(options.keep_colours),
    }


def build(clip: vs.VideoNode, network: Network, options: RunOptions) -> vs.VideoNode:
    """Aligned mode (the frames are face crops). Renders nothing."""
    runner = WindowRunner(network, RGB, options.engine_options())
    length = clip.num_frames
    restorer = RandomAccessRestorer(runner, length, (clip.height, clip.width))
    first_cut, last_cut = cut_span(0, options.window, options.overlap)
    # Frames that decide the cuts: n - back .. n + ahead (their props, and the detector's neighbours).
    back, ahead = 2 - first_cut, last_cut + 1
    clips = [clip] + [shifted(clip, d) for d in range(-back, ahead + 1)]
    shot_starts = ShotStarts(options.cuts, length)
    props = run_props(options)

    def serve(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        by_index = {n + d: f[1 + d + back] for d in range(-back, ahead + 1)}
        rgb: dict[int, np.ndarray] = {}

        def rgb_of(i: int) -> np.ndarray:
            if i not in rgb:
                rgb[i] = picture_of(by_index[i]).rgb()
            return rgb[i]

        def read(indices: Sequence[int]) -> list[list[np.ndarray]]:
            return [rgb_planes(rgb_of(i)) for i in indices]

        frame, windows = restorer.frame_and_windows(n, read, lambda i: shot_starts(i, by_index.__getitem__))
        picture = picture_of(f[0])
        return written(f[0], picture, whole_frame(picture, rgb_of(n), frame).patches, {**props, "STCWindows": windows})

    return core.std.ModifyFrame(clip, clips, serve)
