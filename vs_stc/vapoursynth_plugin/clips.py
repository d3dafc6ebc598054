"""The clip check of core.stc.*: its type and format, before any argument."""

from __future__ import annotations

import vapoursynth as vs


def check_clip(func_name: str, clip: object) -> vs.VideoNode:
    if not isinstance(clip, vs.VideoNode):
        raise vs.Error(f"{func_name}: 'clip' must be a video clip, not {type(clip).__name__}")
    if clip.format is None or clip.format.id == vs.NONE:
        raise vs.Error(f"{func_name}: 'clip' has a variable format; convert it to one format first "
                       "(e.g. resize.Bicubic(format=vs.RGB24))")
    if clip.width == 0 or clip.height == 0:
        raise vs.Error(f"{func_name}: 'clip' has a variable frame size; resize it to one size first")
    family = clip.format.color_family
    if family not in (vs.RGB, vs.YUV, vs.GRAY):  # gray as the pipe and batch renders take it: restored as RGB
        raise vs.Error(f"{func_name}: 'clip' is {clip.format.name}; use an RGB (RGB24, RGB48, RGBS, RGBH), YUV or "
                       "GRAY clip")
    if clip.format.sample_type == vs.INTEGER and clip.format.bits_per_sample > 16:
        raise vs.Error(f"{func_name}: 'clip' is {clip.format.name}; integer samples must be 8 to 16 bits")
    return clip


def is_half_float(clip: vs.VideoNode) -> bool:
    return clip.format.sample_type == vs.FLOAT and clip.format.bits_per_sample == 16
