"""Zero-phase smoothing of landmark tracks: less jitter, no lag, no corner cutting.

Detected landmarks jitter by a pixel or two from frame to frame, which an aligned crop turns into a
shaking face and a paste mask that swims. The usual cure, a Gaussian over time
(``gaussian_filter1d(sigma=5)`` in KEEP and DicFace), is zero-phase but flattens real motion: it
averages a moving face with where it was and where it will be, so a head that turns or stops gets a
crop that overshoots or trails it (by how much: benchmarks/README.md, "Figures moved from
docstrings"), and at a track's ends, where the window is cut off, it drags the face towards its
past.

We fit, around every frame, a quadratic in time by Gaussian-weighted least squares (local
polynomial regression, as in LOESS or Savitzky-Golay) and take its value at that frame. The
whole track is known (we smooth a bounded block, not a live stream), so the fit looks both ways:
no lag. A quadratic follows constant velocity and constant acceleration exactly, so fast motion
and turning points stay on the path, and the fit needs no padding at a track's ends. Two more
things make it robust:

- frames bridged by tracking (no detection) get a tiny weight, so the motion around a gap fills
  it instead of a straight line between its ends;
- one robustness pass (Tukey's biweight on each frame's residual, as LOESS does, on a scale
  set by the face's own size rather than the whole track's residuals, so that a frame depends on
  nearby frames only) takes the weight off single frames whose landmarks jump (a wrong
  detection, a hand over the mouth).
"""

from __future__ import annotations

import numpy as np

SIGMA = 3.0
"""Gaussian width of the local fit, in frames. With the quadratic fit the window can be this wide
without bending fast motion; the measured figures are in tests/test_faces_smoothing.py."""
DEGREE = 2
BRIDGED_WEIGHT = 1e-3
ROBUST_SPREAD = 0.5  # landmark residuals beyond half the landmarks' spread get no weight


def smooth_path(values: np.ndarray, sigma: float = SIGMA, weights: np.ndarray | None = None,
                degree: int = DEGREE, robust_scale: np.ndarray | float | None = None) -> np.ndarray:
    """``values`` (T, ...) sampled at frames 0..T-1 -> the same shape, smoothed along time.

    ``weights`` (T,): how much each frame's sample counts (default 1). ``robust_scale`` (T,) or a
    number: frames whose residual (RMS over a frame's values) after a first fit reaches it get
    no weight in a second fit (Tukey's biweight); None: no second fit. The scale is given per
    frame, not estimated from the whole track, so every output frame depends only on frames
    within ``reach(sigma)`` of it, whatever the length of the block analysed."""
    values = np.asarray(values, dtype=np.float64)
    length = len(values)
    flat = values.reshape(length, -1)
    base = np.ones(length) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    if length < 2 or sigma <= 0:
        return values.copy()
    fitted = _local_fit(flat, base, sigma, degree)
    if robust_scale is not None:
        residual = np.sqrt(((flat - fitted) ** 2).mean(axis=1))
        u = np.clip(residual / np.maximum(robust_scale, 1e-9), 0.0, 1.0)
        fitted = _local_fit(flat, base * (1 - u**2) ** 2 + 1e-9, sigma, degree)
    return fitted.reshape(values.shape)


def reach(sigma: float = SIGMA) -> int:
    """How many frames on each side a smoothed frame depends on: the fit's window (3 sigma),
    twice with the robustness pass."""
    return 2 * max(1, int(np.ceil(3 * sigma)))


def _local_fit(values: np.ndarray, weights: np.ndarray, sigma: float, degree: int) -> np.ndarray:
    length = len(values)
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    index = np.arange(length)[:, None] + offsets[None, :]  # (T, K)
    inside = (index >= 0) & (index < length)
    clipped = np.clip(index, 0, length - 1)
    w = np.exp(-0.5 * (offsets / sigma) ** 2)[None, :] * weights[clipped] * inside  # (T, K)
    degree = min(degree, length - 1)
    t = offsets / sigma  # scaled time, for a well-conditioned fit
    basis = np.stack([t**p for p in range(degree + 1)], axis=-1)  # (K, P)
    gram = np.einsum("tk,kp,kq->tpq", w, basis, basis)  # (T, P, P)
    moments = np.einsum("tk,kp,tkd->tpd", w, basis, values[clipped])  # (T, P, D)
    gram += np.eye(degree + 1) * 1e-9 * np.maximum(gram[:, :1, :1], 1e-12)
    try:
        coefficients = np.linalg.solve(gram, moments)
    except np.linalg.LinAlgError:  # a window with (almost) no weight: least squares there
        coefficients = np.linalg.pinv(gram) @ moments
    return coefficients[:, 0, :]


def smooth_landmarks(landmarks: np.ndarray, observed: np.ndarray | None = None, sigma: float = SIGMA) -> np.ndarray:
    """A track's landmarks (T, 5, 2) smoothed; frames where ``observed`` is False were bridged.
    A frame whose landmarks sit further from the first fit than ``ROBUST_SPREAD`` times the
    face's landmark spread (RMS distance from their centroid, about a third of the face's width)
    is taken for a wrong detection and ignored."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    weights = None if observed is None else np.where(observed, 1.0, BRIDGED_WEIGHT)
    spread = np.sqrt(((landmarks - landmarks.mean(axis=1, keepdims=True)) ** 2).sum(-1).mean(-1))
    return smooth_path(landmarks, sigma, weights, robust_scale=ROBUST_SPREAD * spread)
