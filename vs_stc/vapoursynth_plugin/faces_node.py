"""Face mode (``faces="auto"``) as a VapourSynth node: random access over whole frames.

- Fixed blocks of ``BLOCK`` frames, aligned on multiples of ``BLOCK``. Block k is face mode's own
  block renderer (faces/stream.py) over the frames ``block_context`` before and after it, in the
  clip's own format: the frames of one pass over the clip, whatever the block boundaries, request
  order or thread count, and the same samples as the pipe and batch renders give.
- Every output frame comes from one ModifyFrame over the clip; its other inputs are the clips
  whose frame n is frame ``(n // B) * B - before - 2 + j``, so VapourSynth prefetches exactly the
  frames a block needs (no get_frame in a callback), in their own format (a 1080p 4:2:0 frame is
  3 MB, not the 24 MB of float RGB). A block is computed once, even when several threads ask for
  it, and kept in a small cache of blocks; faces are detected once per frame (a cache by frame
  number across blocks, whose contexts overlap).
- Scene cuts (``cuts``: the built-in detector and/or ``_SceneChangePrev`` / ``_SceneChangeNext``)
  split tracks (a face track never crosses a cut); the detector reads two frames more before the
  block's context and one after it.
- YUV frames are read by the colour rule (their ``_Matrix``/``_Range``; colour.py); frames whose
  matrix was assumed get ``_Matrix`` and ``STCAssumedMatrix=1``. Outside the pasted faces every
  sample is the input's, and frames with no face pass through bit-identical (props aside).
- Props: ``STCFaces`` (faces pasted into the frame), ``STCDetector``, ``STCMinFace``, ``STCBlock``
  plus the usual STC* props.
"""

from __future__ import annotations

from typing import Sequence

import vapoursynth as vs

from ..colour import Patch
from ..engine.cache import WindowCache
from ..faces import load_detector
from ..faces.restoring import block_context
from ..faces.stream import BLOCK, DetectionCache, FaceStreamRestorer
from ..models import STCNet
from .node import ShotStarts, picture_of, run_props, shifted, written

core = vs.core

CACHED_BLOCKS = 3
CACHED_BYTES = 512 << 20  # the finished blocks kept: the patches that paste their faces


def block_bytes(block: list[tuple[int, Sequence[Patch]]]) -> int:
    return sum(patch.samples.nbytes for _, patches in block for patch in patches)


def block_clips(clip: vs.VideoNode, block: int, before: int, after: int) -> list[vs.VideoNode]:
    """Clip j: frame n is frame ``(n // block) * block - before + j`` of ``clip`` (clamped)."""
    length = clip.num_frames
    clips = []
    for j in range(before + block + after):
        picked = shifted(clip, j - before)[::block]  # frame k: kB - before + j
        held = core.std.Interleave([picked] * block) if block > 1 else picked
        clips.append(held[:length])
    return clips


def build(clip: vs.VideoNode, network: STCNet, options, block: int = BLOCK) -> vs.VideoNode:
    """``options``: a RunOptions with faces='auto'. Renders nothing."""
    detector, _reason = load_detector(options.detector, options.device)
    engine = options.engine_options()
    detections = DetectionCache()
    before, after = block_context(engine.window, engine.overlap)
    length = clip.num_frames
    # The detector judges frame i from frames i - 2 .. i + 1: two more before the context, one after.
    clips = [clip] + block_clips(clip, block, before + 2, after + 1)
    shot_starts = ShotStarts(options.cuts, length)
    blocks = WindowCache(CACHED_BLOCKS, CACHED_BYTES, size_of=block_bytes)
    props = {**run_props(options), "STCDetector": detector.name, "STCMinFace": options.min_face, "STCBlock": block}

    def compute(k: int, fetched: Sequence[vs.VideoFrame]) -> list[tuple[int, Sequence[Patch]]]:
        """(faces pasted, the patches that paste them) of each frame of block k."""
        first = k * block - before - 2  # the frame fetched[0] holds
        lo, hi = max(0, k * block - before), min(length, (k + 1) * block + after)
        cuts = {i for i in range(lo + 1, hi) if shot_starts(i, lambda j: fetched[j - first])}
        restorer = FaceStreamRestorer(network, engine, detector, "", options.min_face, block, options.cuts, detections)
        pictures = (picture_of(fetched[i - first]) for i in range(lo, hi))
        wanted = range(k * block, min(length, (k + 1) * block))
        return [(r.faces, r.patches) for r in restorer(pictures, cuts, lo, wanted)]

    def serve(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        k = n // block
        faces, patches = blocks.get(k, lambda: compute(k, f[1:]))[n - k * block]
        return written(f[0], picture_of(f[0]), patches, {**props, "STCFaces": faces})

    return core.std.ModifyFrame(clip, clips, serve)
