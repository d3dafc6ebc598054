"""Held-out quality of the bundled models (the figures in weights/README.md's model cards).

Every clip of a face never used in training (Grace Hopper, animated by vs_stc.training.portraits
with seeds 0..N-1), degraded by `stc degrade` with the clip's index as seed, then run through the
streaming engine exactly as the pipe filter and `stc restore` run it, at window 4 / overlap 2
(the length the tiny models were trained on) and at the engine's default 24 / 8. Last, the two
models' speed on one clip, as a ratio (the 1-2 network of tiny-bfvr against the 1-2-4 one).

    ../.venv/bin/python bundled_models.py [--clips 8]
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np

from vs_stc.evaluation.degrade import degrade
from vs_stc.evaluation.report import Processor, clip_metrics, ffmpeg_deflicker, model_processor
from vs_stc.loading import load_model
from vs_stc.options import resolve
from vs_stc.training.portraits import held_out_clip

FRAMES, SIZE = 48, 128
WINDOWS = ((4, 2), (24, 8))  # the tiny models' training length, and the engine's default


def report(title: str, rows: dict[str, list[dict]]) -> None:
    """Seam scores of whole-clip rows (inputs, baselines) use window 4 boundaries."""
    print(f"\n{title}\n| clip | PSNR (dB) | SSIM | warping error | luma flicker index | seam score |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, values in rows.items():
        cells = []
        for key, digits in (("psnr", 2), ("ssim", 4), ("warp_error", 4), ("flicker_index", 3), ("seam_score", 3)):
            known = [v[key] for v in values if v[key] is not None]
            cells.append(f"{np.mean(known):.{digits}f}" if known else "-")
        print(f"| {name} | {' | '.join(cells)} |")


def run_rows(clips: list[np.ndarray], kind: str, baselines: dict[str, Processor],
             filters: dict[str, Processor]) -> dict[str, list[dict]]:
    """Each clip degraded by ``kind`` (seed: its index), then every baseline (whole clip) and
    every filter at each of WINDOWS; per-clip metrics by row name."""
    rows: dict[str, list[dict]] = {}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, kind, seed=seed)
        for name, make in {f"degraded ({kind})": lambda clip: clip, **baselines}.items():
            rows.setdefault(name, []).append(clip_metrics(make(degraded), clean, *WINDOWS[0]))
        for name, process in filters.items():
            for window, overlap in WINDOWS:
                rows.setdefault(f"{name}, window {window} / {overlap}", []).append(
                    clip_metrics(process(degraded, window, overlap), clean, window, overlap))
    return rows


def report_speed(processors: dict[str, Processor], clip: np.ndarray, repeats: int = 2) -> None:
    """Seconds per frame through the engine at window 4 / overlap 2 (best of ``repeats``), and each
    model's time over the first one's, measured in this process one after the other."""
    seconds = {}
    for name, process in processors.items():
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            process(clip, *WINDOWS[0])
            runs.append(time.perf_counter() - start)
        seconds[name] = min(runs) / len(clip)
    baseline = next(iter(seconds.values()))
    print(f"\nSpeed at window {WINDOWS[0][0]} / {WINDOWS[0][1]}, {len(clip)} frames of {SIZE} px, this machine:")
    print("| model | seconds per frame | time over the first row |\n| --- | --- | --- |")
    for name, value in seconds.items():
        print(f"| {name} | {value:.3f} | {value / baseline:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    clips = [held_out_clip(seed, FRAMES, SIZE) for seed in range(args.clips)]
    bfvr, deflicker = load_model("tiny-bfvr"), load_model("tiny-deflicker")

    def processor(network, task: str, model: str, **blend: bool) -> Processor:
        return model_processor(network, resolve(task, model=model, faces="aligned", **blend))

    rows = run_rows(clips, "bfvr", {}, {
        "tiny-bfvr --no-keep-colours": processor(bfvr, "restore", "tiny-bfvr", keep_colours=False),
        "tiny-bfvr (default: --keep-colours)": processor(bfvr, "restore", "tiny-bfvr")})
    report(f"tiny-bfvr on {len(clips)} held-out clips ({FRAMES} frames, {SIZE} px), means:", rows)

    rows = run_rows(clips, "brightness", {"ffmpeg deflicker": lambda clip: ffmpeg_deflicker(clip, Fraction(25))},
                    {"tiny-deflicker --no-keep-detail": processor(deflicker, "deflicker", "tiny-deflicker",
                                                                  keep_detail=False),
                     "tiny-deflicker (default: --keep-detail)": processor(deflicker, "deflicker", "tiny-deflicker")})
    report(f"tiny-deflicker on the same {len(clips)} clips, means "
           "(PSNR per frame is capped at 100 dB, so untouched frames lift the input's figure):", rows)

    # Window seams with trained weights: short windows so a 48-frame clip has many boundaries.
    restore = processor(bfvr, "restore", "tiny-bfvr", keep_colours=False)
    rows = {"tiny-bfvr, window 8, hard cuts (overlap 0)": [], "tiny-bfvr, window 8, crossfade (overlap 4)": []}
    for seed, clean in enumerate(clips):
        degraded = degrade(clean, "bfvr", seed=seed)
        for (name, values), overlap in zip(rows.items(), (0, 4)):
            values.append(clip_metrics(restore(degraded, 8, overlap), clean, 8, overlap))
    report("Seams: frame change at window boundaries over frame change inside windows (1 = invisible):", rows)

    report_speed({"tiny-deflicker": processor(deflicker, "deflicker", "tiny-deflicker", keep_detail=False),
                  "tiny-bfvr": restore}, degrade(clips[0], "bfvr", seed=0))


if __name__ == "__main__":
    main()
