"""``stc demo``: the bundled models on a face they never saw, offline.

Grace Hopper's portrait (held out of training) is animated into a short clip, degraded with fixed
seeds (``stc degrade``'s bfvr and brightness-flicker kinds), and run through the streaming engine
with ``tiny-bfvr`` and ``tiny-deflicker`` at their own defaults (window 4, overlap 2, and their
preferred blend), and once with tiny-deflicker's own re-rendered frames. Prints the quality figures
against the clean clip and writes side-by-side stills (degraded | output | clean).

Then the same face moving over a background in whole 320 x 240 frames, degraded, goes through
face mode (``faces="auto"``): found, followed, aligned, restored with ``tiny-bfvr`` and pasted
back, with the background left exactly as it came in.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from . import metrics
from .evaluation.degrade import degrade
from .evaluation.report import model_processor
from .images import side_by_side, write_png
from .loading import load_model
from .options import resolve
from .training.portraits import held_out_clip

FULL_FRAME = (240, 320)  # height, width of the face-mode demo

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
        options = resolve(task, model=model, faces="aligned", **extra)
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
    paths += _faces_demo(output, clean, networks["tiny-bfvr"])
    print(f"stills (degraded | output | clean) in {output}")
    print("figures on 8 held-out clips, and what these small models can and cannot do: weights/README.md")
    return paths


def full_frame_clip(faces: np.ndarray, seed: int = 7) -> np.ndarray:
    """Face crops (T, S, S, 3) placed on a smooth moving background with a soft oval matte, drifting
    across whole frames: a stand-in for footage where a face moves over a scene."""
    height, width = FULL_FRAME
    rng = np.random.default_rng(seed)
    field = cv2.resize(rng.uniform(60, 200, (6, 8, 3)).astype(np.float32), (width + 64, height),
                       interpolation=cv2.INTER_CUBIC)
    side = faces.shape[1]
    ys, xs = np.mgrid[:side, :side] / (side - 1) - 0.5
    matte = np.clip((0.5 - np.hypot(xs / 0.85, ys)) / 0.08, 0, 1)[..., None]
    frames = []
    for t, face in enumerate(faces):
        frame = field[:, t:t + width].copy()
        x, y = 40 + 3 * t, 50 + int(10 * np.sin(t / 6))
        region = frame[y:y + side, x:x + side]
        frame[y:y + side, x:x + side] = region * (1 - matte) + face * matte
        frames.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return np.stack(frames)


def _faces_demo(output: Path, clean_faces: np.ndarray, network) -> list[Path]:
    from .engine import SampleFormat
    from .faces import load_detector
    from .faces.stream import FaceStreamRestorer

    clean = full_frame_clip(clean_faces)
    degraded = degrade(clean, "bfvr", seed=0)
    options = resolve("restore", model="tiny-bfvr", faces="auto")
    detector, reason = load_detector(options.detector)
    restorer = FaceStreamRestorer(network, options.engine_options(), detector, reason, options.min_face)
    start = time.perf_counter()
    results = list(restorer(([frame[..., c] for c in range(3)] for frame in degraded), SampleFormat.of(np.uint8)))
    seconds = time.perf_counter() - start
    restored = np.stack([r.rgb for r in results])
    changed = np.stack([r.changed if r.changed is not None else np.zeros(FULL_FRAME, bool) for r in results])
    face = changed[..., None].repeat(3, axis=-1)
    print(f"faces auto ({FULL_FRAME[1]} x {FULL_FRAME[0]} whole frames, tiny-bfvr, {seconds:.1f} s; {reason}):")
    print(f"  {restorer.counts.describe()}")
    print(f"  face region, bfvr input: PSNR {_region_psnr(degraded[face], clean[face]):5.2f} dB; "
          f"output: PSNR {_region_psnr(restored[face], clean[face]):5.2f} dB")
    print(f"  outside the faces the output is the input, bit for bit: "
          f"{bool(np.array_equal(restored[~face], degraded[~face]))}")
    paths = []
    for t in STILL_FRAMES:
        path = output / f"faces-auto-frame{t:02d}.png"
        write_png(side_by_side(degraded[t], restored[t], clean[t]), path)
        paths.append(path)
    return paths


def _region_psnr(values: np.ndarray, reference: np.ndarray) -> float:
    """PSNR over the samples given (the pixels of a region, flattened)."""
    mse = np.mean((values.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse)) if mse else metrics.PSNR_CAP
