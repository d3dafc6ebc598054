"""Face mode for frames that come in order (the pipe, batch renders, ``stc eval``): whole frames
in, whole frames out, every face found, followed, restored through the engine and pasted back.

Frames are handled in blocks of ``block`` frames. Each block is analysed with ``block_margin()``
frames of context on both sides (so tracks, smoothing and fades come out as for the whole clip),
each track's aligned crops over the block and its context go through the windowed engine (so a
face keeps its temporal consistency, crossfaded windows and all), and the restored crops are
pasted into the block's frames. Memory holds one block plus its context. Where a face continues
from one block into the next, the two blocks restore it in separate engine runs, each with the
other's frames as context.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..engine import EngineOptions, Frame, SampleFormat, WindowRunner, stream
from ..models import STCNet
from .alignment import Alignment
from .analysis import MIN_FACE, FaceAnalysis, analyse_detections, block_margin, track_crops
from .detection import detect_frames
from .pasteback import paste
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

    def __call__(self, frames: Iterable[Frame], fmt: SampleFormat) -> Iterator[FaceFrame]:
        """Restores one clip; ``counts`` then says what was done to it."""
        self.counts = FaceCounts()
        margin = block_margin()
        held: deque[np.ndarray] = deque()  # frames first_held, first_held + 1, ...
        found: deque[list[Face]] = deque()
        first_held = block_start = 0
        received = 0
        for planes in frames:
            rgb = np.stack(planes, axis=-1)
            held.append(rgb)
            found.extend(detect_frames(self.detector, [rgb], peak=fmt.peak, batch=1))
            received += 1
            if received == block_start + self.block + margin:
                yield from self._block(held, found, first_held, block_start, block_start + self.block, fmt)
                block_start += self.block
                while first_held < block_start - margin:
                    held.popleft()
                    found.popleft()
                    first_held += 1
        while block_start < received:
            end = min(block_start + self.block, received)
            yield from self._block(held, found, first_held, block_start, end, fmt)
            block_start = end

    def _block(self, held: deque[np.ndarray], found: deque[list[Face]], first_held: int, start: int, end: int,
               fmt: SampleFormat) -> Iterator[FaceFrame]:
        """Frames ``start`` .. ``end - 1``, analysed with all held frames as context."""
        analysis = analyse_detections(list(found), start=first_held, crop_size=self.network.config.resolution,
                                      min_face=self.min_face)
        resolution = self.network.config.resolution
        self.counts.small_faces += sum(_small_faces(found[n - first_held], resolution, self.min_face)
                                       for n in range(start, end))
        restored = self._restore_tracks(analysis, held, first_held, start, end, fmt)
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

    def _restore_tracks(self, analysis: FaceAnalysis, held: deque[np.ndarray], first_held: int, start: int,
                        end: int, fmt: SampleFormat) -> dict[int, dict[int, np.ndarray]]:
        """track id -> {frame: restored crop (R, R, 3) float in [0, 1]} for the block's frames."""
        restored: dict[int, dict[int, np.ndarray]] = {}
        for track in analysis.tracks:
            if track.stop <= start or track.start >= end:
                continue
            crops = track_crops(track, lambda n: held[n - first_held])
            runner = WindowRunner(self.network, fmt, self.engine)
            outputs = stream(runner, ([crop[..., c] for c in range(3)] for crop in crops))
            restored[track.id] = {n: output.permute(1, 2, 0).numpy() for n, output in zip(track.frames, outputs)
                                  if start <= n < end}
        return restored


def _small_faces(faces: list[Face], crop_size: int, min_face: float) -> int:
    """Detections too small to restore (their aligned crop spans fewer than ``min_face`` pixels)."""
    return sum(1 for face in faces if Alignment.of(face.landmarks, crop_size).face_size < min_face)
