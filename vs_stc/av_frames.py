"""Converting between PyAV video frames and the frames the restorers take and give: ``Picture``s in
the frame's own format (planar YUV, gray, or packed RGB at the frame's depth), read and written by
the colour rule (colour.py), so that the pipe, batch renders and Ray write what VapourSynth writes."""

from __future__ import annotations

from functools import lru_cache

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from .colour import Layout, Picture, Restored, YUVRule
from .cuts import rgb_luma, thumbnail
from .errors import OptionError

# H.273 matrix codes -> swscale's (which has one entry for BT.601, 470BG and SMPTE 170M alike).
SWSCALE_MATRICES = {1: Colorspace.ITU709, 4: Colorspace.FCC, 5: Colorspace.ITU601, 6: Colorspace.ITU601,
                    7: Colorspace.SMPTE240M, 9: Colorspace.BT2020, 10: Colorspace.BT2020}
PACKED_RGB = ("rgb24", "rgba", "rgb48le", "rgba64le")


def working_format(pix_fmt: av.VideoFormat) -> str:
    """The packed RGB(A) format a frame without planes of its own is read in: no precision or alpha
    is thrown away."""
    deepest = max((c.bits for c in pix_fmt.components), default=8)
    alpha = any(c.is_alpha for c in pix_fmt.components)
    if deepest <= 8:
        return "rgba" if alpha else "rgb24"
    return "rgba64le" if alpha else "rgb48le"


def working_peak(working: str) -> float:
    """White in the samples of a working RGB format: 8-bit for rgb24 and rgba, else 16-bit."""
    return 255.0 if working in ("rgb24", "rgba") else 65535.0


def yuv_description(fmt: av.VideoFormat, frame: av.VideoFrame, rule: YUVRule) -> dict[str, int]:
    """swscale's arguments for reading or writing YUV samples of ``fmt`` by the colour rule, from
    the tags and size of ``frame``; nothing for RGB, gray and palette formats."""
    if fmt.is_rgb or fmt.has_palette or len(fmt.components) < 3:
        return {}
    matrix, _ = rule.matrix_for(frame.colorspace, frame.width, frame.height)
    full = rule.full_range_for(frame.color_range == ColorRange.JPEG or fmt.name.startswith("yuvj"))
    return {"colorspace": SWSCALE_MATRICES.get(matrix, Colorspace.ITU709),
            "color_range": ColorRange.JPEG if full else ColorRange.MPEG}


def frame_thumbnail(frame: av.VideoFrame) -> np.ndarray:
    """The frame's small luma image for the cut detector (cuts.py): from its own luma plane where
    it has one to itself (planar YUV, gray, NV12), else from its RGB."""
    fmt = frame.format
    if not fmt.is_rgb and sum(c.plane == 0 for c in fmt.components) == 1 and not fmt.has_palette:
        bits = fmt.components[0].bits
        dtype = np.dtype(np.uint8 if bits <= 8 else (">u2" if fmt.is_big_endian else "<u2"))
        plane = frame.planes[0]
        luma = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, :plane.width]
        return thumbnail(luma, (2**bits - 1) << _luma_shift(fmt.name))
    working = working_format(fmt)
    rgb = frame.to_ndarray(format=working)
    return thumbnail(rgb_luma(rgb[..., 0], rgb[..., 1], rgb[..., 2]), working_peak(working))


@lru_cache(maxsize=None)
def _luma_shift(pix_fmt: str) -> int:
    """How far above the bottom of their words the format's luma samples sit: 6 for p010 (10 bits
    at the top of 16), 0 for most. PyAV does not say, so white is written into a frame of the
    format and read back."""
    fmt = av.VideoFormat(pix_fmt)
    bits = fmt.components[0].bits
    if bits <= 8:
        return 0
    white = av.VideoFrame.from_ndarray(np.full((2, 2), 65535, np.uint16), format="gray16le").reformat(format=pix_fmt)
    sample = int(np.frombuffer(white.planes[0], ">u2" if fmt.is_big_endian else "<u2")[0])
    shift = 0
    while sample >> shift > 2**bits - 1:
        shift += 1
    return shift


# The restorers read frames in their own format (colour.Picture). Formats whose colour components
# do not each lie on a plane of their own are read through the planar YUV format of their
# subsampling and depth (an exact rearrangement), or as packed RGB.
PLANAR_YUV = {(0, 0): "yuv444p", (1, 0): "yuv422p", (1, 1): "yuv420p", (0, 1): "yuv440p", (2, 0): "yuv411p",
              (2, 2): "yuv410p"}


def picture_format(fmt: av.VideoFormat) -> str:
    """The format the restorers read and write a frame of ``fmt`` in (see above)."""
    alpha = any(c.is_alpha for c in fmt.components)
    own_planes = len({c.plane for c in fmt.components}) == len(fmt.components)
    if fmt.is_rgb or fmt.has_palette or fmt.is_bit_stream or fmt.is_bayer or (alpha and not own_planes):
        return working_format(fmt)
    if own_planes and not fmt.is_big_endian:
        return fmt.name
    bits = max(c.bits for c in fmt.components)
    if len(fmt.components) == 1:
        return "gray" if bits <= 8 else "gray16le"
    subsampling = (int(np.log2(64 // fmt.chroma_width(64))), int(np.log2(64 // fmt.chroma_height(64))))
    name = PLANAR_YUV.get(subsampling, "yuv444p")
    return name if bits <= 8 else f"{name}{16 if bits > 12 else bits}le"


def picture_of(frame: av.VideoFrame, rule: YUVRule = YUVRule()) -> Picture:
    """The frame as the restorers read it: its planes (views) in ``picture_format`` and their layout
    by the colour ``rule``."""
    name = picture_format(frame.format)
    if name in PACKED_RGB:
        rgb = frame.to_ndarray(format=name)
        return Picture([rgb[..., c] for c in range(rgb.shape[2])], Layout("rgb", working_peak(name)))
    source = frame if name == frame.format.name else frame.reformat(format=name)
    fmt = source.format
    bits = max(c.bits for c in fmt.components)
    dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
    planes = [np.frombuffer(p, dtype).reshape(p.height, -1)[:, :p.width] for p in source.planes]
    peak = float(2**bits - 1)
    if len(planes) - any(c.is_alpha for c in fmt.components) == 1:
        full = rule.full_range_for(frame.color_range != ColorRange.MPEG)  # gray: full unless tagged limited
        return Picture(planes, Layout("gray", peak, full_range=full))
    matrix, assumed = rule.matrix_for(frame.colorspace, frame.width, frame.height)
    full = rule.full_range_for(frame.color_range == ColorRange.JPEG or fmt.name.startswith("yuvj"))
    sx = int(round(np.log2(planes[0].shape[1] / planes[1].shape[1])))
    sy = int(round(np.log2(planes[0].shape[0] / planes[1].shape[0])))
    return Picture(planes, Layout("yuv", peak, (sx, sy), matrix, full, assumed))


def from_restored(result: Restored, template: av.VideoFrame, pix_fmt: str, rule: YUVRule = YUVRule()
                  ) -> av.VideoFrame:
    """A restored frame in ``pix_fmt``: the template itself where nothing changed, else the planes
    in the template's picture format, converted to ``pix_fmt`` (by the colour rule) when it differs."""
    if result.region is None:
        return template if template.format.name == pix_fmt else _converted(template, template, pix_fmt, rule)
    name = picture_format(template.format)
    if name in PACKED_RGB:
        frame = av.VideoFrame.from_ndarray(np.stack(result.planes, axis=-1), format=name)
    else:
        frame = av.VideoFrame(template.width, template.height, name)
        targets = [np.frombuffer(plane, samples.dtype).reshape(plane.height, -1)[:, :plane.width]
                   for plane, samples in zip(frame.planes, result.source)]
        for target, samples in zip(targets, result.source):
            target[:] = samples
        result.write_patches(targets)
    frame.colorspace, frame.color_range = template.colorspace, template.color_range
    return frame if name == pix_fmt else _converted(frame, template, pix_fmt, rule)


def _converted(frame: av.VideoFrame, template: av.VideoFrame, pix_fmt: str, rule: YUVRule) -> av.VideoFrame:
    """``frame`` in ``pix_fmt``, YUV on either side read and written by the colour rule."""
    source, target = yuv_description(frame.format, template, rule), yuv_description(av.VideoFormat(pix_fmt), template,
                                                                                     rule)
    return frame.reformat(format=pix_fmt, src_colorspace=source.get("colorspace"),
                          dst_colorspace=target.get("colorspace"), src_color_range=source.get("color_range"),
                          dst_color_range=target.get("color_range"))


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
