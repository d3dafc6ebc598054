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

from vs_stc.evaluation.degrade import degrade
from vs_stc.evaluation.report import clip_metrics, ffmpeg_deflicker, model_processor
from vs_stc.loading import load_model
from vs_stc.training.portraits import held_out_clip

FRAMES, SIZE, WINDOW, OVERLAP = 48, 128, 24, 8


def report(title: str, rows: dict[str, list[dict]]) -> None:
    print(f"\n{title}\n| clip | PSNR (dB) | SSIM | warping error | luma flicker index | seam score |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, values in rows.items():
        cells = []
        for key, digits in (("psnr", 2), ("ssim", 4), ("warp_error", 4), ("flicker_index", 3), ("seam_score", 3)):
            known = [v[key] for v in values if v[key] is not None]
            cells.append(f"{np.mean(known):.{digits}f}" if known else "-")
        print(f"| {name} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    clips = [held_out_clip(seed, FRAMES, SIZE) for seed in range(args.clips)]
    restore = model_processor(load_model("tiny-bfvr"))
    restore_colours = model_processor(load_model("tiny-bfvr"), keep_colours=True)
    deflicker = model_processor(load_model("tiny-deflicker"))
    deflicker_detail = model_processor(load_model("tiny-deflicker"), keep_detail=True)

    rows: dict[str, list[dict]] = {"clean": [], "degraded (bfvr)": [], "tiny-bfvr": [], "tiny-bfvr --keep-colours": []}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, "bfvr", seed=seed)
        rows["clean"].append(clip_metrics(clean, clean, WINDOW, OVERLAP))
        rows["degraded (bfvr)"].append(clip_metrics(degraded, clean, WINDOW, OVERLAP))
        rows["tiny-bfvr"].append(clip_metrics(restore(degraded, WINDOW, OVERLAP), clean, WINDOW, OVERLAP))
        rows["tiny-bfvr --keep-colours"].append(
            clip_metrics(restore_colours(degraded, WINDOW, OVERLAP), clean, WINDOW, OVERLAP))
    report(f"tiny-bfvr on {len(clips)} held-out clips ({FRAMES} frames, {SIZE} px), means:", rows)

    rows = {"degraded (brightness flicker)": [], "ffmpeg deflicker": [], "tiny-deflicker": [],
            "tiny-deflicker --keep-detail": []}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, "brightness", seed=seed)
        rows["degraded (brightness flicker)"].append(clip_metrics(degraded, clean, WINDOW, OVERLAP))
        rows["ffmpeg deflicker"].append(
            clip_metrics(ffmpeg_deflicker(degraded, Fraction(25)), clean, WINDOW, OVERLAP))
        rows["tiny-deflicker"].append(clip_metrics(deflicker(degraded, WINDOW, OVERLAP), clean, WINDOW, OVERLAP))
        rows["tiny-deflicker --keep-detail"].append(
            clip_metrics(deflicker_detail(degraded, WINDOW, OVERLAP), clean, WINDOW, OVERLAP))
    report(f"tiny-deflicker on the same {len(clips)} clips, means "
           "(PSNR per frame is capped at 100 dB, so untouched frames lift the input's figure):", rows)

    # Window seams with trained weights: short windows so a 48-frame clip has many boundaries.
    rows = {"tiny-bfvr, window 8, hard cuts (overlap 0)": [], "tiny-bfvr, window 8, crossfade (overlap 4)": []}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, "bfvr", seed=seed)
        for (name, values), overlap in zip(rows.items(), (0, 4)):
            values.append(clip_metrics(restore(degraded, 8, overlap), clean, 8, overlap))
    report("Seams: frame change at window boundaries over frame change inside windows (1 = invisible):", rows)


if __name__ == "__main__":
    main()
