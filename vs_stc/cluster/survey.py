"""What the driver learns about an input before any unit runs: its output pixel format, its
declared length, and for a file long enough to be chunked, every frame's pts and which frames are
key frames (so that a worker can seek to a chunk), from one decode without the model."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..av_frames import frame_thumbnail, output_pix_fmt
from ..cuts import StreamCuts
from ..declared_length import declared_frames
from ..encoding import Encoder
from ..errors import InputError


@dataclass
class Survey:
    pix_fmt: str
    declared: int | None
    exact: bool
    pts: list[int | None] = field(default_factory=list)  # every frame's, when decoded
    keys: list[int] = field(default_factory=list)  # indices of key frames
    cuts: tuple[int, ...] = ()  # frames that start a shot, when decoded with cuts="auto"
    input_error: str | None = None

    @property
    def frames(self) -> int:
        return len(self.pts)

    def seek_point(self, frame: int) -> tuple[int | None, int | None]:
        """(pts of the last key frame at or before ``frame``, pts of ``frame``); Nones where the
        frames carry no timestamps, or where another frame has ``frame``'s (a worker would start
        at the first of them): the worker then decodes from the start and counts."""
        if self.pts[frame] in self._repeated_pts:
            return None, None
        key = max((k for k in self.keys if k <= frame), default=0)
        return self.pts[key], self.pts[frame]

    @cached_property
    def _repeated_pts(self) -> set[int | None]:
        return {pts for pts, count in Counter(self.pts).items() if count > 1}


def survey(path: Path, encoder: Encoder, count_above: int | None, find_cuts: bool = False) -> Survey:
    """Decodes the video (without restoring it) when it declares more than ``count_above`` frames
    or does not say how many (None: never), and then finds its cuts when ``find_cuts``."""
    with av.open(str(path)) as source:
        if not source.streams.video:
            raise InputError("the file has no video stream")
        video = source.streams.video[0]
        declared, exact = declared_frames(source, video)
        pix_fmt = output_pix_fmt(encoder.for_input(video).pix_fmt, video.codec_context.format)
        found = Survey(pix_fmt, declared, exact)
        if count_above is not None and (declared is None or declared > count_above):
            video.thread_type = "AUTO"
            cuts = StreamCuts(find_cuts)

            def frames() -> Iterator[tuple[None, np.ndarray | None]]:
                try:
                    for index, frame in enumerate(source.decode(video)):
                        found.pts.append(frame.pts)
                        if frame.key_frame:
                            found.keys.append(index)
                        yield None, frame_thumbnail(frame) if find_cuts else None
                except av.FFmpegError as error:
                    found.input_error = str(error)

            for _ in cuts.follow(frames()):
                pass
            found.cuts = tuple(sorted(cuts.cuts))
    return found
