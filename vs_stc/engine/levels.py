"""Keep detail's brightness split: the input decides a window's overall level, the model the
changes from frame to frame.

A small deflicker model renders each frame's brightness with a slowly drifting bias, while its
frame-to-frame changes are accurate (by how much, both: benchmarks/README.md, "Figures moved from
docstrings"). Brightness flicker leaves most frames untouched, so within a window the frames whose
model-to-input ratios of mean luma agree (the largest group within ``TOLERANCE`` of each other: a
mode rather than a median, which two flickered frames of a 4-frame window would move) are the
steady ones, and their ratio is that bias. Steady frames keep their input's brightness exactly (the
model's frame-to-frame noise would otherwise cost them PSNR); the others are divided by the bias,
which leaves their gain to the model and the window's level to the input."""

from __future__ import annotations

import torch

from .detail import LUMA

TOLERANCE = 0.02  # log-ratio: frames whose levels agree this well are taken as unflickered


def frame_levels(frames: torch.Tensor) -> torch.Tensor:
    """(3, T, H, W) -> (T,) mean BT.709 luma per frame."""
    return torch.einsum("cthw,c->t", frames.float(), frames.new_tensor(LUMA, dtype=torch.float32)) / (
        frames.shape[-1] * frames.shape[-2])


def steady_frames(ratios: torch.Tensor) -> torch.Tensor:
    """(T,) bool: the largest group of ``ratios`` within TOLERANCE of one of them (ties: the
    tightest), taken as the window's unflickered frames."""
    logs = ratios.log()
    distance = (logs[:, None] - logs[None, :]).abs()
    close = distance < TOLERANCE
    score = close.sum(1) - distance.sum(1) / (distance.sum() + 1)  # count first, tightness breaks ties
    return close[score.argmax()]


def anchor_levels(output: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """A window's model ``output`` (3, T, R, R) rescaled to the level of its ``inputs`` (3, T, R, R,
    any device; the frames the model saw): its steady frames to exactly their input's brightness,
    the others by the steady frames' typical ratio, so that their gain is the model's."""
    epsilon = 1e-4  # only against black frames: a larger one would bias dark windows
    logs = ((frame_levels(output) + epsilon) / (frame_levels(inputs).to(output.device) + epsilon)).log()
    steady = steady_frames(logs.exp())
    divisor = torch.where(steady, logs, logs[steady].mean()).exp()
    return output / divisor.view(1, -1, 1, 1)
