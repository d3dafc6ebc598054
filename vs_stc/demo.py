"""``stc demo``: runs the full-size network end to end on a synthetic clip, with no download.

Until trained weights ship in ``weights/``, the demo uses deterministic stand-in weights: the
output shows that the pipeline runs at the released model's size, not what restoration looks like.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from .images import side_by_side, write_png
from .models import BFVR
from .models.deterministic import deterministic_network

DEMO_FRAMES = 4


def synthetic_clip(frames: int = DEMO_FRAMES, size: int = 512) -> torch.Tensor:
    """A drawn face (skin ellipse, eyes, mouth) drifting over a gradient, blurred and noisy,
    as a (1, 3, frames, size, size) tensor in [0, 1]. Deterministic."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    generator = torch.Generator().manual_seed(0)
    clip = []
    for t in range(frames):
        dx, dy = 0.04 * math.sin(t / 3), 0.03 * math.cos(t / 4)
        image = torch.stack([0.25 + 0.2 * y, 0.3 + 0.1 * x, 0.45 - 0.1 * y])
        face = ((x - dx) / 0.55) ** 2 + ((y - dy) / 0.72) ** 2 < 1
        image[:, face] = torch.tensor([0.86, 0.67, 0.55])[:, None]
        for eye_x in (-0.22, 0.22):
            eye = ((x - dx - eye_x) / 0.09) ** 2 + ((y - dy + 0.18) / 0.05) ** 2 < 1
            image[:, eye] = 0.1
        mouth = ((x - dx) / 0.22) ** 2 + ((y - dy - 0.35) / 0.04) ** 2 < 1
        image[:, mouth] = torch.tensor([0.6, 0.2, 0.2])[:, None]
        clip.append(image)
    video = torch.stack(clip, dim=1).unsqueeze(0)  # (1, 3, T, H, W)
    blurred = torch.nn.functional.avg_pool3d(video, (1, 9, 9), stride=1, padding=(0, 4, 4))
    noisy = blurred + 0.04 * torch.randn(blurred.shape, generator=generator)
    return noisy.clamp(0, 1)


def to_uint8_frames(clip: torch.Tensor) -> np.ndarray:
    """(1, 3, T, H, W) in [0, 1] -> (T, H, W, 3) uint8."""
    return clip[0].permute(1, 2, 3, 0).mul(255).round().clamp(0, 255).to(torch.uint8).numpy()


def run_demo(output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    print("vs-stc demo: the released bfvr network (71 M parameters as released, 51 M used at inference)")
    print("NOTE: weights are deterministic stand-ins, not trained ones; the output proves the pipeline")
    print("      runs at full size, it is not a restoration. Trained weights: `stc weights download`.")
    network = deterministic_network(BFVR)
    clip = synthetic_clip()
    start = time.perf_counter()
    restored = network(clip)
    seconds = time.perf_counter() - start
    before, after = to_uint8_frames(clip), to_uint8_frames(restored)
    paths = []
    for t in range(before.shape[0]):
        path = output / f"frame{t:02d}_input_vs_output.png"
        write_png(side_by_side(before[t], after[t]), path)
        paths.append(path)
    print(f"restored {before.shape[0]} frames of 512 x 512 in {seconds:.1f} s on the CPU")
    print(f"side-by-side stills (input | output): {', '.join(str(p) for p in paths)}")
    return paths
