"""Still portraits made into video clips on smooth random camera paths (drifting zoom, pan and
tilt, slow brightness change), and the held-out face: Grace Hopper's portrait (matplotlib's
sample data, US Navy photograph, public domain), never used for training, whose clips
(``held_out_clip``) the evaluation, the demo, the tests and the benchmarks measure on.

Shared by training (which animates its own portraits with ``animate``, ``training.portraits``)
and evaluation, so that neither imports the other for them.
"""

from __future__ import annotations

import cv2
import numpy as np

HOPPER_BOX = (140, 110, 260)  # x, y, side of the square face crop in Grace Hopper's portrait


def hopper() -> np.ndarray:
    """Grace Hopper's portrait (matplotlib's sample data), RGB uint8: the held-out face."""
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def crop(image: np.ndarray, box: tuple[int, int, int]) -> np.ndarray:
    """The square ``box`` (x, y, side) of ``image``."""
    x, y, side = box
    return np.ascontiguousarray(image[y:y + side, x:x + side])


def animate(image: np.ndarray, frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A clip of ``frames`` square frames following a smooth random camera path over ``image``."""
    h, w = image.shape[:2]
    side = min(h, w)
    steps = np.linspace(0, 1, frames)
    start, end = rng.uniform(-1, 1, (2, 5))
    path = start + (end - start) * (3 * steps**2 - 2 * steps**3)[:, None]  # smooth start and stop
    clip = []
    for dx, dy, zoom, angle, gain in path:
        scale = size / side * (1.0 + 0.08 * (zoom + 1))
        matrix = cv2.getRotationMatrix2D((w / 2 + 0.05 * side * dx, h / 2 + 0.05 * side * dy), 4 * angle, scale)
        matrix[:, 2] += (size / 2 - w / 2, size / 2 - h / 2)
        frame = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        clip.append(np.clip(frame * (1 + 0.05 * gain), 0, 255).astype(np.uint8))
    return np.stack(clip)


def held_out_clip(seed: int = 0, frames: int = 48, size: int = 128) -> np.ndarray:
    """A clip of the held-out face (never in training) on the camera path drawn from ``seed``."""
    return animate(crop(hopper(), HOPPER_BOX), frames, size, np.random.default_rng(seed))
