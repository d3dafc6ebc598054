"""The Ray actor: loads the model once and renders units, returning each as a part's bytes.

A problem of the input or options (``STCError``, an undecodable file) is returned as the unit's
error, since running it again would fail the same way; anything else (a crash, a lost node) is
left to Ray's retries."""

from __future__ import annotations

import time
from collections import deque
from itertools import islice

import av
import torch

from ..av_frames import frame_thumbnail, from_restored, picture_of
from ..cuts import StreamCuts
from ..errors import STCError
from ..jobs import failure_text
from ..options import RunOptions
from ..restorer import load_restorer
from .packing import PartWriter
from .segments import decoded_from
from .units import Unit


class Renderer:
    def __init__(self, options: RunOptions, threads: int) -> None:
        torch.set_num_threads(threads)
        self.restore = load_restorer(options)

    def render(self, unit: Unit) -> tuple[bytes | None, str | None]:
        """(the part's bytes, None) or (None, what went wrong)."""
        start = time.monotonic()
        writer = PartWriter()
        try:
            with av.open(unit.source) as source:
                counts = self._render(source, unit, writer)
        except (STCError, av.FFmpegError, EOFError) as error:
            return None, failure_text(error)
        return writer.finish({"counts": counts, "seconds": time.monotonic() - start}), None

    def _render(self, source: av.container.InputContainer, unit: Unit, writer: PartWriter) -> dict | None:
        """The unit's frames, made as a local render makes them: a whole file as a stream (its cuts
        found as it is read), a chunk as a stretch of the file given the frames around it and the
        file's cuts (found by the driver's survey)."""
        video = source.streams.video[0]
        self.restore.check(video.codec_context.height, video.codec_context.width)
        whole = unit.stop is None
        wanted = None if whole else range(unit.start, unit.stop)
        templates: deque[av.VideoFrame] = deque()
        stream_cuts = StreamCuts(enabled=whole and self.restore.cuts == "auto")

        def decoded():
            try:
                frames = decoded_from(source, unit)
                if unit.read_to is not None:
                    frames = islice(frames, unit.read_to - unit.read_from)
                for index, frame in enumerate(frames, unit.read_from):
                    if wanted is None or index in wanted:
                        templates.append(frame)
                    yield picture_of(frame), frame_thumbnail(frame) if stream_cuts.enabled else None
            except av.FFmpegError:
                if not whole:
                    raise
                # a whole file: the driver's own decode finds the damage and reports it

        cuts = stream_cuts.cuts if whole else set(unit.cuts)
        for restored in self.restore(stream_cuts.follow(decoded()), cuts, unit.read_from, wanted, unit.length):
            template = templates.popleft()
            writer.add(from_restored(restored, template, unit.pix_fmt), template)
        return vars(self.restore.counts) if self.restore.counts else None
