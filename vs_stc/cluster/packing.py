"""Restored frames as lossless bytes: what a unit sends back and what a part file holds.

A part is a JSON header (what the unit did) followed by one record per frame: a JSON description
and the frame's planes, zlib-compressed, exactly as the worker made them in the output pixel
format. A frame that face mode passed through untouched travels as a mark only; the driver uses
its own decoded frame, which is the same. Frame attributes the encoder reads (picture type,
colour description) travel with the pixels, so the driver encodes what a local render encodes.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import BinaryIO, Iterator

import av
import numpy as np

MAGIC = b"STCPART1"
ATTRIBUTES = ("pict_type", "colorspace", "color_range", "color_primaries", "color_trc", "chroma_location")
LEVEL = 1  # the frames are large and this runs once per frame: speed over the last few percent


class PartWriter:
    """Collects one unit's frames; ``finish(header)`` returns the part's bytes."""

    def __init__(self) -> None:
        self.records = io.BytesIO()
        self.frames = 0

    def add(self, frame: av.VideoFrame, template: av.VideoFrame) -> None:
        if frame is template:
            self._record({"passthrough": True}, b"")
        else:
            description = {"format": frame.format.name, "width": frame.width, "height": frame.height,
                           "lines": [p.line_size for p in frame.planes], "rows": [p.height for p in frame.planes],
                           **{name: int(getattr(frame, name)) for name in ATTRIBUTES}}
            self._record(description, zlib.compress(b"".join(bytes(p) for p in frame.planes), LEVEL))
        self.frames += 1

    def _record(self, description: dict, data: bytes) -> None:
        text = json.dumps({**description, "size": len(data)}).encode()
        self.records.write(struct.pack("<I", len(text)) + text + data)

    def finish(self, header: dict) -> bytes:
        text = json.dumps({**header, "frames": self.frames}).encode()
        return MAGIC + struct.pack("<I", len(text)) + text + self.records.getvalue()


class Rebuilt:
    """One frame of a part; called with the driver's decoded frame, it returns the output frame."""

    def __init__(self, description: dict, data: bytes) -> None:
        self.description, self.data = description, data

    def __call__(self, template: av.VideoFrame) -> av.VideoFrame:
        d = self.description
        if d.get("passthrough"):
            return template
        frame = av.VideoFrame(d["width"], d["height"], d["format"])
        raw = zlib.decompress(self.data)
        offset = 0
        for plane, line, rows in zip(frame.planes, d["lines"], d["rows"]):
            source = np.frombuffer(raw, np.uint8, line * rows, offset).reshape(rows, line)
            offset += line * rows
            if plane.line_size == line:
                plane.update(source.tobytes())
            else:  # another machine aligned its lines differently: copy the part of each line both hold
                width = min(line, plane.line_size)
                np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :width] = source[:, :width]
        for name in ATTRIBUTES:
            setattr(frame, name, d[name])
        return frame


def read_header(stream: BinaryIO) -> dict:
    if stream.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a vs-stc part file")
    return json.loads(stream.read(_length(stream)))


def read_frames(stream: BinaryIO) -> Iterator[Rebuilt]:
    """The frames after ``read_header``, one at a time (a part may be larger than memory)."""
    while head := stream.read(4):
        description = json.loads(stream.read(struct.unpack("<I", head)[0]))
        yield Rebuilt(description, stream.read(description["size"]))


def _length(stream: BinaryIO) -> int:
    return struct.unpack("<I", stream.read(4))[0]
