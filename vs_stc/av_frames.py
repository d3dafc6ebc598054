"""Converting between PyAV video frames and the engine's RGB planes."""

from __future__ import annotations

import av
import numpy as np
import torch

from .engine import SampleFormat, tensor_to_planes


def working_format(pix_fmt: av.VideoFormat) -> str:
    """rgb24 for 8-bit sources, rgb48le for deeper ones (no precision is thrown away)."""
    deepest = max((c.bits for c in pix_fmt.components), default=8)
    return "rgb24" if deepest <= 8 else "rgb48le"


def sample_format(working: str) -> SampleFormat:
    return SampleFormat.of(np.uint8) if working == "rgb24" else SampleFormat.of(np.uint16, 16)


def to_planes(frame: av.VideoFrame, working: str) -> list[np.ndarray]:
    """A decoded frame as three strided views (R, G, B) of one packed RGB array."""
    rgb = frame.to_ndarray(format=working)
    return [rgb[..., c] for c in range(3)]


def from_tensor(restored: torch.Tensor, working: str, template: av.VideoFrame, pix_fmt: str) -> av.VideoFrame:
    """(3, H, W) in [0, 1] -> a frame in ``pix_fmt`` with the source frame's colour description."""
    planes = tensor_to_planes(restored, sample_format(working))
    frame = av.VideoFrame.from_ndarray(np.stack(planes, axis=-1), format=working)
    return frame.reformat(format=pix_fmt, dst_colorspace=template.colorspace, dst_color_range=template.color_range)
