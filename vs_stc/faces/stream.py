"""Face mode, once for every surface: whole frames in, whole frames out, every face found, followed,
restored through the engine and pasted back.

Frames come as ``Picture``s, in their own format (colour.py): face mode reads RGB from them by the
colour rule only where it needs it (a detection image, each crop's source region, each paste's
region) and writes the restored faces back into their own planes (``colour.composite``), so the
pipe, batch renders, Ray and VapourSynth give the same samples, hold frames in their own format,
and leave every sample outside the faces exactly as it was.

Frames are handled in blocks of ``block`` frames. Each block is analysed with the faces found in
``block_context`` frames before and after it, so its tracks, smoothing and fades come out as for
the whole clip, and each track's crops go through the engine on the clip's window grid
(restoring.py): every frame comes out exactly as one pass over the whole clip would make it, and
no block boundary shows. Memory holds the frames of the block being restored (with the
``window - 1`` before it and the context after it), those of the next block as they arrive, and the
faces (boxes and landmarks) of the context before them.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Container, Iterable, Iterator, Sequence

import numpy as np

from ..colour import Picture, Restored, restored
from ..engine import EngineOptions, SampleFormat, WindowRunner
from ..engine.memory import side_by_side_lanes
from ..engine.onnx_runtime import Network
from ..errors import InputError
from .alignment import Alignment, crop, source_region
from .analysis import MIN_FACE, analyse_detections
from .detection import detect_frames
from .pasteback import paste, union_region
from .plausibility import FACE_SCORE, passes
from .restoring import block_context, restore_track
from .tracking import Track
from .types import Detector, Face

BLOCK = 48  # frames: the longest block
WINDOWS_PER_BLOCK = 8
"""A block is at most this many of the model's windows long: the windows that straddle a block's
boundary run twice, about one window of model work per boundary and track, so 8 windows keep that
under an eighth, while the frames and crops a block holds shrink with it (the bundled models'
4-frame windows: 32-frame blocks; a 1080p batch render peaked at 1.31 GiB instead of 1.56 with
48, as fast: benchmarks/README.md)."""
HELD_BYTES = 768 << 20
"""What the frames face mode holds (two blocks, the window before the first and the context after
the second) may take, in the frames' own format, before blocks get shorter still. With the
bundled models' window, 1080p YUV 4:2:0 8-bit frames (3 MB) keep 32-frame blocks (0.3 GB held)
and 4K ones (12 MB) get 14 (0.8 GB; 2.5 GiB peak instead of 2.8 with 25-frame blocks, 3% slower;
benchmarks/face_mode_floors.py)."""
SHORTEST_BLOCK = 8
DETECT_SIDE = 960  # pixels: frames are not detected smaller than this on their long side
SMALLEST_BOX = 16  # pixels: RetinaFace's smallest anchors
CROPS = SampleFormat.of(np.float32)  # aligned crops reach the engine as float RGB in [0, 1]


@dataclass
class FaceCounts:
    """What face mode did, for summaries."""

    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    small_faces: int = 0  # detections below min_face, left alone
    not_faces: int = 0  # detections whose track was not plausibly a face (plausibility.py), left alone

    def describe(self) -> str:
        return (f"{self.faces} faces restored in {self.frames_with_faces} of {self.frames} frames, "
                f"{self.small_faces} detections below min_face left alone, "
                f"{self.not_faces} not taken for faces")


class FaceStreamRestorer:
    """A loaded model and detector: restores the faces of frames given in order
    (``restorer(pictures, cuts)`` -> a ``Restored`` per frame, in order)."""

    def __init__(self, network: Network, engine: EngineOptions, detector: Detector, detector_reason: str,
                 min_face: float = MIN_FACE, block: int | None = None, cuts: str = "auto",
                 face_score: float = FACE_SCORE) -> None:
        """``block``: frames per block; None: as ``block_length`` allows for the clip's frames."""
        self.network, self.engine, self.detector = network, engine, detector
        self.detector_reason, self.min_face, self.block, self.cuts = detector_reason, min_face, block, cuts
        self.face_score = face_score
        self.counts = FaceCounts()

    def check(self, height: int, width: int) -> None:
        """Face mode takes frames of any size."""

    def context(self) -> tuple[int, int]:
        """Frames a stretch of a clip needs before and after it to come out as in one pass."""
        return block_context(self.engine.window, self.engine.overlap)

    def __call__(self, frames: Iterable[Picture], cuts: Container[int] = (), first: int = 0,
                 wanted: range | None = None, length: int | None = None) -> Iterator[Restored]:
        """Restores one clip, or a stretch of it; ``counts`` then says what was done to it.

        ``frames``: the clip from its frame ``first`` on; ``cuts``: the frames that start a shot
        (asked about a frame once it has been given); ``wanted``: the frames to restore and yield
        (default: every frame given). Given frames outside ``wanted`` are context: the frames
        yielded are those of one pass over the whole clip when the frames given reach ``context()``
        beyond ``wanted`` (or the clip's ends). ``length``: the clip's, which aligned mode's
        stretches need (restorer.StreamRestorer) and face mode does not.

        The work overlaps: each frame is detected on a thread of its own as it arrives, and a
        block is restored (tracks, crops, model, paste-back) on another while the caller reads and
        detects the next block's frames, so on a GPU the model, not the face pipeline, sets the
        pace. One block is restored at a time; its frames come out as soon as it is done."""
        self.counts = FaceCounts()
        runner = self.runner()
        before, after = self.context()
        reach = self.engine.window - 1  # how far a block's windows read beyond it
        held: deque[Picture] = deque()  # frames first_held, first_held + 1, ...
        found: deque[Future[list[Face]]] = deque()  # the faces of frames first_found, first_found + 1, ...
        first_held = first_found = received = first  # received: one past the last frame given
        block_start, stop = (wanted.start, wanted.stop) if wanted is not None else (first, None)
        detecting = ThreadPoolExecutor(1, thread_name_prefix="stc-detect")
        restoring = ThreadPoolExecutor(1, thread_name_prefix="stc-faces")
        in_flight: deque[Future[list[Restored]]] = deque()

        def submit(start: int, end: int) -> None:
            shots = [i for i in range(first_found + 1, received) if i in cuts]
            in_flight.append(restoring.submit(self._detected_block, runner, list(held), first_held, list(found),
                                              first_found, shots, start, end))

        block = self.block
        try:
            for picture in frames:
                if block is None:
                    block = block_length(sum(plane.nbytes for plane in picture.planes), self.engine.window, after)
                held.append(picture)
                found.append(detecting.submit(detect_faces, self.detector, picture, self.min_face))
                received += 1
                while in_flight and in_flight[0].done():  # out as soon as restored: its frames are freed
                    yield from in_flight.popleft().result()
                block_end = block_start + block if stop is None else min(block_start + block, stop)
                if block_start < block_end and received == block_end + after:
                    if in_flight:  # one block restored at a time, so memory holds at most two
                        yield from in_flight.popleft().result()
                    submit(block_start, block_end)
                    block_start = block_end
                    while first_held < block_start - reach:
                        held.popleft()
                        first_held += 1
                    while first_found < block_start - before:
                        found.popleft()
                        first_found += 1
            last = received if stop is None else min(received, stop)
            while block_start < last:
                end = min(block_start + (block or BLOCK), last)
                submit(block_start, end)
                block_start = end
            while in_flight:
                yield from in_flight.popleft().result()
            if stop is not None and received < stop:  # every frame that arrived is out: say which did not
                raise InputError(f"the input ended at frame {received}, before frames {received}-{stop - 1} of "
                                 f"frames {wanted.start}-{stop - 1} (was it cut short or replaced?)")
        finally:
            detecting.shutdown(cancel_futures=True)
            restoring.shutdown(cancel_futures=True)

    def runner(self) -> WindowRunner:
        """The engine's runner for this restorer's aligned crops."""
        lanes = side_by_side_lanes(self.network, self.engine.window)
        return WindowRunner(self.network, CROPS, self.engine, lanes=lanes)

    def _detected_block(self, runner: WindowRunner, held: list[Picture], first_held: int,
                        detected: list[Future[list[Face]]], first_found: int, cuts: list[int], start: int,
                        end: int) -> list[Restored]:
        found = [faces.result() for faces in detected]
        return self.restore_block(runner, held, first_held, found, first_found, cuts, start, end)

    def restore_block(self, runner: WindowRunner, held: Sequence[Picture], first_held: int,
                      found: Sequence[list[Face]], first_found: int, cuts: Sequence[int], start: int,
                      end: int) -> list[Restored]:
        """Frames ``start`` .. ``end - 1``, analysed with the faces ``found`` in the frames from
        ``first_found`` on (``context()`` around the block, or up to the clip's ends) and the shots
        that start at ``cuts``. ``held``: the frames from ``first_held`` on, at least those within
        ``window - 1`` of the block (the frames its windows crop)."""
        resolution = self.network.config.resolution
        analysis = analyse_detections(found, start=first_found, cuts=cuts, crop_size=resolution,
                                      min_face=self.min_face, face_score=self.face_score)
        self.counts.small_faces += sum(_small_faces(found[n - first_found], resolution, self.min_face, self.face_score)
                                       for n in range(start, end))
        self.counts.not_faces += sum(_seen_in(track, start, end) for track in analysis.rejected)
        restored = {track.id: restore_track(runner, track, lambda n, a: aligned_crop(held[n - first_held], a),
                                            range(start, end))
                    for track in analysis.tracks if track.start < end and track.stop > start}
        results = []
        for n in range(start, end):
            pastes = analysis.pastes(n, {track: crops[n] for track, crops in restored.items() if n in crops})
            results.append(pasted(held[n - first_held], pastes))
            self.counts.frames += 1
            if results[-1].faces:
                self.counts.frames_with_faces += 1
                self.counts.faces += results[-1].faces
        return results


def block_length(frame_bytes: int, window: int, after: int) -> int:
    """Frames per block for frames of ``frame_bytes`` and the model's ``window``, when a block's
    analysis reads ``after`` frames after it (and its windows ``window - 1`` before it):
    ``WINDOWS_PER_BLOCK`` windows up to ``BLOCK``, or fewer as ``HELD_BYTES`` requires, never
    fewer than ``SHORTEST_BLOCK`` nor than one window. Below a window each block would run the
    windows that reach into it for only a few frames: a released model's 24-frame windows at 4K
    keep 24-frame blocks (about 2x one pass's model work, 8-frame blocks 4x) for 0.4 GB more."""
    shortest = max(SHORTEST_BLOCK, window)
    longest = min(BLOCK, max(shortest, WINDOWS_PER_BLOCK * window))
    fitting = (HELD_BYTES // max(frame_bytes, 1) - (window - 1) - after) // 2
    return max(shortest, min(longest, fitting))


def detect_faces(detector: Detector, picture: Picture, min_face: float) -> list[Face]:
    """The faces in ``picture``, detected at the reduced size ``detection_factor`` allows, their
    scores confirmed by second looks (plausibility.confirmed)."""
    factor = detection_factor(picture.size, min_face)
    found = next(detect_frames(detector, [picture.reduced(factor).rgb()], max_side=None, batch=1, confirm=True))
    return [face.scaled(factor) for face in found] if factor > 1 else found


def detection_factor(size: tuple[int, int], min_face: float) -> int:
    """How many times smaller than the frame faces are detected: the largest power of two that
    leaves the frame's long side at least DETECT_SIDE pixels and a face of ``min_face`` (an aligned
    crop spanning that many frame pixels, a box of about 0.6 of it) at least SMALLEST_BOX pixels,
    which RetinaFace still finds. 1080p and 4K at the default min_face (64): 2."""
    limit = min(max(size) / DETECT_SIDE, 0.6 * max(min_face, 1) / SMALLEST_BOX)
    factor = 1
    while factor * 2 <= limit:
        factor *= 2
    return factor


def aligned_crop(picture: Picture, alignment: Alignment) -> np.ndarray:
    """The aligned crop (R, R, 3) float32 RGB of a face, read from just its source region."""
    height, width = picture.size
    region = source_region(alignment, (height, width)).aligned(picture.layout.chroma_multiple, height, width)
    rgb = picture.rgb((region.x0, region.y0, region.x1, region.y1))
    return crop(rgb, alignment, origin=(region.x0, region.y0), frame_size=(height, width))


def pasted(picture: Picture, pastes: list) -> Restored:
    """``picture`` with ``pastes`` blended in, in its own format; its own planes when none lands."""
    height, width = picture.size
    region = union_region([p.alignment for p in pastes], (height, width), multiple=picture.layout.chroma_multiple)
    if region is None:
        return Restored(picture.planes)
    box = (region.x0, region.y0, region.x1, region.y1)
    before = picture.rgb(box)
    return restored(picture, box, before, paste(before, pastes, origin=(region.x0, region.y0)), len(pastes))


def _seen_in(track: Track, start: int, end: int) -> int:
    """How many of frames ``start`` .. ``end - 1`` ``track`` was detected in."""
    first, stop = max(start, track.start), min(end, track.stop)
    return int(track.observed[first - track.start:stop - track.start].sum()) if first < stop else 0


def _small_faces(faces: list[Face], crop_size: int, min_face: float, face_score: float) -> int:
    """Detections taken for faces but too small to restore (their aligned crop spans fewer than
    ``min_face`` pixels)."""
    return sum(1 for face in faces
               if passes(face, face_score) and Alignment.of(face.landmarks, crop_size).face_size < min_face)
