"""Converting between PyAV video frames and the engine's RGB planes.

Frames are converted to packed RGB at their own depth (8 bits -> rgb24, deeper -> rgb48le) and
back; a frame with an alpha plane travels as RGBA so its alpha comes back untouched."""

from __future__ import annotations

import av
import numpy as np
import torch

from .engine import SampleFormat, tensor_to_planes
from .errors import OptionError


def working_format(pix_fmt: av.VideoFormat) -> str:
    """The packed RGB(A) format frames are restored in: no precision or alpha is thrown away."""
    deepest = max((c.bits for c in pix_fmt.components), default=8)
    alpha = any(c.is_alpha for c in pix_fmt.components)
    if deepest <= 8:
        return "rgba" if alpha else "rgb24"
    return "rgba64le" if alpha else "rgb48le"


def sample_format(working: str) -> SampleFormat:
    return SampleFormat.of(np.uint8) if working in ("rgb24", "rgba") else SampleFormat.of(np.uint16, 16)


def to_planes(frame: av.VideoFrame, working: str) -> list[np.ndarray]:
    """A decoded frame as three strided views (R, G, B) of one packed array."""
    rgb = frame.to_ndarray(format=working)
    return [rgb[..., c] for c in range(3)]


def from_tensor(restored: torch.Tensor, working: str, template: av.VideoFrame, pix_fmt: str) -> av.VideoFrame:
    """(3, H, W) in [0, 1] -> a frame in ``pix_fmt`` with the source frame's colour description
    (and its alpha, when it has one)."""
    channels = tensor_to_planes(restored, sample_format(working))
    if working in ("rgba", "rgba64le"):
        channels.append(template.to_ndarray(format=working)[..., 3])
    frame = av.VideoFrame.from_ndarray(np.stack(channels, axis=-1), format=working)
    frame = frame.reformat(format=pix_fmt, dst_colorspace=template.colorspace, dst_color_range=template.color_range)
    if template.format.name == pix_fmt:
        _copy_alpha_plane(template, frame)
    return frame


def _copy_alpha_plane(source: av.VideoFrame, target: av.VideoFrame) -> None:
    """Puts the source's own alpha plane back: converting alpha through RGBA and back is not exact
    in swscale (128 becomes 129), copying the plane is."""
    for component in source.format.components:
        if component.is_alpha and source.format.is_planar:
            source_plane, target_plane = source.planes[component.plane], target.planes[component.plane]
            if source_plane.buffer_size == target_plane.buffer_size:
                target_plane.update(bytes(source_plane))


def output_pix_fmt(requested: str | None, source: av.VideoFormat) -> str:
    """The output pixel format: the one asked for, else the source's; a palette source (pal8)
    comes out as RGB, since restored frames need more colours than a palette has."""
    if requested is not None:
        return requested
    if source.has_palette or source.is_bit_stream:
        return "rgba" if any(c.is_alpha for c in source.components) else "rgb24"
    return source.name


def check_pix_fmt(argument: str, name: str) -> None:
    """Refuses a pixel format FFmpeg does not know, or one that cannot hold restored frames."""
    try:
        fmt = av.VideoFormat(name)
    except ValueError:
        raise OptionError(argument, f"{name!r} is not a pixel format FFmpeg knows (see `ffmpeg -pix_fmts`)") from None
    if fmt.has_palette or fmt.is_bit_stream or fmt.is_bayer:
        raise OptionError(argument, f"{name!r} cannot hold restored frames (a palette, bitstream or Bayer format); "
                                    "give e.g. yuv420p or rgb24")
