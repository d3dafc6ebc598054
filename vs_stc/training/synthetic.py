"""Dead-leaves scenes: synthetic images with natural-image statistics, ours by construction.

Occluding discs whose radii follow a power law (density ~ r^-3) give the scale-invariant edge and
colour statistics of natural images; restoration networks trained on such scenes learn generic
local structure (Achddou et al., "Synthetic images as a regularity prior for image restoration
neural networks", 2021). Here they widen what two training faces can teach a codebook: edges at
every scale, in every colour, at every contrast.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_RADIUS, MAX_RADIUS = 4.0, 200.0


def dead_leaves(rng: np.random.Generator, side: int = 512, leaves: int = 6000) -> np.ndarray:
    """An RGB uint8 (side, side, 3) scene of ``leaves`` ellipses, each occluding those before it."""
    image = np.empty((side, side, 3), np.uint8)
    image[:] = _colour(rng)
    # Inverse-CDF sampling of p(r) ~ r^-3 on [MIN_RADIUS, MAX_RADIUS].
    u = rng.uniform(size=leaves)
    radii = (MIN_RADIUS**-2 - u * (MIN_RADIUS**-2 - MAX_RADIUS**-2)) ** -0.5
    for radius in radii:
        centre = tuple(int(v) for v in rng.uniform(0, side, 2))
        axes = (max(1, int(radius)), max(1, int(radius * rng.uniform(0.5, 1.0))))
        cv2.ellipse(image, centre, axes, rng.uniform(0, 180), 0, 360, _colour(rng), -1, cv2.LINE_AA)
    # Flat leaves lack the smooth shading that covers faces: light the scene unevenly.
    light = cv2.resize(rng.normal(0, 0.15, (4, 4)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image * (1 + light[..., None]), 0, 255).astype(np.uint8)
    sigma = rng.uniform(0, 1.5)  # some scenes slightly soft, as out-of-focus regions are
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0.3 else image


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """Mostly muted colours (like skin, hair, clothes and rooms), sometimes saturated ones."""
    grey = rng.uniform(20, 235)
    spread = rng.uniform(0, 25) if rng.uniform() < 0.85 else rng.uniform(25, 90)
    return tuple(int(np.clip(grey + spread * c, 0, 255)) for c in rng.normal(0, 1, 3))
