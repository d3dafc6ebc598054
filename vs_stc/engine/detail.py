"""Splitting an output frame's spatial frequencies between the model and the input.

- Keep detail (for brightness deflicker): the model decides each frame's brightness, the input
  keeps everything else. A deflicker model re-renders every frame through its codebooks, so a small
  model (or any model on frames larger than its resolution) also loses fine detail and may shift
  local shading. Brightness flicker scales whole frames, so the input frame multiplied by the ratio
  of the two frames' mean luma takes the model's brightness and nothing else (a single ratio per
  frame, not a local one: benchmarks/README.md, "Figures moved from docstrings"). Each window's
  output is first brought to its input's level (levels.py), so the model sets only the changes.
- Keep colours (for restoration): the input frame, plus what the model adds to the finest band it
  can draw (the frame at the model's resolution minus its Gaussian blur of sigma 1 there), bounded
  so that the model can at most double the input's own detail in that band and never draw detail of
  its own, and with no change of mean (so no colour shift and no added flicker). What the model
  decides is where and how much to sharpen the input's own structure (why not its whole frame:
  benchmarks/README.md, "Figures moved from docstrings"). The input's colours, shading and its
  detail finer than the model's resolution all stay (no mosaic at frames larger than the model)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

LUMA = (0.2126, 0.7152, 0.0722)  # BT.709, on the RGB the engine works in
GAIN_LIMITS = (0.2, 5.0)  # a gain beyond this is a black or clipped frame, not flicker
EPSILON = 1.0 / 255
DETAIL_SIGMA = 1.0  # pixels at the model's resolution: the finest band it draws
DETAIL_GAIN = 1.0  # the model may at most double the input's own detail in that band


def blur(planes: torch.Tensor, sigma: float) -> torch.Tensor:
    """(C, H, W) -> (C, H, W) Gaussian blur, edges replicated."""
    radius = max(1, int(3 * sigma))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=planes.dtype) / sigma) ** 2)
    taps /= taps.sum()
    padded = F.pad(planes[:, None], (radius, radius, radius, radius), mode="replicate")
    return F.conv2d(F.conv2d(padded, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))[:, 0]


def _luma(frame: torch.Tensor) -> torch.Tensor:
    return torch.einsum("chw,c->hw", frame, frame.new_tensor(LUMA))


def keep_input_detail(restored: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """``original`` (3, H, W) in [0, 1] at the mean brightness of ``restored`` (same shape)."""
    gain = (_luma(restored).mean() + EPSILON) / (_luma(original).mean() + EPSILON)
    return (original * gain.clamp(*GAIN_LIMITS)).clamp_(0, 1)


def keep_input_colours(restored: torch.Tensor, original: torch.Tensor, resolution: int) -> torch.Tensor:
    """``original`` (3, H, W) in [0, 1] with the detail ``restored`` (same shape) adds in the
    finest band of a ``resolution``-pixel model, bounded by the input's own detail there."""
    size = (resolution, resolution)
    model = F.interpolate(restored[None], size=size, mode="area")[0]
    source = F.interpolate(original[None], size=size, mode="area")[0]
    own = source - blur(source, DETAIL_SIGMA)
    bound = DETAIL_GAIN * own
    added = (model - blur(model, DETAIL_SIGMA) - own).clamp(min=bound.clamp(max=0), max=bound.clamp(min=0))
    added -= added.mean(dim=(1, 2), keepdim=True)
    detail = F.interpolate(added[None], size=original.shape[-2:], mode="bicubic", align_corners=False)[0]
    return clamped_keeping_mean(original + detail, original.mean(dim=(1, 2), keepdim=True))


def clamped_keeping_mean(frame: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``frame`` (C, H, W) clamped to [0, 1] with each plane's mean kept at ``mean`` (C, 1, 1), itself
    in [0, 1]. Clamping alone cuts detail added to highlights (and shadows) and so shifts the mean:
    faces came out up to half a level darker. What it cut is spread over the pixels that have room
    for it, in proportion to their room, which keeps every pixel in [0, 1]."""
    clamped = frame.clamp(0, 1)
    lost = mean - clamped.mean(dim=(1, 2), keepdim=True)
    room_up, room_down = 1 - clamped, clamped
    up = room_up / room_up.mean(dim=(1, 2), keepdim=True).clamp(min=EPSILON)
    down = room_down / room_down.mean(dim=(1, 2), keepdim=True).clamp(min=EPSILON)
    return (clamped + lost.clamp(min=0) * up + lost.clamp(max=0) * down).clamp_(0, 1)
