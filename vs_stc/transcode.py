"""The transcoding loop shared by ``stc-ffmpeg`` and the batch renders (``stc restore|deflicker``):
demux, decode the video, restore it through the engine's streaming API, encode, and remux every
other stream untouched.

Video frames keep their own timestamps (variable frame rate survives); audio, subtitle and data
packets are stream-copied. Demuxing drives everything, so at most one engine window of video
(plus its overlap) is in flight, and the muxer interleaves the delayed video with the rest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import av
import numpy as np

from .av_frames import frame_thumbnail, from_restored, output_pix_fmt, picture_of
from .colour import Picture, YUVRule
from .cuts import StreamCuts
from .encoding import VideoEncoding
from .errors import InputError, OutputError

if TYPE_CHECKING:
    from .faces.stream import FaceStreamRestorer
    from .restorer import StreamRestorer

COPIED_TYPES = ("audio", "subtitle", "data", "attachment")


@dataclass
class Outcome:
    frames_in: int = 0
    frames_out: int = 0
    input_error: str | None = None  # the input ended early: what the demuxer or decoder said
    interrupted: bool = False
    first_time: float | None = None  # seconds: the first decoded frame's timestamp
    last_time: float | None = None  # and the last one's

    def covered(self, rate: float) -> float | None:
        """Seconds of video the decoded frames span (the last one lasting 1 / ``rate``)."""
        if self.first_time is None or self.last_time is None:
            return None
        return self.last_time - self.first_time + 1 / rate


def copy_packet(packet: av.Packet, target: av.stream.Stream, sink: av.container.OutputContainer,
                last_dts: dict[int, int]) -> None:
    """Writes a packet of a copied stream (audio, subtitles, ...) to ``target``. Matroska stores
    packets that share a dts; MP4 and most other muxers refuse them. As ffmpeg does, such a packet's
    dts moves to just after its stream's last (its pts with it where it would come before). A
    packet the muxer still refuses is an output error, not damage in the input."""
    index = packet.stream.index
    if packet.dts is not None:
        if index in last_dts and packet.dts <= last_dts[index]:
            packet.dts = last_dts[index] + 1
            if packet.pts is not None and packet.pts < packet.dts:
                packet.pts = packet.dts
        last_dts[index] = packet.dts
    kind, at = packet.stream.type, packet.pts
    packet.stream = target
    try:
        sink.mux(packet)
    except av.FFmpegError as error:
        when = f" at {float(at * packet.time_base):.3f} s" if at is not None else ""
        raise OutputError(f"the {kind} stream copied from the input could not be written{when} "
                          f"({error.strerror}); write to .mkv, which takes its packets as they are") from error


def keep_description(source_stream: av.video.stream.VideoStream, target_stream: av.video.stream.VideoStream) -> None:
    """The output video says what the input said: sample aspect ratio, colour matrix, primaries,
    transfer and range (containers that carry them, such as MP4 and Matroska, keep them)."""
    source, target = source_stream.codec_context, target_stream.codec_context
    aspect = source_stream.sample_aspect_ratio or source.sample_aspect_ratio  # NUT keeps it on the stream
    if aspect:
        target.sample_aspect_ratio = aspect
    tags = ["color_primaries", "color_trc"]
    if not target.format.is_rgb and not source.format.is_rgb:  # a YUV matrix and range mean nothing to RGB
        tags += ["colorspace", "color_range"]
    for tag in tags:
        setattr(target, tag, getattr(source, tag))


def transcode(
    source: av.container.InputContainer,
    sink: av.container.OutputContainer,
    restore: StreamRestorer | FaceStreamRestorer,
    encoding: VideoEncoding,
    on_frame: Callable[[int, av.VideoFrame, av.VideoFrame], None] = lambda n, source, restored: None,
    should_stop: Callable[[], bool] = lambda: False,
    rule: YUVRule = YUVRule(),
) -> Outcome:
    """Runs the whole input through, reading and writing YUV by the colour ``rule``. Input that ends
    early (a cut-off stream) or a stop request ends reading: every frame decoded so far is still
    restored and written, and the outcome says why reading stopped. ``on_frame(count,
    source_frame, restored_frame)`` follows each frame out."""
    if not source.streams.video:
        raise InputError("the input has no video stream")
    video_in = source.streams.video[0]
    restore.check(video_in.codec_context.height, video_in.codec_context.width)  # before anything is written
    video_in.thread_type = "AUTO"
    pix_fmt = output_pix_fmt(encoding.pix_fmt, video_in.codec_context.format)
    video_out = sink.add_stream(encoding.codec, rate=video_in.average_rate or video_in.guessed_rate or 25,
                                options=encoding.options)
    video_out.width, video_out.height = video_in.codec_context.width, video_in.codec_context.height
    video_out.pix_fmt = pix_fmt
    keep_description(video_in, video_out)
    video_out.time_base = video_out.codec_context.time_base = video_in.time_base
    copies = {s.index: sink.add_stream_from_template(s) for s in source.streams if s.type in COPIED_TYPES}
    sink.metadata.update(source.metadata)
    video_out.metadata.update(video_in.metadata)
    for index, copy in copies.items():
        copy.metadata.update(source.streams[index].metadata)

    outcome = Outcome()
    pending: deque[av.VideoFrame] = deque()  # decoded frames whose restored versions are not out yet

    cuts = StreamCuts(enabled=restore.cuts == "auto")

    last_dts: dict[int, int] = {}  # of each copied stream, as written

    def decoded() -> Iterator[tuple[Picture, np.ndarray | None]]:
        try:
            for packet in source.demux():
                if should_stop():
                    outcome.interrupted = True
                    return
                if packet.stream.index in copies:
                    if packet.size:  # skip the demuxer's empty flush packets
                        copy_packet(packet, copies[packet.stream.index], sink, last_dts)
                elif packet.stream is video_in:
                    for frame in packet.decode():
                        pending.append(frame)
                        outcome.frames_in += 1
                        if frame.pts is not None:
                            outcome.last_time = float(frame.pts * frame.time_base)
                            if outcome.first_time is None:
                                outcome.first_time = outcome.last_time
                        yield picture_of(frame, rule), frame_thumbnail(frame) if cuts.enabled else None
        except av.FFmpegError as error:
            outcome.input_error = str(error)

    for restored in restore(cuts.follow(decoded()), cuts.cuts):
        template = pending.popleft()
        if callable(restored):  # a Ray render's frame (cluster.packing.Rebuilt): finished against this frame
            frame = restored(template)
        else:
            frame = from_restored(restored, template, pix_fmt, rule)
        frame.pts, frame.time_base = template.pts, template.time_base
        sink.mux(video_out.encode(frame))
        outcome.frames_out += 1
        on_frame(outcome.frames_out, template, frame)
    sink.mux(video_out.encode(None))
    return outcome
