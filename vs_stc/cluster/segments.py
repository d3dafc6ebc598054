"""Decoding the frames of a chunk on a worker: seek to the key frame before it, then decode
forward to its first frame by pts (or, without usable timestamps, decode from the start and count)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Sequence

import av
import numpy as np

from ..av_frames import picture_of
from ..colour import Picture
from ..engine import Frame
from ..restorer import rgb_planes
from .units import Unit


def decoded_from(source: av.container.InputContainer, unit: Unit) -> Iterator[av.VideoFrame]:
    """The video frames of ``source`` from frame ``unit.read_from`` on."""
    video = source.streams.video[0]
    video.thread_type = "AUTO"
    if unit.read_from and unit.seek_pts is not None and unit.first_pts is not None:
        source.seek(unit.seek_pts, stream=video, backward=True)
        frames = source.decode(video)
        for frame in frames:
            if frame.pts == unit.first_pts:
                yield frame
                yield from frames
                return
            if frame.pts is None or frame.pts > unit.first_pts:  # the seek went past it
                break
        source.seek(0, stream=video, backward=True)
    for index, frame in enumerate(source.decode(video)):
        if index >= unit.read_from:
            yield frame


class Segment:
    """Input frames of a chunk (the decoded frame, its picture and RGB), decoded as the engine asks
    for them and dropped once behind it."""

    def __init__(self, frames: Iterator[av.VideoFrame], first: int) -> None:
        self.frames, self.next = frames, first
        self.held: OrderedDict[int, tuple[av.VideoFrame, Picture, np.ndarray]] = OrderedDict()

    def _fetch(self, index: int) -> tuple[av.VideoFrame, Picture, np.ndarray]:
        while index not in self.held:
            if index < self.next:
                raise IndexError(f"frame {index} was already released")
            frame = next(self.frames, None)
            if frame is None:
                raise EOFError(f"the input ended before frame {index}")
            picture = picture_of(frame)
            self.held[self.next] = (frame, picture, picture.rgb())
            self.next += 1
        return self.held[index]

    def read(self, indices: Sequence[int]) -> list[Frame]:
        """The engine's planes of frames ``indices``."""
        return [rgb_planes(self._fetch(i)[2]) for i in indices]

    def get(self, index: int) -> tuple[av.VideoFrame, Picture, np.ndarray]:
        """(decoded frame, picture, RGB) of frame ``index``."""
        return self._fetch(index)

    def release_before(self, index: int) -> None:
        while self.held and next(iter(self.held)) < index:
            self.held.popitem(last=False)
