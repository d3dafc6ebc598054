"""Footage of the kinds that fool scene-cut detectors, built at test time from the public-domain and
CC0 pictures in scikit-image (seeded, no binaries in the repo): each case is frames (T, 270, 480, 3)
uint8 and the frames that truly start a shot."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from skimage import data

HEIGHT, WIDTH, LENGTH = 270, 480, 40


@dataclass(frozen=True)
class CutCase:
    name: str
    frames: np.ndarray
    cuts: tuple[int, ...]


@cache
def picture(name: str) -> np.ndarray:
    """A scikit-image picture as RGB, scaled to cover 540 x 960."""
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    scale = max(540 / image.shape[0], 960 / image.shape[1])
    return cv2.resize(image[..., :3], (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)


def view(name: str, x: float, y: float = 100, zoom: float = 1.0) -> np.ndarray:
    """The 480 x 270 view of a picture at (x, y), ``zoom`` times closer."""
    image = picture(name)
    w, h = WIDTH / zoom, HEIGHT / zoom
    x, y = min(max(x, 0), image.shape[1] - w), min(max(y, 0), image.shape[0] - h)
    matrix = np.array([[zoom, 0, -x * zoom], [0, zoom, -y * zoom]], np.float32)
    return cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def pan(name: str, frames: int, speed: float, start: float = 20) -> list[np.ndarray]:
    return [view(name, start + speed * t) for t in range(frames)]


def with_face(background: np.ndarray, face: str) -> np.ndarray:
    """A portrait's head over ``background``, at the same place whatever the portrait."""
    portrait = {"astronaut": data.astronaut()[30:230, 150:310], "camera": data.camera()[60:260, 160:320]}[face]
    if portrait.ndim == 2:
        portrait = np.repeat(portrait[..., None], 3, axis=2)
    out = background.copy()
    out[40:240, 160:320] = portrait
    return out


def cases() -> list[CutCase]:
    rng = np.random.default_rng(5)
    made = [
        CutCase("hard cut", np.stack(pan("astronaut", 20, 1) + pan("coffee", 20, 1)), (20,)),
        CutCase("flash", np.stack([np.clip(f.astype(np.int32) * (2.5 if t == 15 else 1), 0, 255).astype(np.uint8)
                                   for t, f in enumerate(pan("rocket", LENGTH, 1))]), ()),
        CutCase("fast pan", np.stack(pan("coffee", LENGTH, 12, start=0)), ()),
        CutCase("pan that starts", np.stack(pan("rocket", 12, 0) + pan("rocket", 28, 14, start=20)), ()),
        CutCase("dissolve", np.stack([cv2.addWeighted(view("astronaut", 60), 1 - a, view("chelsea", 60), a, 0)
                                      for a in np.clip((np.arange(LENGTH) - 14) / 12, 0, 1)]), ()),
        CutCase("fade to black, then a cut", np.stack(
            [(view("coffee", 40) * max(0.0, 1 - t / 10)).astype(np.uint8) for t in range(14)]
            + pan("chelsea", LENGTH - 14, 1)), (14,)),
        CutCase("same scene, closer", np.stack(pan("astronaut", 20, 1) + [view("astronaut", 80 + t, 150, 1.4)
                                                                       for t in range(20)]), (20,)),
        CutCase("two faces, same place", np.stack([with_face(view("coffee", 30 + t), "astronaut") for t in range(20)]
                                                  + [with_face(view("coffee", 50 + t), "camera") for t in range(20)]),
                (20,)),
        CutCase("noisy", np.stack([np.clip(f + rng.normal(0, 20, f.shape), 0, 255).astype(np.uint8)
                                   for f in pan("chelsea", LENGTH, 2)]), ()),
    ]
    return made
