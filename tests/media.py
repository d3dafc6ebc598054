"""Writing test clips the way a user's files come: RGB frames as YUV 4:2:0 8-bit video."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import av
import numpy as np


def write_yuv420(path: Path, frames: Sequence[np.ndarray], codec: str, container_format: str | None = None) -> Path:
    """(H, W, 3) uint8 RGB frames at 25 fps, converted to yuv420p, encoded with ``codec``."""
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")))
        container.mux(stream.encode(None))
    return path
