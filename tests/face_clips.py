"""Full-frame fixture clips for face mode, made at test time (seeded, no binaries in the repo).

Faces come from public-domain portraits inside installed wheels: matplotlib's grace_hopper.jpg,
scikit-image's astronaut() (NASA) and camera() (CC0). Each portrait is cut out with a soft
elliptical matte around the head and moved over synthetic backgrounds by a known similarity
transform per frame, so every frame's true landmarks are known: the portrait's landmarks
(measured once, below) carried through that frame's transform.

``face_clip()``: 480 x 270, 36 frames, three shots (cuts at 24 and 34):
- frames 0-23: the astronaut drifts right while zooming 0.95 -> 1.25 and rotating up to 30
  degrees and back; Grace Hopper enters through the right edge at frame 4, stays, and leaves
  through the right edge again by frame 21;
- frames 24-33: the cameraman (grey), near where the astronaut was before the cut;
- frames 34-35: background only, no face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

WIDTH, HEIGHT, LENGTH = 480, 270, 36
CUTS = (24, 34)

# Five landmarks (image order: left eye, right eye, nose, left and right mouth corner) and face
# box of each portrait, measured once with RetinaFace-MobileNet0.25 and rounded: fixtures, not truth
# of any detector under test (a detector is judged against where these land in each frame).
PORTRAITS = {
    "hopper": (np.array([[219.0, 187.6], [303.4, 186.8], [259.6, 247.2], [231.9, 273.1], [299.2, 272.7]]),
               np.array([177.7, 106.5, 353.9, 327.7])),
    "astronaut": (np.array([[204.8, 100.8], [247.4, 103.4], [223.6, 129.2], [202.5, 138.1], [244.2, 140.6]]),
                  np.array([177.9, 56.8, 273.1, 177.2])),
    "camera": (np.array([[235.8, 149.3], [248.5, 148.1], [250.3, 168.8], [228.8, 177.3], [237.8, 176.8]]),
               np.array([195.0, 113.9, 256.3, 195.3])),
}


@cache
def portrait(name: str) -> np.ndarray:
    """The portrait as RGB uint8 (H, W, 3)."""
    if name == "hopper":
        import matplotlib.cbook
        from PIL import Image

        with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as image:
            return np.asarray(image.convert("RGB"))
    from skimage import data

    if name == "astronaut":
        return data.astronaut()
    if name == "camera":
        return np.repeat(data.camera()[..., None], 3, axis=2)
    raise KeyError(name)


@cache
def matte(name: str) -> np.ndarray:
    """A soft ellipse around the head (float32 (H, W) in [0, 1]): what is cut out of the portrait."""
    image = portrait(name)
    x0, y0, x1, y1 = PORTRAITS[name][1]
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * (y1 - y0), 0.8 * (x1 - x0), 0.75 * (y1 - y0)
    y, x = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return np.clip((1.0 - r) / 0.15, 0.0, 1.0).astype(np.float32)


def placement(name: str, centre: tuple[float, float], scale: float, degrees: float) -> np.ndarray:
    """The (2, 3) transform portrait -> frame that puts the face's landmark centroid at ``centre``,
    scaled and rotated (counter-clockwise on screen) about it."""
    landmarks = PORTRAITS[name][0]
    anchor = landmarks.mean(axis=0)
    matrix = cv2.getRotationMatrix2D((float(anchor[0]), float(anchor[1])), degrees, scale)
    matrix[:, 2] += np.asarray(centre) - anchor
    return matrix


def background(seed: int, shade: tuple[float, float, float]) -> np.ndarray:
    """Smooth colour gradients, soft blobs and fine grain: texture everywhere (so a seam or a
    changed pixel would show), nothing face-like."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH] / np.array([HEIGHT, WIDTH])[:, None, None]
    base = np.stack([s * (0.6 + 0.3 * x + 0.2 * y * (i - 1)) for i, s in enumerate(shade)], axis=-1)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH, 3)).astype(np.float32), (0, 0), 12) * 3.0
    grain = rng.normal(0, 0.02, (HEIGHT, WIDTH, 3))
    return np.clip(base + 0.25 * blobs + grain, 0, 1) * 255


@dataclass(frozen=True)
class TrueFace:
    name: str
    landmarks: np.ndarray  # (5, 2) where the portrait's landmarks land in the frame
    scale: float

    @property
    def inside(self) -> bool:
        """All five landmarks at least 2 pixels inside the frame."""
        p = self.landmarks
        return bool((p[:, 0] >= 2).all() and (p[:, 0] <= WIDTH - 3).all() and (p[:, 1] >= 2).all()
                    and (p[:, 1] <= HEIGHT - 3).all())

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def height(self) -> float:
        """Eyes' midpoint to mouth's midpoint: a face scale that holds for half profiles too."""
        return float(np.linalg.norm(self.landmarks[3:].mean(0) - self.landmarks[:2].mean(0)))


@dataclass(frozen=True)
class FaceClip:
    frames: np.ndarray  # (T, H, W, 3) uint8
    cuts: tuple[int, ...]
    truth: tuple[tuple[TrueFace, ...], ...]  # per frame
    backgrounds: np.ndarray  # (T, H, W, 3) uint8: each frame without its faces


def _script(n: int) -> list[tuple[str, tuple[float, float], float, float]]:
    """(portrait, centre, scale, degrees) of every face in frame ``n``."""
    faces = []
    if n < 24:
        t = n / 23
        degrees = 30 * np.sin(np.pi * min(n / 16, 1.0) * 0.5) if n <= 16 else 30 - 10 * (n - 16) / 7
        faces.append(("astronaut", (140 + 110 * t, 150 + 12 * np.sin(2 * np.pi * t)), 0.95 + 0.30 * t, degrees))
        if 4 <= n <= 21:
            # enters through the right edge (centre outside at first), leaves the same way
            u = (n - 4) / 17
            x = 540 - 170 * np.sin(np.pi * u)
            faces.append(("hopper", (x, 110 + 20 * u), 0.5, -8.0))
    elif n < 34:
        t = (n - 24) / 9
        faces.append(("camera", (235 + 20 * t, 150 - 5 * t), 1.6, 4.0))
    return faces


@cache
def face_clip() -> FaceClip:
    shots = [background(1, (0.55, 0.65, 0.8)), background(2, (0.8, 0.7, 0.5)), background(3, (0.5, 0.75, 0.55))]
    frames, backs, truth = [], [], []
    for n in range(LENGTH):
        shot = sum(n >= c for c in CUTS)
        drift = 0.03 * n  # the background moves a little, as a camera would
        back = np.roll(shots[shot], int(round(drift * 10)), axis=1)
        frame, faces = composed(back, _script(n))
        frames.append(frame)
        backs.append(np.clip(np.rint(back), 0, 255).astype(np.uint8))
        truth.append(faces)
    return FaceClip(np.stack(frames), CUTS, tuple(truth), np.stack(backs))


def composed(back: np.ndarray, script: list[tuple[str, tuple[float, float], float, float]]
             ) -> tuple[np.ndarray, tuple[TrueFace, ...]]:
    """``back`` with the faces of ``script`` ((portrait, centre, scale, degrees) each) matted in."""
    canvas = back.copy()
    faces = []
    for name, centre, scale, degrees in script:
        matrix = placement(name, centre, scale, degrees)
        image = portrait(name).astype(np.float32)
        sprite = cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC)
        alpha = cv2.warpAffine(matte(name), matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)[..., None]
        canvas = canvas * (1 - alpha) + sprite * alpha
        points = PORTRAITS[name][0] @ matrix[:, :2].T + matrix[:, 2]
        faces.append(TrueFace(name, points, scale))
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8), tuple(faces)


@cache
def two_shots(length: int = 24, cut: int = 12) -> np.ndarray:
    """(T, H, W, 3) uint8: the astronaut, then (a hard cut at ``cut``) Grace Hopper, each at the same
    place of the frame over a background of its own shot, both drifting slowly."""
    shots = [background(4, (0.6, 0.6, 0.7)), background(5, (0.7, 0.65, 0.55))]
    frames = []
    for n in range(length):
        shot = int(n >= cut)
        back = np.roll(shots[shot], n, axis=1)
        name, scale = ("astronaut", 1.4) if shot == 0 else ("hopper", 0.7)
        frames.append(composed(back, [(name, (240 + n, 140), scale, 3.0 * np.sin(n / 4))])[0])
    return np.stack(frames)


def moving_landmarks(length: int = 120, noise: float = 1.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic track for smoothing tests: (true, noisy) landmarks (T, 5, 2) of a face of eye
    distance 60 px swaying fast (60 px amplitude, 40-frame period: up to 9.4 px per frame,
    turning at 1.5 px/frame^2) while drifting, nodding and slowly rotating, plus Gaussian noise
    of ``noise`` px per coordinate."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    centre = np.stack([300 + 60 * np.sin(2 * np.pi * t / 40) + 1.5 * t, 200 + 25 * np.sin(2 * np.pi * t / 23 + 1)], 1)
    angle = np.deg2rad(15 * np.sin(2 * np.pi * t / 60))
    shape = (PORTRAITS["hopper"][0] - PORTRAITS["hopper"][0].mean(0)) * (60 / 84.4)
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    true = np.einsum("tij,pj->tpi", rotation, shape) + centre[:, None, :]
    return true, true + rng.normal(0, noise, true.shape)
