"""The resize rule for frames that are not the model's size (aligned-face mode).

Square frames of any size are scaled to the model's resolution and back: bicubic, with
antialiasing whenever a step shrinks the image (so downscaling does not alias), and plain bicubic
when it enlarges. Non-square frames are refused: the model sees aligned square face crops only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import InputError


def check_size(height: int, width: int, resolution: int, resize: bool) -> None:
    if (height, width) == (resolution, resolution):
        return
    if height != width:
        raise InputError(
            f"frames are {width}x{height}, but the model works on square aligned face crops "
            f"({resolution}x{resolution}): crop or pad the video to a square face crop first"
        )
    if not resize:
        raise InputError(
            f"frames are {width}x{height}, the model runs at {resolution}x{resolution}: "
            "resize the clip first or enable resizing (resize=True)"
        )


def resize_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(..., H, W) with H == W -> (..., size, size), by the rule above, clamped to [0, 1]."""
    if frames.shape[-1] == size:
        return frames
    lead = frames.shape[:-2]
    flat = frames.reshape(-1, 1, *frames.shape[-2:])
    shrinking = size < frames.shape[-1]
    resized = F.interpolate(flat.float(), size=(size, size), mode="bicubic", align_corners=False, antialias=shrinking)
    return resized.clamp_(0, 1).to(frames.dtype).reshape(*lead, size, size)
