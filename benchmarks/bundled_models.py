"""Held-out quality of the bundled models (the figures in weights/README.md's model cards).

Every clip of a face never used in training (Grace Hopper, animated by vs_stc.training.portraits
with seeds 0..N-1), degraded by `stc degrade` with the clip's index as seed, then run through the
streaming engine (window 24, overlap 8) exactly as the pipe filter and `stc restore` run it.

    ../.venv/bin/python bundled_models.py [--clips 8]
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np

from vs_stc import metrics
from vs_stc.evaluation.degrade import degrade
from vs_stc.evaluation.report import ffmpeg_deflicker, model_processor
from vs_stc.loading import load_model
from vs_stc.training.portraits import held_out_clip

FRAMES, SIZE, WINDOW, OVERLAP = 48, 128, 24, 8


def figures(clip: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    return {"PSNR": metrics.psnr(clip, clean), "SSIM": metrics.ssim(clip, clean),
            "flicker": metrics.flicker_index(clip), "warp": metrics.warp_error(clip)}


def report(title: str, rows: dict[str, list[dict[str, float]]]) -> None:
    print(f"\n{title}\n| clip | PSNR (dB) | SSIM | luma flicker index | warping error |\n| --- | --- | --- | --- | --- |")
    for name, values in rows.items():
        mean = {k: float(np.mean([v[k] for v in values])) for k in values[0]}
        print(f"| {name} | {mean['PSNR']:.2f} | {mean['SSIM']:.4f} | {mean['flicker']:.3f} | {mean['warp']:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    clips = [held_out_clip(seed, FRAMES, SIZE) for seed in range(args.clips)]
    restore = model_processor(load_model("tiny-bfvr"))
    deflicker = model_processor(load_model("tiny-deflicker"))
    deflicker_detail = model_processor(load_model("tiny-deflicker"), keep_detail=True)

    rows: dict[str, list[dict[str, float]]] = {"clean": [], "degraded (bfvr)": [], "tiny-bfvr": []}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, "bfvr", seed=seed)
        rows["clean"].append(figures(clean, clean))
        rows["degraded (bfvr)"].append(figures(degraded, clean))
        rows["tiny-bfvr"].append(figures(restore(degraded, WINDOW, OVERLAP), clean))
    report(f"tiny-bfvr on {len(clips)} held-out clips ({FRAMES} frames, {SIZE} px), means:", rows)

    rows = {"degraded (brightness flicker)": [], "ffmpeg deflicker": [], "tiny-deflicker": [],
            "tiny-deflicker --keep-detail": []}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, "brightness", seed=seed)
        rows["degraded (brightness flicker)"].append(figures(degraded, clean))
        rows["ffmpeg deflicker"].append(figures(ffmpeg_deflicker(degraded, Fraction(25)), clean))
        rows["tiny-deflicker"].append(figures(deflicker(degraded, WINDOW, OVERLAP), clean))
        rows["tiny-deflicker --keep-detail"].append(figures(deflicker_detail(degraded, WINDOW, OVERLAP), clean))
    report(f"tiny-deflicker on the same {len(clips)} clips, means "
           "(PSNR per frame is capped at 100 dB, so untouched frames lift the input's figure):", rows)


if __name__ == "__main__":
    main()
