"""Training clips: folders of videos or of frame sequences, cut into random windows, augmented and
degraded on the fly. Sampling is a pure function of (seed, step, rank), so a resumed or
distributed run draws exactly the batches it would have drawn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from ..engine.resizing import resize_frames
from ..errors import InputError
from ..media.degrade import degrade
from ..media.files import VIDEO_EXTENSIONS
from ..media.video_io import read_video

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
DEGRADATION = {"bfvr": "bfvr", "deflicker": "brightness", "deflicker-pixel": "pixel"}


def square(frame: np.ndarray, size: int) -> np.ndarray:
    """Centre-crops to a square and resizes (area filter when shrinking)."""
    h, w = frame.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = frame[top:top + side, left:left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def read_frames_folder(folder: Path) -> np.ndarray:
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    frames = []
    for path in images:
        with av.open(str(path)) as container:
            frames.append(next(container.decode(video=0)).to_ndarray(format="rgb24"))
    return np.stack(frames)


def load_clips(sources: tuple[Path, ...], size: int, min_length: int) -> list[np.ndarray]:
    """Every video file and every folder of images under ``sources``, as (T, size, size, 3) uint8."""
    clips = []
    for source in sources:
        if not source.exists():
            raise InputError(f"training data {source} does not exist")
        videos = [source] if source.is_file() else sorted(
            p for p in source.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
        folders = [] if source.is_file() else sorted(
            {p.parent for p in source.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS})
        for frames in [read_video(v)[0] for v in videos] + [read_frames_folder(f) for f in folders]:
            if len(frames) >= min_length:
                clips.append(np.stack([square(f, size) for f in frames]))
    if not clips:
        raise InputError(f"no clip of at least {min_length} frames found in {', '.join(map(str, sources))}")
    return clips


@dataclass
class ClipSampler:
    clips: list[np.ndarray]
    clip_length: int
    task: str | None  # None: no degradation (stage I trains on clean clips only)
    seed: int
    network_resolution: int  # clips are degraded at their own size, then scaled to this one

    def batch(self, step: int, rank: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(clean, degraded), each (size, 3, T, H, W) float in [0, 1]."""
        rng = np.random.default_rng([self.seed, step, rank])
        clean, degraded = [], []
        for _ in range(size):
            clip = self.clips[rng.integers(len(self.clips))]
            start = rng.integers(len(clip) - self.clip_length + 1)
            window = clip[start:start + self.clip_length]
            if rng.uniform() < 0.5:
                window = window[:, :, ::-1]
            if rng.uniform() < 0.5:  # colours the few training faces lack (e.g. a blue uniform)
                window = window[..., rng.permutation(3)]
            window = np.ascontiguousarray(window)
            clean.append(window)
            degraded.append(window if self.task is None else
                            degrade(window, DEGRADATION[self.task], seed=int(rng.integers(2**31))))
        return (resize_frames(_tensor(clean), self.network_resolution),
                resize_frames(_tensor(degraded), self.network_resolution))


def _tensor(clips: list[np.ndarray]) -> torch.Tensor:
    """list of (T, H, W, 3) uint8 -> (B, 3, T, H, W) float in [0, 1]."""
    return torch.from_numpy(np.stack(clips)).permute(0, 4, 1, 2, 3).float().div_(255)
