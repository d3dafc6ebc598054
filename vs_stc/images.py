"""Writing stills: PNG through FFmpeg's encoder (PyAV), side-by-side comparisons."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from .outputs import written_atomically


def write_png(image: np.ndarray, path: Path) -> None:
    """Writes an (H, W, 3) uint8 RGB image as PNG, at exactly ``path`` (``update``: no %d
    pattern expansion), atomically."""
    with written_atomically(path) as partial, av.open(str(partial), "w", format="image2",
                                                       options={"update": "1"}) as container:
        stream = container.add_stream("png")
        stream.width, stream.height = image.shape[1], image.shape[0]
        stream.pix_fmt = "rgb24"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        container.mux(stream.encode(None))


def side_by_side(*images: np.ndarray) -> np.ndarray:
    """(H, W, 3) images next to each other, with 4-pixel white gaps."""
    gap = np.full((images[0].shape[0], 4, 3), 255, dtype=np.uint8)
    parts = [part for image in images for part in (gap, image)][1:]
    return np.concatenate(parts, axis=1)
