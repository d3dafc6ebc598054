"""Synthetic degradations for evaluation and training, seeded and reproducible.

All take and return (T, H, W, 3) uint8 RGB clips.

- ``bfvr`` (blind face video restoration, as the authors' training code behaves): one u ~ U(0, 1)
  per clip drives everything: Gaussian blur (11 x 11, sigma 2 + 3u), bilinear downscale by
  2 + 2u, Gaussian noise of sigma 5u (0-255 scale, the same noise field in every frame), bilinear
  back to full size, then an MPEG-4 Part 2 encode/decode round trip. Every frame gets the identical
  degradation. The authors do not publish their codec settings; we use a fixed quantiser of
  2 + 10u. ``vary=True`` lets u drift smoothly over time instead (our option); ``strength``
  fixes u instead of drawing it (for measuring at chosen strengths).
- ``brightness``: each frame, with probability 0.3, multiplied by a ~ U(0.5, 1.5), rounded and
  saturated (the authors' setting); ``strength`` s draws a ~ U(1 - s, 1 + s) instead.
- ``pixel`` (our design; the authors' generator is unpublished): each frame independently gets
  small-scale changes: a smooth random texture (sigma 2 px, amplitude up to 10 levels) and a
  per-pixel gain jitter of up to 3%, like the frame-to-frame instability of generated video.
"""

from __future__ import annotations

import io

import av
import cv2
import numpy as np

KINDS = ("bfvr", "brightness", "pixel")
FLICKER_PROBABILITY = 0.3


def degrade(clip: np.ndarray, kind: str, seed: int = 0, vary: bool = False,
            strength: float | None = None) -> np.ndarray:
    if strength is not None and not 0 <= strength <= 1:
        raise ValueError(f"strength must be between 0 and 1, not {strength}")
    rng = np.random.default_rng(seed)
    if kind == "bfvr":
        return bfvr(clip, rng, vary, strength)
    if kind == "brightness":
        return brightness_flicker(clip, rng, 0.5 if strength is None else strength)
    if kind == "pixel":
        return pixel_flicker(clip, rng)
    raise ValueError(f"unknown degradation {kind!r}: use one of {', '.join(KINDS)}")


def _blur_down_noise_up(frame: np.ndarray, u: float, noise: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    blurred = cv2.GaussianBlur(frame.astype(np.float32), (11, 11), 2 + 3 * u)
    small = cv2.resize(blurred, noise.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small + noise, (w, h), interpolation=cv2.INTER_LINEAR)


def bfvr(clip: np.ndarray, rng: np.random.Generator, vary: bool = False, strength: float | None = None) -> np.ndarray:
    t, h, w = clip.shape[:3]
    u0 = rng.uniform()
    if strength is not None:
        u0 = strength
    us = np.clip(u0 + (np.cumsum(rng.normal(0, 0.02, t)) if vary else np.zeros(t)), 0, 1)
    factor = 2 + 2 * u0
    small = (max(1, round(h / factor)), max(1, round(w / factor)))
    noise_field = rng.normal(0, 1, (*small, 3)).astype(np.float32)  # the same field in every frame
    frames = [_blur_down_noise_up(frame, u, 5 * u * noise_field) for frame, u in zip(clip, us)]
    degraded = np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)
    return mpeg4_round_trip(degraded, quantiser=2 + round(10 * u0))


def mpeg4_round_trip(clip: np.ndarray, quantiser: int) -> np.ndarray:
    """Encodes with FFmpeg's MPEG-4 Part 2 encoder at a fixed quantiser and decodes back."""
    buffer = io.BytesIO()
    h, w = clip.shape[1:3]
    with av.open(buffer, "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.options = {"flags": "+qscale", "global_quality": str(quantiser * 118)}
        for image in clip:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer, format="avi") as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    if len(decoded) != len(clip):
        raise RuntimeError(f"the MPEG-4 round trip returned {len(decoded)} of {len(clip)} frames")
    return decoded


def brightness_flicker(clip: np.ndarray, rng: np.random.Generator, spread: float = 0.5) -> np.ndarray:
    gains = np.where(rng.uniform(size=len(clip)) < FLICKER_PROBABILITY,
                     rng.uniform(1 - spread, 1 + spread, len(clip)), 1.0)
    return np.clip(np.rint(clip.astype(np.float64) * gains[:, None, None, None]), 0, 255).astype(np.uint8)


def pixel_flicker(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = []
    for frame in clip:
        texture = cv2.GaussianBlur(rng.normal(0, 1, frame.shape).astype(np.float32), (0, 0), 2)
        texture *= rng.uniform(0, 10) / max(float(np.abs(texture).max()), 1e-6)
        gain = 1 + rng.uniform(-0.03, 0.03, frame.shape[:2])[..., None]
        out.append(np.clip(np.rint(frame * gain + texture), 0, 255).astype(np.uint8))
    return np.stack(out)
