"""Face mode (``faces="auto"``) as a VapourSynth node: random access over whole frames.

- Fixed blocks of ``BLOCK`` frames, aligned on multiples of ``BLOCK``. Block k (frames kB ..
  kB + B - 1) is analysed (detect, track, smooth, align) with ``block_context`` frames of context
  before and after it, and each track's aligned crops go through the engine on the clip's window
  grid (faces/restoring.py), as faces/stream.py does for frames in order. A frame's result is the
  one a single pass over the clip makes: it depends on no block boundary, request order or thread.
- Every output frame comes from one ModifyFrame over the original clip; its other inputs are
  ``before + B + after`` clips whose frame n is frame ``(n // B) * B - before + j`` of the RGB clip,
  so VapourSynth prefetches exactly the block a request needs (no get_frame in a callback). The
  work of a block is done once, under a lock, and kept in a small LRU of blocks.
- Output in the clip's own format. RGB clips: the restored faces are pasted straight into the
  frame. YUV clips: the pasted region is pasted in RGB (the clip converted per frame with its own
  ``_Matrix``/``_Range``, BT.709 when unspecified), and the change (pasted - before) is converted
  to YUV in numpy with that matrix and range and added to the original samples; chroma takes the
  mean change of the luma pixels it covers. Samples whose covered pixels did not change are never
  written: outside every paste mask the output is bit-identical to the input, and frames with no
  face pass through bit-identical (props aside).
- Scene cuts: ``_SceneChangePrev`` / ``_SceneChangeNext`` of the block's frames split tracks (a face
  track never crosses a cut).
- Props: ``STCFaces`` (faces pasted into the frame), ``STCDetector``, ``STCMinFace``, ``STCBlock``
  plus the usual STC* props.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np
import vapoursynth as vs

from ..engine import WindowRunner
from ..faces import analyse_detections, detect_frames, load_detector, paste, union_region
from ..faces.restoring import block_context, restore_track
from ..faces.stream import BLOCK
from ..models import STCNet
from .node import frame_matrix, full_range, run_props, sample_format, shifted, starts_shot, to_rgb

core = vs.core

CACHED_BLOCKS = 3
# Kr, Kb of the YUV matrices (the _Matrix values of VapourSynth / ITU-T H.273)
KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114), 7: (0.212, 0.087),
         9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}


class BlockCache:
    """At most ``capacity`` blocks; each computed once even when several threads ask at once."""

    def __init__(self, capacity: int = CACHED_BLOCKS) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self.slots: OrderedDict[int, list] = OrderedDict()  # block -> [lock, value or None]

    def get(self, block: int, compute: Callable[[], object]) -> object:
        with self.lock:
            slot = self.slots.get(block)
            if slot is None:
                slot = self.slots[block] = [threading.Lock(), None]
            self.slots.move_to_end(block)
            while len(self.slots) > self.capacity:
                self.slots.popitem(last=False)
        with slot[0]:
            if slot[1] is None:
                slot[1] = compute()
            return slot[1]


def block_clips(rgb: vs.VideoNode, block: int, before: int, after: int) -> list[vs.VideoNode]:
    """Clip j: frame n is frame ``(n // block) * block - before + j`` of ``rgb`` (clamped)."""
    length = rgb.num_frames
    clips = []
    for j in range(before + block + after):
        picked = shifted(rgb, j - before)[::block]  # frame k: kB - before + j
        held = core.std.Interleave([picked] * block) if block > 1 else picked
        clips.append(held[:length])
    return clips


def yuv_scales(fmt: vs.VideoFormat, full: bool) -> tuple[float, float]:
    """Luma and chroma sample units per unit of the [0, 1] RGB scale."""
    if fmt.sample_type == vs.FLOAT:
        return 1.0, 1.0
    bits = fmt.bits_per_sample
    if full:
        return float(2**bits - 1), float(2**bits - 1)
    return 219.0 * 2 ** (bits - 8), 224.0 * 2 ** (bits - 8)


def write_rgb(out: vs.VideoFrame, pasted: np.ndarray, region) -> None:
    for p in range(3):
        np.asarray(out[p])[region.slices] = pasted[..., p]


def write_yuv_change(out: vs.VideoFrame, delta: np.ndarray, region, matrix: int, full: bool) -> None:
    """Adds the RGB change ``delta`` (h, w, 3, float32, [0, 1] units) of ``region`` to the YUV
    frame ``out``; samples none of whose pixels changed are left alone."""
    fmt = out.format
    if matrix not in KR_KB:
        raise vs.Error(f"faces='auto' does not know YUV matrix {matrix}; convert the clip to RGB first")
    kr, kb = KR_KB[matrix]
    luma_scale, chroma_scale = yuv_scales(fmt, full)
    d = delta.astype(np.float64)
    dy = kr * d[..., 0] + (1 - kr - kb) * d[..., 1] + kb * d[..., 2]
    dcb = (d[..., 2] - dy) / (2 * (1 - kb))
    dcr = (d[..., 0] - dy) / (2 * (1 - kr))
    changed = (delta != 0).any(axis=2)
    sw, sh = 1 << fmt.subsampling_w, 1 << fmt.subsampling_h
    for p, change, scale in ((0, dy, luma_scale), (1, dcb, chroma_scale), (2, dcr, chroma_scale)):
        mask = changed
        if p > 0 and (sw > 1 or sh > 1):
            h, w = change.shape
            change = change.reshape(h // sh, sh, w // sw, sw).mean(axis=(1, 3))
            mask = changed.reshape(h // sh, sh, w // sw, sw).any(axis=(1, 3))
        x0, y0 = (region.x0, region.y0) if p == 0 else (region.x0 // sw, region.y0 // sh)
        plane = np.asarray(out[p])
        target = plane[y0:y0 + change.shape[0], x0:x0 + change.shape[1]]
        new = target.astype(np.float64) + change * scale
        if fmt.sample_type == vs.INTEGER:
            np.rint(new, out=new)
            np.clip(new, 0, 2**fmt.bits_per_sample - 1, out=new)
        np.copyto(target, new.astype(target.dtype), where=mask)


def build(clip: vs.VideoNode, network: STCNet, options, block: int = BLOCK) -> vs.VideoNode:
    """``options``: a RunOptions with faces='auto' (model, precision, window, overlap, detector,
    min_face, device, keep_detail, keep_colours). Renders nothing."""
    family = clip.format.color_family
    rgb = to_rgb(clip)
    fmt = sample_format(rgb.format)
    peak = fmt.peak if fmt.is_integer else None
    detector, _reason = load_detector(options.detector, options.device)
    engine_options = options.engine_options()
    resolution = network.config.resolution
    context_before, context_after = block_context(engine_options.window, engine_options.overlap)
    length = clip.num_frames
    height, width = clip.height, clip.width
    clips = [clip] + block_clips(rgb, block, context_before, context_after)
    cache = BlockCache()
    props = {
        **run_props(options),
        "STCDetector": detector.name,
        "STCMinFace": options.min_face,
        "STCBlock": block,
    }
    multiple = 1
    if family == vs.YUV:
        multiple = 1 << max(clip.format.subsampling_w, clip.format.subsampling_h)

    def compute(k: int, fetched: Sequence[vs.VideoFrame]):
        """(analysis, {track id: {frame: restored crop}}) of block k."""
        first = k * block - context_before  # the frame fetched[0] holds
        lo, hi = max(0, first), min(length, (k + 1) * block + context_after)
        start, end = k * block, min(length, (k + 1) * block)

        def frame(i: int) -> np.ndarray:
            return np.stack([np.asarray(fetched[i - first][p]) for p in range(3)], axis=-1)

        cuts = [i for i in range(lo + 1, hi) if starts_shot(fetched[i - first].props, fetched[i - 1 - first].props)]
        # one frame per detector run, as the pipe does: a frame's faces never depend on its batch
        found = list(detect_frames(detector, (frame(i) for i in range(lo, hi)), peak=peak, batch=1))
        analysis = analyse_detections(found, start=lo, cuts=cuts, crop_size=resolution, min_face=options.min_face)
        runner = WindowRunner(network, fmt, engine_options)
        restored = {track.id: restore_track(runner, track, frame, range(start, end))
                    for track in analysis.tracks if track.start < end and track.stop > start}
        return analysis, restored

    def serve(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        k = n // block
        fetched = f[1:]
        analysis, restored = cache.get(k, lambda: compute(k, fetched))
        pastes = analysis.pastes(n, {t: crops[n] for t, crops in restored.items() if n in crops})
        out = f[0].copy()
        out.props.update(props)
        if family == vs.YUV:
            matrix, assumed = frame_matrix(f[0].props)
            if assumed:
                out.props["_Matrix"] = matrix
                out.props["STCAssumedMatrix"] = 1
        region = union_region([p.alignment for p in pastes], (height, width), multiple=multiple) if pastes else None
        out.props["STCFaces"] = len(pastes) if region is not None else 0
        if region is None:
            return out
        source = fetched[n - k * block + context_before] if family == vs.YUV else f[0]
        before = np.stack([np.asarray(source[p])[region.slices] for p in range(3)], axis=-1)
        pasted = paste(before, pastes, origin=(region.x0, region.y0), peak=peak)
        if family == vs.RGB:
            write_rgb(out, pasted, region)
        else:
            delta = pasted.astype(np.float32) - before.astype(np.float32)
            write_yuv_change(out, delta, region, matrix, full_range(f[0].props))
        return out

    return core.std.ModifyFrame(clip, clips, serve)
