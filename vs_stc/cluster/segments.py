"""Decoding the frames of a unit on a worker: seek to the key frame before its first input frame,
then decode forward to that frame by pts (or, without usable timestamps, decode from the start and
count)."""

from __future__ import annotations

from typing import Iterator

import av

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
