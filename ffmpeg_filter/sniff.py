"""Recognising what arrives on stdin: NUT or Y4M from its first bytes, raw video on request."""

from __future__ import annotations

import io
import select
from typing import BinaryIO, Callable

from vs_stc.errors import InputError

NUT_MAGIC = b"nut/multimedia container\x00"
Y4M_MAGIC = b"YUV4MPEG2 "
FORMATS = {"nut": "nut", "y4m": "yuv4mpegpipe", "raw": "rawvideo"}


class PrefixedReader(io.RawIOBase):
    """Replays bytes already read from a stream, then reads on from the stream itself. When
    ``stop()`` becomes true while waiting for input, the stream ends there (reads return EOF)."""

    def __init__(self, prefix: bytes, stream: BinaryIO, stop: Callable[[], bool] = lambda: False) -> None:
        self._prefix, self._stream, self._stop = prefix, stream, stop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n], self._prefix = self._prefix[:n], self._prefix[n:]
            return n
        if not self._wait_readable():
            return 0
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _wait_readable(self) -> bool:
        """Waits for input on an unbuffered stream, checking for a stop request; False when stopped."""
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            return not self._stop()
        while not self._stop():
            if select.select([fd], [], [], 0.2)[0]:
                return True
        return False


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, have = [], 0
    while have < size:
        chunk = stream.read(size - have)
        if not chunk:
            break
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


def open_input(
    stream: BinaryIO, requested: str | None, stop: Callable[[], bool] = lambda: False
) -> tuple[str, BinaryIO]:
    """Returns (container name, reader positioned at the start). ``requested``: nut, y4m, raw or None
    to detect NUT / Y4M from the magic bytes."""
    head = read_exactly(stream, len(NUT_MAGIC))
    if not head:
        raise InputError(
            "nothing arrived on stdin: expected a NUT or Y4M stream, e.g. `ffmpeg -i in.mp4 -f nut - | stc-ffmpeg restore ...`"
        )
    detected = "nut" if head.startswith(NUT_MAGIC) else "y4m" if head.startswith(Y4M_MAGIC) else None
    if requested in (None, "auto"):
        if detected is None:
            raise InputError(
                f"stdin starts with {head[:16]!r}, which is neither NUT nor Y4M: pipe `ffmpeg ... -f nut -` or "
                "`-f yuv4mpegpipe -`, or give --format raw with --size, --pix-fmt and --rate for raw video"
            )
        requested = detected
    elif requested != "raw" and detected != requested:
        raise InputError(f"--format {requested} was given, but stdin starts with {head[:16]!r}")
    return FORMATS[requested], io.BufferedReader(PrefixedReader(head, stream, stop))
