"""The Ray actor: loads the model once and renders units, returning each as a part's bytes.

A problem of the input or options (``STCError``, an undecodable file) is returned as the unit's
error, since running it again would fail the same way; anything else (a crash, a lost node) is
left to Ray's retries."""

from __future__ import annotations

import time
from collections import deque

import av
import torch

from ..av_frames import frame_thumbnail, from_restored, picture_of
from ..cuts import StreamCuts
from ..batch import failure_text
from ..engine import RandomAccessRestorer, WindowRunner
from ..errors import STCError
from ..faces.stream import FaceStreamRestorer
from ..options import RunOptions
from ..restorer import RGB, load_restorer, whole_frame
from .packing import PartWriter
from .segments import Segment, decoded_from
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
                if unit.stop is None:
                    header = self._whole(source, unit, writer)
                elif isinstance(self.restore, FaceStreamRestorer):
                    header = self._face_chunk(source, unit, writer)
                else:
                    header = self._chunk(source, unit, writer)
        except (STCError, av.FFmpegError, EOFError) as error:
            return None, failure_text(error)
        return writer.finish({**header, "seconds": time.monotonic() - start}), None

    def _whole(self, source: av.container.InputContainer, unit: Unit, writer: PartWriter) -> dict:
        """The file as a local render streams it (face mode's blocks included)."""
        video = source.streams.video[0]
        video.thread_type = "AUTO"
        self.restore.check(video.codec_context.height, video.codec_context.width)
        templates: deque[av.VideoFrame] = deque()
        cuts = StreamCuts(enabled=self.restore.cuts == "auto")

        def decoded():
            try:
                for frame in source.decode(video):
                    templates.append(frame)
                    yield picture_of(frame), frame_thumbnail(frame) if cuts.enabled else None
            except av.FFmpegError:  # the driver's own decode finds the damage and reports it
                return

        for restored in self.restore(cuts.follow(decoded()), cuts.cuts):
            template = templates.popleft()
            writer.add(from_restored(restored, template, unit.pix_fmt), template)
        counts = getattr(self.restore, "counts", None)
        return {"counts": vars(counts) if counts else None}

    def _chunk(self, source: av.container.InputContainer, unit: Unit, writer: PartWriter) -> dict:
        """Aligned mode's frames [start, stop), by random access over the windows that make them."""
        video = source.streams.video[0]
        height, width = video.codec_context.height, video.codec_context.width
        segment = Segment(decoded_from(source, unit), unit.read_from)
        runner = WindowRunner(self.restore.network, RGB, self.restore.engine)
        frames = RandomAccessRestorer(runner, unit.length, (height, width), read=segment.read, cuts=unit.cuts)
        for n in range(unit.start, unit.stop):
            template, picture, rgb = segment.get(n)
            writer.add(from_restored(whole_frame(picture, rgb, frames.frame(n)), template, unit.pix_fmt), template)
            segment.release_before(n - runner.options.window)
        return {"counts": None}

    def _face_chunk(self, source: av.container.InputContainer, unit: Unit, writer: PartWriter) -> dict:
        """Face mode's frames [start, stop), given the frames around them that its analysis needs."""
        templates: dict[int, av.VideoFrame] = {}

        def decoded():
            for index, frame in zip(range(unit.read_from, unit.read_to), decoded_from(source, unit)):
                if unit.start <= index < unit.stop:
                    templates[index] = frame
                yield picture_of(frame)

        wanted = range(unit.start, unit.stop)
        for n, restored in zip(wanted, self.restore(decoded(), set(unit.cuts), unit.read_from, wanted)):
            template = templates.pop(n)
            writer.add(from_restored(restored, template, unit.pix_fmt), template)
        return {"counts": vars(self.restore.counts)}
