"""Splitting an output frame's spatial frequencies between the model and the input.

- Keep detail (for brightness deflicker): the model decides each frame's brightness, the input
  keeps everything else. A deflicker model re-renders every frame through its codebooks, so a
  small model (or any model on frames larger than its resolution) also loses fine detail and may
  shift local shading. Brightness flicker scales whole frames, so the input frame multiplied by
  the ratio of the two frames' mean luma takes the model's brightness and nothing else (a local,
  blurred ratio was tried first: it also copied the small model's shading errors).
- Keep colours (for restoration): the model supplies detail, the input its colours and shading.
  Blur and compression leave an input's low frequencies nearly intact, while a codebook model
  (a small one especially) can shift colours; adding the difference of the two frames' blurred
  versions puts the input's low frequencies back (the "colour fix" of diffusion upscalers).

The colour blur runs at the model's own resolution (Gaussian, sigma 1/16 of the frame), where its
output is trustworthy, and is scaled back to the frame size."""

from __future__ import annotations

import torch
import torch.nn.functional as F

LUMA = (0.2126, 0.7152, 0.0722)  # BT.709, on the RGB the engine works in
GAIN_LIMITS = (0.2, 5.0)  # a gain beyond this is a black or clipped frame, not flicker
EPSILON = 1.0 / 255


def _low_pass(planes: torch.Tensor, resolution: int) -> torch.Tensor:
    """(C, H, W) -> (C, H, W): Gaussian-blurred at the model's scale, scaled back to H x W."""
    small = F.interpolate(planes[:, None], size=(resolution, resolution), mode="area")
    sigma = resolution / 16
    radius = int(3 * sigma)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=planes.dtype) / sigma) ** 2)
    taps /= taps.sum()
    padded = F.pad(small, (radius, radius, radius, radius), mode="replicate")
    blurred = F.conv2d(F.conv2d(padded, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))
    return F.interpolate(blurred, size=planes.shape[-2:], mode="bilinear", align_corners=False)[:, 0]


def _luma(frame: torch.Tensor) -> torch.Tensor:
    return torch.einsum("chw,c->hw", frame, frame.new_tensor(LUMA))


def keep_input_detail(restored: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """``original`` (3, H, W) in [0, 1] at the mean brightness of ``restored`` (same shape)."""
    gain = (_luma(restored).mean() + EPSILON) / (_luma(original).mean() + EPSILON)
    return (original * gain.clamp(*GAIN_LIMITS)).clamp_(0, 1)


def keep_input_colours(restored: torch.Tensor, original: torch.Tensor, resolution: int) -> torch.Tensor:
    """``restored`` (3, H, W) in [0, 1] with the low frequencies of ``original`` (same shape)."""
    return (restored + _low_pass(original - restored, resolution)).clamp_(0, 1)  # the blur is linear: one pass
