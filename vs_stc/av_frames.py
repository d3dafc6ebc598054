"""Converting between PyAV video frames and the engine's RGB planes.

Frames are converted to packed RGB at their own depth (8 bits -> rgb24, deeper -> rgb48le) and
back; a frame with an alpha plane travels as RGBA so its alpha comes back untouched."""

from __future__ import annotations

import av
import numpy as np
import torch

from .engine import SampleFormat, tensor_to_planes
from .errors import OptionError
from .faces.stream import FaceFrame


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
    return _encoded(tensor_to_planes(restored, sample_format(working)), working, template, pix_fmt)


def _encoded(channels: list[np.ndarray], working: str, template: av.VideoFrame, pix_fmt: str) -> av.VideoFrame:
    """R, G, B planes in the working format -> a frame in ``pix_fmt`` with the template's colour
    description and, when it has one, its exact alpha."""
    if working in ("rgba", "rgba64le"):
        channels = [*channels, template.to_ndarray(format=working)[..., 3]]
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


def from_face_frame(result: FaceFrame, working: str, template: av.VideoFrame, pix_fmt: str) -> av.VideoFrame:
    """A face-mode frame in ``pix_fmt``: pixels outside the pasted faces keep the source frame's
    exact values in its own format (no round trip through RGB) when ``pix_fmt`` is the source's."""
    same_format = template.format.name == pix_fmt
    if result.changed is None:
        return template if same_format else template.reformat(format=pix_fmt)
    frame = _encoded([result.rgb[..., c] for c in range(3)], working, template, pix_fmt)
    if same_format and template.format.is_planar:
        for index, (source, target) in enumerate(zip(template.planes, frame.planes)):
            bits = max(c.bits for c in template.format.components if c.plane == index)
            _keep_unchanged(source, target, np.uint8 if bits <= 8 else np.uint16, result.changed)
    return frame


def _keep_unchanged(source: av.video.plane.VideoPlane, target: av.video.plane.VideoPlane, dtype: type,
                    changed: np.ndarray) -> None:
    """Copies ``source``'s samples into ``target`` wherever no pixel they cover changed (a chroma
    sample covers several pixels)."""
    old = np.frombuffer(source, dtype).reshape(source.height, -1)[:, :source.width]
    new = np.frombuffer(target, dtype).reshape(target.height, -1)[:, :target.width]
    fy, fx = -(-changed.shape[0] // source.height), -(-changed.shape[1] // source.width)
    padded = np.zeros((source.height * fy, source.width * fx), bool)
    padded[:changed.shape[0], :changed.shape[1]] = changed
    touched = padded.reshape(source.height, fy, source.width, fx).any(axis=(1, 3))
    new[~touched] = old[~touched]


def restored_frame(restored: torch.Tensor | FaceFrame, working: str, template: av.VideoFrame,
                   pix_fmt: str) -> av.VideoFrame:
    """The engine's result for ``template`` (a tensor in aligned mode, a FaceFrame in face mode) as
    a frame in ``pix_fmt``."""
    if isinstance(restored, FaceFrame):
        return from_face_frame(restored, working, template, pix_fmt)
    return from_tensor(restored, working, template, pix_fmt)


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
