"""Clip metrics that need no pretrained network.

Clips are (T, H, W, 3) uint8 RGB numpy arrays unless said otherwise.

- ``psnr``: 10 log10(255^2 / MSE) of the whole clip's mean squared error (100 dB when identical).
  Not a mean of per-frame figures: untouched frames (infinite PSNR, capped) would lift it.
- ``ssim``: the paper's SSIM, skimage's ``structural_similarity(a, b, data_range=255,
  channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` re-implemented
  (Gaussian window, sigma 1.5, truncated at 3.5 sigma, borders cropped), averaged over frames.
- ``warp_error``: temporal consistency. Optical flow (OpenCV DIS) from each frame to the previous
  one, on the reference when given, else on the clip; the previous output frame is warped onto
  the current one and compared (mean absolute difference in [0, 1]) where forward and backward flow
  agree (occluded and out-of-frame pixels are left out).
- ``flicker_index``: the standard deviation of the frame-to-frame change of mean luma (BT.601, 0-255).
- ``seam_score``: mean frame difference at window boundaries over the mean elsewhere.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from .engine.planning import Plan

PSNR_CAP = 100.0
LUMA = np.array([0.299, 0.587, 0.114])


def psnr_per_frame(clip: np.ndarray, reference: np.ndarray) -> np.ndarray:
    mse = ((clip.astype(np.float64) - reference.astype(np.float64)) ** 2).reshape(len(clip), -1).mean(1)
    with np.errstate(divide="ignore"):
        values = 10 * np.log10(255.0**2 / mse)
    return np.minimum(values, PSNR_CAP)


def psnr(clip: np.ndarray, reference: np.ndarray) -> float:
    mse = float(np.mean((clip.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return float(min(10 * np.log10(255.0**2 / mse), PSNR_CAP)) if mse else PSNR_CAP


def ssim_frame(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """SSIM of two (H, W, C) images, the paper's settings (see the module docstring)."""
    sigma, truncate = 1.5, 3.5
    pad = int(truncate * sigma + 0.5)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for channel in range(a.shape[-1]):
        x = a[..., channel].astype(np.float64)
        y = b[..., channel].astype(np.float64)

        def blur(image: np.ndarray) -> np.ndarray:
            return gaussian_filter(image, sigma=sigma, truncate=truncate, mode="reflect")

        ux, uy = blur(x), blur(y)
        vx, vy, vxy = blur(x * x) - ux * ux, blur(y * y) - uy * uy, blur(x * y) - ux * uy
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
        values.append(s[pad:-pad, pad:-pad].mean())
    return float(np.mean(values))


def ssim_per_frame(clip: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.array([ssim_frame(a, b) for a, b in zip(clip, reference)])


def ssim(clip: np.ndarray, reference: np.ndarray) -> float:
    return float(ssim_per_frame(clip, reference).mean())


def luma_means(clip: np.ndarray) -> np.ndarray:
    return (clip.astype(np.float64) @ LUMA).reshape(len(clip), -1).mean(1)


def flicker_index(clip: np.ndarray) -> float:
    if len(clip) < 3:
        raise ValueError("the flicker index needs at least three frames")
    return float(np.diff(luma_means(clip)).std())


def _flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Dense flow that maps pixels of ``source`` to ``target`` (both RGB uint8)."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in (source, target)]
    return dis.calc(grey[0], grey[1], None)


def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    import cv2

    h, w = flow.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).astype(np.float32)
    coords = grid + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_error_per_frame(clip: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Per frame t >= 1 (frame 0 gets NaN): the masked difference between frame t and frame t - 1
    warped onto it."""
    guide = clip if reference is None else reference
    errors = [np.nan]
    h, w = clip.shape[1:3]
    for t in range(1, len(clip)):
        backward = _flow(guide[t], guide[t - 1])  # where each pixel of t was in t - 1
        forward = _flow(guide[t - 1], guide[t])
        round_trip = backward + _warp(forward, backward)
        grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1) + backward
        inside = (grid[..., 0] >= 0) & (grid[..., 0] <= w - 1) & (grid[..., 1] >= 0) & (grid[..., 1] <= h - 1)
        consistent = (round_trip**2).sum(-1) < 0.01 * ((backward**2).sum(-1) + (forward**2).sum(-1)) + 0.5
        mask = inside & consistent
        warped = _warp(clip[t - 1].astype(np.float32), backward)
        diff = np.abs(clip[t].astype(np.float32) - warped).mean(-1) / 255.0
        errors.append(float(diff[mask].mean()) if mask.any() else np.nan)
    return np.array(errors)


def warp_error(clip: np.ndarray, reference: np.ndarray | None = None) -> float:
    return float(np.nanmean(warp_error_per_frame(clip, reference)[1:]))


def frame_differences(clip: torch.Tensor) -> torch.Tensor:
    """(T, C, H, W) -> (T,) mean absolute difference of each frame from the previous (0 for the first)."""
    diffs = (clip[1:].float() - clip[:-1].float()).abs().flatten(1).mean(1)
    return torch.cat([diffs.new_zeros(1), diffs])


def window_boundaries(plan: Plan) -> list[int]:
    """Frames t where the set of windows making frame t differs from that of frame t - 1."""
    def windows(t: int) -> set[int]:
        return {c.window for c in plan.contributions(t)}

    return [t for t in range(1, plan.length) if windows(t) != windows(t - 1)]


def seam_score(clip: torch.Tensor, boundaries: Iterable[int]) -> float:
    """Mean frame difference at the given boundaries divided by the mean elsewhere: about 1 when
    window changes are invisible, above 1 when they show as jumps. ``clip``: (T, C, H, W)."""
    diffs = frame_differences(clip)
    at = torch.zeros(len(diffs), dtype=torch.bool)
    at[list(boundaries)] = True
    at[0] = False
    inside = ~at
    inside[0] = False
    if not at.any() or not inside.any():
        raise ValueError("a seam score needs frames both at and away from window boundaries")
    return float(diffs[at].mean() / diffs[inside].mean())
