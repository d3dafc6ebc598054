"""``stc demo``: the bundled models on a face they never saw, offline.

Grace Hopper's portrait (held out of training) is animated into a short clip, degraded with fixed
seeds (``stc degrade``'s bfvr and brightness-flicker kinds), and run through the streaming engine
with ``tiny-bfvr`` and ``tiny-deflicker`` at their own defaults (window 4, overlap 2, and their
preferred blend), and once with tiny-deflicker's own re-rendered frames. Prints the quality figures
against the clean clip and writes side-by-side stills (degraded | output | clean).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import metrics
from .evaluation.degrade import degrade
from .evaluation.report import model_processor
from .images import side_by_side, write_png
from .loading import load_model
from .options import resolve
from .training.portraits import held_out_clip

DEMO_FRAMES = 48
STILL_FRAMES = (0, 20, 40)
RUNS = (  # title, still name, task, model, degradation, options beyond the model's defaults
    ("restore", "restore", "restore", "tiny-bfvr", "bfvr", {}),
    ("deflicker --no-keep-detail", "deflicker-own-frames", "deflicker", "tiny-deflicker", "brightness",
     {"keep_detail": False}),
    ("deflicker", "deflicker", "deflicker", "tiny-deflicker", "brightness", {}),
)


def _figures(clip: np.ndarray, clean: np.ndarray) -> str:
    return (f"PSNR {metrics.psnr(clip, clean):5.2f} dB, SSIM {metrics.ssim(clip, clean):.3f}, "
            f"flicker index {metrics.flicker_index(clip):6.3f}")


def run_demo(output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    clean = held_out_clip(seed=2024, frames=DEMO_FRAMES)
    print(f"vs-stc demo: {len(clean)} frames of a held-out face (Grace Hopper), 128 x 128, bundled models, CPU")
    print(f"  clean clip:              flicker index {metrics.flicker_index(clean):6.3f}")
    paths = []
    networks = {model: load_model(model) for *_, model, _, _ in RUNS}
    for title, still, task, model, kind, extra in RUNS:
        options = resolve(task, model=model, **extra)
        degraded = degrade(clean, kind, seed=0)
        start = time.perf_counter()
        restored = model_processor(networks[model], options)(degraded, options.window, options.overlap)
        seconds = time.perf_counter() - start
        print(f"{title} ({model}, {seconds:.1f} s):")
        print(f"  {kind + ' input:':24} {_figures(degraded, clean)}")
        print(f"  {'output:':24} {_figures(restored, clean)}")
        for t in STILL_FRAMES:
            path = output / f"{still}-frame{t:02d}.png"
            write_png(side_by_side(degraded[t], restored[t], clean[t]), path)
            paths.append(path)
    print(f"stills (degraded | output | clean) in {output}")
    print("figures on 8 held-out clips, and what these small models can and cannot do: weights/README.md")
    return paths
