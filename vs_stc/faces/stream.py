"""Face mode for frames that come in order (the pipe, batch renders, ``stc eval``): whole frames
in, whole frames out, every face found, followed, restored through the engine and pasted back.

Frames are handled in blocks of ``block`` frames. Each block is analysed with the faces found in
``block_context`` frames before and after it, so its tracks, smoothing and fades come out as for
the whole clip, and each track's crops go through the engine on the clip's window grid
(restoring.py): every frame comes out exactly as one pass over the whole clip would make it, and
no block boundary shows. Memory holds the frames of one block, the ``window - 1`` before it and
the context after it, and the faces (boxes and landmarks) of the context before it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..engine import EngineOptions, Frame, SampleFormat, WindowRunner
from ..models import STCNet
from .alignment import Alignment
from .analysis import MIN_FACE, analyse_detections
from .detection import detect_frames
from .pasteback import paste
from .restoring import block_context, restore_track
from .types import Detector, Face

BLOCK = 48


@dataclass(frozen=True, eq=False)
class FaceFrame:
    """One output frame of face mode: ``rgb`` (H, W, 3) in the input's sample type with the
    restored faces pasted, ``changed`` (H, W) where it differs from the input (None: no face was
    pasted, the frame is the input's), and how many faces were pasted."""

    rgb: np.ndarray
    changed: np.ndarray | None
    faces: int


@dataclass
class FaceCounts:
    """What face mode did, for summaries."""

    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    small_faces: int = 0  # detections below min_face, left alone

    def describe(self) -> str:
        return (f"{self.faces} faces restored in {self.frames_with_faces} of {self.frames} frames, "
                f"{self.small_faces} detections below min_face left alone")


class FaceStreamRestorer:
    """A loaded model and detector: restores the faces of frames given in order
    (``restorer(frames, sample_format)`` -> ``FaceFrame`` per frame, in order)."""

    def __init__(self, network: STCNet, engine: EngineOptions, detector: Detector, detector_reason: str,
                 min_face: float = MIN_FACE, block: int = BLOCK) -> None:
        self.network, self.engine, self.detector = network, engine, detector
        self.detector_reason, self.min_face, self.block = detector_reason, min_face, block
        self.counts = FaceCounts()

    def check(self, height: int, width: int) -> None:
        """Face mode takes frames of any size."""

    def context(self) -> tuple[int, int]:
        """Frames a stretch of a clip needs before and after it to come out as in one pass."""
        return block_context(self.engine.window, self.engine.overlap)

    def __call__(self, frames: Iterable[Frame], fmt: SampleFormat, first: int = 0,
                 wanted: range | None = None) -> Iterator[FaceFrame]:
        """Restores one clip, or a stretch of it; ``counts`` then says what was done to it.

        ``frames``: the clip from its frame ``first`` on; ``wanted``: the frames to restore and
        yield (default: every frame given). Given frames outside ``wanted`` are context: the frames
        yielded are those of one pass over the whole clip when the frames given reach ``context()``
        beyond ``wanted`` (or the clip's ends)."""
        self.counts = FaceCounts()
        runner = WindowRunner(self.network, fmt, self.engine)
        before, after = self.context()
        reach = self.engine.window - 1  # how far a block's windows read beyond it
        held: deque[np.ndarray] = deque()  # frames first_held, first_held + 1, ...
        found: deque[list[Face]] = deque()  # the faces of frames first_found, first_found + 1, ...
        first_held = first_found = received = first  # received: one past the last frame given
        block_start, stop = (wanted.start, wanted.stop) if wanted is not None else (first, None)
        for planes in frames:
            rgb = np.stack(planes, axis=-1)
            held.append(rgb)
            found.extend(detect_frames(self.detector, [rgb], peak=fmt.peak, batch=1))
            received += 1
            block_end = block_start + self.block if stop is None else min(block_start + self.block, stop)
            if block_start < block_end and received == block_end + after:
                yield from self._block(runner, held, first_held, found, first_found, block_start, block_end, fmt)
                block_start = block_end
                while first_held < block_start - reach:
                    held.popleft()
                    first_held += 1
                while first_found < block_start - before:
                    found.popleft()
                    first_found += 1
        last = received if stop is None else min(received, stop)
        while block_start < last:
            end = min(block_start + self.block, last)
            yield from self._block(runner, held, first_held, found, first_found, block_start, end, fmt)
            block_start = end

    def _block(self, runner: WindowRunner, held: deque[np.ndarray], first_held: int, found: deque[list[Face]],
               first_found: int, start: int, end: int, fmt: SampleFormat) -> Iterator[FaceFrame]:
        """Frames ``start`` .. ``end - 1``, analysed with all faces found around them as context."""
        resolution = self.network.config.resolution
        analysis = analyse_detections(list(found), start=first_found, crop_size=resolution, min_face=self.min_face)
        self.counts.small_faces += sum(_small_faces(found[n - first_found], resolution, self.min_face)
                                       for n in range(start, end))
        restored = {track.id: restore_track(runner, track, lambda n: held[n - first_held], range(start, end))
                    for track in analysis.tracks if track.start < end and track.stop > start}
        for n in range(start, end):
            frame = held[n - first_held]
            pastes = analysis.pastes(n, {track: crops[n] for track, crops in restored.items() if n in crops})
            self.counts.frames += 1
            if not pastes:
                yield FaceFrame(frame, None, 0)
                continue
            out = paste(frame, pastes, peak=fmt.peak)
            self.counts.frames_with_faces += 1
            self.counts.faces += len(pastes)
            yield FaceFrame(out, (out != frame).any(axis=2), len(pastes))


def _small_faces(faces: list[Face], crop_size: int, min_face: float) -> int:
    """Detections too small to restore (their aligned crop spans fewer than ``min_face`` pixels)."""
    return sum(1 for face in faces if Alignment.of(face.landmarks, crop_size).face_size < min_face)
