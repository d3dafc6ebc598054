"""Face mode (``faces="auto"``) as a VapourSynth node: random access over whole frames.

- Two nodes. The first (``facts``, a 1 x 1 clip) detects the faces of each frame and whether it
  starts a shot, as frame props, once per frame and on VapourSynth's own threads; its frames are
  tiny, so a block reads the facts of its whole context without holding that context's frames.
- The second (the blocks clip, one 1 x 1 frame per block) restores fixed blocks, as long as the
  pipe and batch renders make them for the clip's frames (``stream.block_length``; the ``STCBlock``
  prop), aligned on multiples of that length. Block k is face mode's own block renderer
  (``FaceStreamRestorer.restore_block``) over the facts ``block_context`` before and after it and
  the frames its windows read (``window - 1`` either side), in the clip's own format: the frames of
  one pass over the clip, whatever the block boundaries, request order or thread count, and the
  same samples as the pipe and batch renders. What it pastes comes out as props of its frame, so
  VapourSynth computes a block once however many threads ask, and caches it.
- Each output frame is one ModifyFrame over the clip and its block's 1 x 1 frame: a request holds
  its own frame, and the block's frames are held only while the block is computed (no get_frame in
  a callback: VapourSynth prefetches every input).
- Scene cuts (``cuts``: the built-in detector and/or ``_SceneChangePrev`` / ``_SceneChangeNext``)
  split tracks (a face track never crosses a cut).
- YUV frames are read by the colour rule (their ``_Matrix``/``_Range``; colour.py); frames whose
  matrix was assumed get ``_Matrix`` and ``STCAssumedMatrix=1``. Outside the pasted faces every
  sample is the input's, and frames with no face pass through bit-identical (props aside).
- Props: ``STCFaces`` (faces pasted into the frame), ``STCDetector``, ``STCMinFace``,
  ``STCFaceScore``, ``STCBlock`` plus the usual STC* props.
"""

from __future__ import annotations

import pickle
from typing import Sequence

import numpy as np
import vapoursynth as vs

from ..faces import load_detector
from ..faces.restoring import block_context
from ..faces.stream import FaceStreamRestorer, block_length, detect_faces
from ..faces.types import Face
from ..engine.onnx_runtime import Network
from .node import ShotStarts, picture_of, run_props, shifted, written

core = vs.core

FACE_VALUES = 15  # box (4), landmarks (10), score
FACTS_BLOCKS_CACHED = 4


def facts(clip: vs.VideoNode, detector, min_face: float, cuts: str) -> vs.VideoNode:
    """A 1 x 1 clip whose frame n says, in props, the faces of frame n of ``clip`` and whether it
    starts a shot (the cut detector reads frames n - 2 .. n + 1)."""
    blank = core.std.BlankClip(clip, width=1, height=1, format=vs.GRAY8, keep=True)
    shot_starts = ShotStarts(cuts, clip.num_frames)

    def fill(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        out = f[0].copy()
        faces = detect_faces(detector, picture_of(f[3]), min_face)
        out.props["STCCut"] = int(shot_starts(n, lambda j: f[j - n + 3]))
        out.props["STCFaceCount"] = len(faces)
        if faces:
            out.props["STCFaceValues"] = [float(v) for face in faces
                                          for v in (*face.box, *face.landmarks.ravel(), face.score)]
        return out

    return core.std.ModifyFrame(blank, [blank] + [shifted(clip, d) for d in (-2, -1, 0, 1)], fill)


def frame_bytes(fmt: vs.VideoFormat, width: int, height: int) -> int:
    """The bytes of one frame of ``fmt``: its first plane, and the others at their subsampling."""
    chroma = (fmt.num_planes - 1) / (1 << (fmt.subsampling_w + fmt.subsampling_h))
    return int(width * height * fmt.bytes_per_sample * (1 + chroma))


def faces_of(props: vs.FrameProps) -> list[Face]:
    """The faces a ``facts`` frame holds."""
    if not props["STCFaceCount"]:
        return []
    values = np.asarray(props["STCFaceValues"], dtype=np.float64).reshape(-1, FACE_VALUES)
    return [Face(row[:4], row[4:14], float(row[14])) for row in values]


def build(clip: vs.VideoNode, network: Network, options, block: int | None = None) -> vs.VideoNode:
    """``options``: a RunOptions with faces='auto'; ``block``: frames per block (None: as the
    pipe and batch renders choose it for the clip's frames, ``stream.block_length``). Renders
    nothing."""
    detector, _reason = load_detector(options.detector, options.device)
    engine = options.engine_options()
    before, after = block_context(engine.window, engine.overlap)
    if block is None:
        block = block_length(frame_bytes(clip.format, clip.width, clip.height), engine.window, after)
    reach = engine.window - 1  # how far a block's windows read beyond it
    length = clip.num_frames
    blocks = -(-length // block)
    # One node, its cache always on and long enough for the context of the blocks in flight, so
    # that each frame is detected once though neighbouring blocks read the same facts (its frames
    # are 1 x 1; VapourSynth's own cache would start only after misses).
    facts_clip = facts(clip, detector, options.min_face, options.cuts)
    blocks_cached = max(FACTS_BLOCKS_CACHED, core.num_threads + 1)
    core.std.SetVideoCache(facts_clip, mode=1, fixedsize=1, maxsize=blocks_cached * (before + block + after))
    fact_clips = [shifted(facts_clip, j - before)[::block] for j in range(before + block + after)]
    frame_clips = [shifted(clip, j - reach)[::block] for j in range(reach + block + reach)]
    props = {**run_props(options), "STCDetector": detector.name, "STCMinFace": options.min_face,
             "STCFaceScore": options.face_score, "STCBlock": block}

    def compute(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        """Frame n of the blocks clip: block n's faces pasted and patches, as props (one pickled
        pair per frame), so they live exactly as long as VapourSynth caches the frame."""
        k = n  # the block
        fetched_facts, fetched_frames = f[1:1 + len(fact_clips)], f[1 + len(fact_clips):]
        start, end = k * block, min(length, (k + 1) * block)
        lo, hi = max(0, start - before), min(length, end + after)
        found = [faces_of(fetched_facts[i - start + before].props) for i in range(lo, hi)]
        cuts = [i for i in range(lo + 1, hi) if fetched_facts[i - start + before].props["STCCut"]]
        first = max(0, start - reach)
        pictures = [picture_of(fetched_frames[i - start + reach]) for i in range(first, min(length, end + reach))]
        restorer = FaceStreamRestorer(network, engine, detector, "", options.min_face, block, options.cuts,
                                      options.face_score)
        out = f[0].copy()
        for j, r in enumerate(restorer.restore_block(restorer.runner(), pictures, first, found, lo, cuts, start, end)):
            out.props[f"STCRestored{j}"] = pickle.dumps((r.faces, r.patches), protocol=pickle.HIGHEST_PROTOCOL)
        return out

    blank = core.std.BlankClip(clip, width=1, height=1, format=vs.GRAY8, length=blocks, keep=True)
    restored_blocks = core.std.ModifyFrame(blank, [blank] + fact_clips + frame_clips, compute)
    # Frame n of this clip is block n // block's frame: a request holds one 1 x 1 frame, not the block's frames.
    per_frame = core.std.Interleave([restored_blocks] * block)[:length] if block > 1 else restored_blocks

    def serve(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        faces, patches = pickle.loads(f[1].props[f"STCRestored{n % block}"])
        return written(f[0], picture_of(f[0]), patches, {**props, "STCFaces": faces})

    return core.std.ModifyFrame(clip, [clip, per_frame], serve)
