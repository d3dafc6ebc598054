"""``stc eval``: metrics of a clip (against a reference when given), and, with ``--run``, of the
filter's output beside its baselines on the same clip: the input itself, per-frame processing
(window 2, no overlap) and, for brightness deflicker, FFmpeg's ``deflicker`` filter."""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import metrics
from ..colour import rgb_pictures
from ..engine.planning import plan
from ..errors import InputError
from ..media.video_io import read_video, write_video
from ..options import RunOptions
from ..restorer import restorer_for

METRICS = ("psnr", "ssim", "warp_error", "flicker_index", "seam_score")
Processor = Callable[[np.ndarray, int, int], np.ndarray]  # (clip, window, overlap) -> clip


def clip_metrics(clip: np.ndarray, reference: np.ndarray | None, window: int, overlap: int) -> dict[str, float | None]:
    """Every metric; those that cannot apply (no reference, too short) are None."""
    if reference is not None and reference.shape != clip.shape:
        raise InputError(f"the reference is {reference.shape}, the clip {clip.shape} (T, H, W, 3): give a reference "
                       "with the same length and frame size")
    boundaries = metrics.window_boundaries(plan(len(clip), window, overlap)) if window else []
    chw = torch.from_numpy(clip).permute(0, 3, 1, 2)
    seam = metrics.seam_score(chw, boundaries) if 0 < len(boundaries) < len(clip) - 1 else None
    values = {
        "psnr": metrics.psnr(clip, reference) if reference is not None else None,
        "ssim": metrics.ssim(clip, reference) if reference is not None else None,
        "warp_error": metrics.warp_error(clip, reference) if len(clip) > 1 else None,
        "flicker_index": metrics.flicker_index(clip) if len(clip) > 2 else None,
        "seam_score": seam,
    }
    return {k: (None if v is None or math.isnan(v) else v) for k, v in values.items()}


def ffmpeg_deflicker(clip: np.ndarray, rate: Fraction) -> np.ndarray:
    """FFmpeg's ``deflicker`` filter (arithmetic-mean mode, 5 frames; it scales luma only)."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise RuntimeError("the ffmpeg binary is needed for the FFmpeg deflicker baseline")
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.mkv", Path(folder) / "out.mkv"
        write_video(clip, source, rate)
        subprocess.run([binary, "-nostdin", "-loglevel", "error", "-i", str(source), "-vf", "deflicker=size=5:mode=am",
                        "-c:v", "ffv1", "-pix_fmt", "bgr0", str(target)], check=True)
        return read_video(target)[0]


def candidates(clip: np.ndarray, rate: Fraction, process: Processor | None, task: str, mode: str,
               window: int, overlap: int) -> dict[str, tuple[np.ndarray, int, int]]:
    """name -> (clip, window, overlap it was made with); the degraded input always comes first."""
    rows = {"input": (clip, 0, 0)}
    if process is not None:
        rows["stc"] = (process(clip, window, overlap), window, overlap)
        rows["stc per-frame (window 2)"] = (process(clip, 2, 0), 2, 0)
        if task == "deflicker" and mode == "brightness":
            rows["ffmpeg deflicker"] = (ffmpeg_deflicker(clip, rate), 0, 0)
    return rows


def evaluate(clip_path: Path, reference_path: Path | None, process: Processor | None = None, task: str = "restore",
             mode: str = "brightness", window: int = 24, overlap: int = 8) -> tuple[dict, dict]:
    """Returns ({name: metrics}, {name: per-frame curves})."""
    clip, rate = read_video(clip_path)
    reference = read_video(reference_path)[0] if reference_path else None
    results, curves = {}, {}
    for name, (frames, w, o) in candidates(clip, rate, process, task, mode, window, overlap).items():
        results[name] = clip_metrics(frames, reference, w or window, o if w else overlap)
        curves[name] = {
            "luma mean": metrics.luma_means(frames),
            "flicker (luma change)": np.concatenate([[0.0], np.diff(metrics.luma_means(frames))]),
            **({"PSNR (dB)": metrics.psnr_per_frame(frames, reference)} if reference is not None else {}),
        }
    return results, curves


def table(results: dict[str, dict[str, float | None]]) -> str:
    width = max(len(name) for name in results) + 2
    lines = ["clip".ljust(width) + "".join(m.rjust(15) for m in METRICS)]
    for name, values in results.items():
        cells = ("-" if values[m] is None else f"{values[m]:.4f}" for m in METRICS)
        lines.append(name.ljust(width) + "".join(c.rjust(15) for c in cells))
    return "\n".join(lines)


def plot(curves: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(next(iter(curves.values())))
    figure, axes = plt.subplots(len(names), 1, figsize=(9, 2.6 * len(names)), sharex=True, squeeze=False)
    for axis, curve in zip(axes[:, 0], names):
        for clip_name, clip_curves in curves.items():
            axis.plot(clip_curves[curve], label=clip_name, linewidth=1.2)
        axis.set_ylabel(curve)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(loc="best", fontsize="small")
    axes[-1, 0].set_xlabel("frame")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def model_processor(network, options: RunOptions) -> Processor:
    """Runs a loaded network over a whole clip through the streaming engine, as ``options`` say
    (window and overlap are given per call); with ``faces="auto"`` the clip is whole frames."""

    def process(clip: np.ndarray, window: int, overlap: int) -> np.ndarray:
        restorer = restorer_for(network, replace(options, window=window, overlap=overlap))
        return np.stack([frame.rgb for frame in restorer(rgb_pictures(clip))])

    return process
