"""Keep-detail mode: the model decides each frame's brightness, the input keeps its detail.

A deflicker model re-renders every frame through its codebooks, so a small model (or any model on
frames larger than its resolution) also loses fine detail. Flicker lives in low spatial
frequencies, so the input frame multiplied by the ratio of the two frames' blurred luma takes the
model's brightness and nothing else. The blur is set at the model's own resolution (sigma of
1/16 of the frame), where its output is trustworthy."""

from __future__ import annotations

import torch
import torch.nn.functional as F

LUMA = (0.2126, 0.7152, 0.0722)  # BT.709, on the RGB the engine works in
GAIN_LIMITS = (0.2, 5.0)  # a gain beyond this is a black or clipped frame, not flicker
EPSILON = 1.0 / 255


def _blurred_luma(frame: torch.Tensor, resolution: int) -> torch.Tensor:
    """(3, H, W) -> (1, 1, resolution, resolution): luma at the model's scale, Gaussian-blurred."""
    luma = torch.einsum("chw,c->hw", frame, frame.new_tensor(LUMA))[None, None]
    small = F.interpolate(luma, size=(resolution, resolution), mode="area")
    sigma = resolution / 16
    radius = int(3 * sigma)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=frame.dtype) / sigma) ** 2)
    taps /= taps.sum()
    padded = F.pad(small, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, taps.view(1, 1, 1, -1))
    return F.conv2d(rows, taps.view(1, 1, -1, 1))


def keep_input_detail(restored: torch.Tensor, original: torch.Tensor, resolution: int) -> torch.Tensor:
    """``original`` (3, H, W) in [0, 1] with the local brightness of ``restored`` (same shape)."""
    gain = (_blurred_luma(restored, resolution) + EPSILON) / (_blurred_luma(original, resolution) + EPSILON)
    gain = F.interpolate(gain.clamp_(*GAIN_LIMITS), size=original.shape[-2:], mode="bilinear", align_corners=False)
    return (original * gain[0]).clamp_(0, 1)
