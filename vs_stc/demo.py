"""``stc demo``: the models on a face they never saw, each at its best honest setting.

Grace Hopper's portrait (held out of training) is animated into a short clip, degraded with fixed
seeds (``stc degrade``'s bfvr and brightness-flicker kinds) and run through the streaming engine.
Restoration uses the released ``bfvr`` checkpoint on a 512 x 512 face when it can be had (cached,
or a one-time download with a progress bar); offline it falls back to the bundled ``tiny-bfvr`` on a
256 x 256 face (run at the model's 64 x 64, resized there and back) and says so. Deflicker uses the bundled ``tiny-deflicker`` at its defaults, beside
FFmpeg's ``deflicker`` filter when the ffmpeg binary is installed. Every result gets its figures
against the clean clip (PSNR of the whole clip's mean squared error, SSIM, luma flicker index), a
line that says whether it improved on its input, and labelled stills (input | output | clean).

Then the same face moving over a background in whole 320 x 240 frames, degraded, goes through
face mode (``faces="auto"``): found, followed, aligned, restored with ``tiny-bfvr`` and pasted
back, with the background left exactly as it came in.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from . import metrics
from .colour import rgb_pictures
from .errors import DownloadError
from .media.degrade import degrade
from .evaluation.report import ffmpeg_deflicker
from .images import side_by_side, write_png
from .loading import load_model
from .options import RunOptions, resolve
from .restorer import StreamRestorer
from .media.portraits import held_out_clip
from .weights import cached_path, ensure_downloaded, spec_for

FULL_FRAME = (240, 320)  # height, width of the face-mode demo
SIZE, RELEASED_SIZE = 256, 512
DEMO_FRAMES, RELEASED_FRAMES = 48, 24
STILL_FRAMES = (0, 20, 40)
LABEL_HEIGHT = 24


@dataclass(frozen=True)
class Figures:
    psnr: float
    ssim: float
    flicker: float

    @classmethod
    def of(cls, clip: np.ndarray, clean: np.ndarray) -> "Figures":
        return cls(metrics.psnr(clip, clean), metrics.ssim(clip, clean), metrics.flicker_index(clip))

    def __str__(self) -> str:
        return f"PSNR {self.psnr:5.2f} dB, SSIM {self.ssim:.3f}, flicker index {self.flicker:6.3f}"

    def as_dict(self) -> dict[str, float]:
        return {"psnr_db": round(self.psnr, 3), "ssim": round(self.ssim, 4), "flicker_index": round(self.flicker, 4)}


def verdict(task: str, before: Figures, after: Figures) -> str:
    """One line: whether ``after`` improved on ``before`` by what the task is for (restoration: PSNR
    and SSIM; deflicker: flicker at least halved and PSNR up)."""
    change = (f"PSNR {after.psnr - before.psnr:+.2f} dB, SSIM {after.ssim - before.ssim:+.3f}, "
              f"flicker index {before.flicker:.3f} -> {after.flicker:.3f}")
    return f"-> {verdict_word(task, before, after)}: {change}"


def verdict_word(task: str, before: Figures, after: Figures) -> str:
    if task == "restore":
        better = (after.psnr > before.psnr, after.ssim > before.ssim)
    else:
        better = (after.flicker <= 0.5 * before.flicker, after.psnr > before.psnr)
    return "improved" if all(better) else "partly improved" if any(better) else "NOT improved"


def section_summary(task: str, model: str, seconds: float, before: Figures, after: Figures) -> dict:
    return {"model": model, "seconds": round(seconds, 2), "input": before.as_dict(), "output": after.as_dict(),
            "verdict": verdict_word(task, before, after)}


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with ``text`` written on a dark band across its top."""
    out = image.copy()
    scale = max(0.45, image.shape[1] / 512)
    out[:LABEL_HEIGHT] = (out[:LABEL_HEIGHT] * 0.35).astype(np.uint8)
    cv2.putText(out, text, (6, LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_stills(output: Path, stem: str, degraded: np.ndarray, restored: np.ndarray, clean: np.ndarray,
                 output_label: str) -> list[Path]:
    paths = []
    for t in STILL_FRAMES:
        if t >= len(clean):
            continue
        path = output / f"{stem}-frame{t:02d}.png"
        write_png(side_by_side(labelled(degraded[t], "input"), labelled(restored[t], output_label),
                               labelled(clean[t], "clean")), path)
        paths.append(path)
    return paths


def run_model(network, options: RunOptions, clip: np.ndarray, progress: str | None = None) -> np.ndarray:
    """``clip`` through the streaming engine as ``stc restore``/``deflicker`` runs it on aligned
    face crops; ``progress``: a progress bar (frames) with this title."""
    restored = StreamRestorer(network, options.engine_options())(rgb_pictures(clip))
    restored = tqdm(restored, total=len(clip), desc=progress, unit="frame", disable=progress is None)
    return np.stack([frame.rgb for frame in restored])


def released_checkpoint() -> Path | None:
    """The released ``bfvr`` checkpoint: cached, or downloaded once now (progress bar); None, with
    a line saying why, when it cannot be had (no network)."""
    spec = spec_for("bfvr")
    if not cached_path(spec).exists():
        print(f"released bfvr: a one-time download of {spec.filename} from {spec.url} into {cached_path(spec).parent} "
              "(kept for later runs; `stc weights download` does the same)")
    try:
        return ensure_downloaded(spec)
    except DownloadError as error:
        print(f"released bfvr: not available ({error})")
        print("  offline: falling back to the bundled small model tiny-bfvr for restoration")
        return None


def run_demo(output: Path, released: bool = True) -> dict:
    """Runs every demo section, prints its figures, writes its stills to ``output`` and returns the
    figures as a summary (what ``stc demo --json`` writes); ``released``: try the released ``bfvr``
    (else the bundled models only)."""
    output.mkdir(parents=True, exist_ok=True)
    print("vs-stc demo: a face never seen in training (Grace Hopper's portrait, animated), CPU.")
    print("PSNR: of the whole clip's mean squared error against the clean clip; flicker index: standard deviation "
          "of the frame-to-frame change of mean luma.")
    checkpoint = released_checkpoint() if released else None
    summary: dict = {"released_bfvr": checkpoint is not None, "stills": []}
    if checkpoint is not None:
        _restore(output, load_model("bfvr"), "bfvr", RELEASED_SIZE, RELEASED_FRAMES, summary)
    bfvr = load_model("tiny-bfvr")
    if checkpoint is None:
        _restore(output, bfvr, "tiny-bfvr", SIZE, DEMO_FRAMES, summary)
    _deflicker(output, load_model("tiny-deflicker"), summary)
    _faces_demo(output, held_out_clip(seed=2024, frames=DEMO_FRAMES), bfvr, summary)
    print(f"stills (input | output | clean, labelled) in {output}")
    print("figures on several held-out clips, and where the small models lose: weights/README.md")
    return summary


def _measured_run(network, options, degraded: np.ndarray, clean: np.ndarray,
                  progress: str | None = None) -> tuple[np.ndarray, float, Figures, Figures]:
    """The model's output, its seconds, and the figures of input and output against ``clean``."""
    start = time.perf_counter()
    restored = run_model(network, options, degraded, progress=progress)
    return restored, time.perf_counter() - start, Figures.of(degraded, clean), Figures.of(restored, clean)


def _restore(output: Path, network, model: str, size: int, frames: int, summary: dict) -> None:
    clean = held_out_clip(seed=2024, frames=frames, size=size)
    degraded = degrade(clean, "bfvr", seed=0)
    options = resolve("restore", model=model, faces="aligned")
    blend = " keeps the input's colours," if options.keep_colours else ""
    progress = f"{model} ({size} px)" if model == "bfvr" else None
    restored, seconds, before, after = _measured_run(network, options, degraded, clean, progress)
    side = network.config.resolution
    print(f"restore ({model} at its defaults:{blend} window {options.window} / {options.overlap}; {frames} frames of "
          f"{size} x {size}, run at the model's {side} x {side}, {seconds:.1f} s):")
    print(f"  {'clean clip:':22} flicker index {metrics.flicker_index(clean):6.3f}")
    print(f"  {'input (bfvr degraded):':22} {before}")
    print(f"  {'output:':22} {after}")
    print(f"  {verdict('restore', before, after)}")
    summary["restore"] = {**section_summary("restore", model, seconds, before, after), "frames": frames,
                          "size": size, "model_size": side}
    summary["stills"] += [str(p) for p in write_stills(output, "restore", degraded, restored, clean, model)]


def _deflicker(output: Path, network, summary: dict) -> None:
    clean = held_out_clip(seed=2024, frames=DEMO_FRAMES, size=SIZE)
    degraded = degrade(clean, "brightness", seed=0)
    options = resolve("deflicker", model="tiny-deflicker", faces="aligned")
    restored, seconds, before, after = _measured_run(network, options, degraded, clean)
    print(f"deflicker (tiny-deflicker at its defaults: keeps the input's detail, the model sets each frame's "
          f"brightness; {DEMO_FRAMES} frames of {SIZE} x {SIZE}, {seconds:.1f} s):")
    print(f"  {'clean clip:':22} flicker index {metrics.flicker_index(clean):6.3f}")
    print(f"  {'input (flickering):':22} {before}")
    summary["deflicker"] = section_summary("deflicker", "tiny-deflicker", seconds, before, after)
    if shutil.which("ffmpeg"):
        ffmpeg = Figures.of(ffmpeg_deflicker(degraded, Fraction(25)), clean)
        print(f"  {'ffmpeg deflicker:':22} {ffmpeg}")
        summary["deflicker"]["ffmpeg_deflicker"] = ffmpeg.as_dict()
    print(f"  {'output:':22} {after}")
    print(f"  {verdict('deflicker', before, after)}")
    summary["stills"] += [str(p) for p in write_stills(output, "deflicker", degraded, restored, clean,
                                                       "tiny-deflicker")]


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


def _faces_demo(output: Path, clean_faces: np.ndarray, network, summary: dict) -> None:
    from .faces import load_detector
    from .faces.stream import FaceStreamRestorer

    clean = full_frame_clip(clean_faces)
    degraded = degrade(clean, "bfvr", seed=0)
    options = resolve("restore", model="tiny-bfvr", faces="auto")
    detector, reason = load_detector(options.detector)
    restorer = FaceStreamRestorer(network, options.engine_options(), detector, reason, options.min_face,
                                  face_score=options.face_score)
    start = time.perf_counter()
    results = list(restorer(rgb_pictures(degraded)))
    seconds = time.perf_counter() - start
    restored = np.stack([r.rgb for r in results])
    changed = np.stack([r.changed if r.changed is not None else np.zeros(FULL_FRAME, bool) for r in results])
    face = changed[..., None].repeat(3, axis=-1)
    before, after = _region_psnr(degraded[face], clean[face]), _region_psnr(restored[face], clean[face])
    print(f"faces auto ({FULL_FRAME[1]} x {FULL_FRAME[0]} whole frames, tiny-bfvr, {seconds:.1f} s; {reason}):")
    print(f"  {restorer.counts.describe()}")
    print(f"  face region, bfvr input: PSNR {before:5.2f} dB; output: PSNR {after:5.2f} dB "
          f"-> {'improved' if after > before else 'NOT improved'}: {after - before:+.2f} dB")
    background_kept = bool(np.array_equal(restored[~face], degraded[~face]))
    print(f"  outside the faces the output is the input, bit for bit: {background_kept}")
    counts = restorer.counts
    summary["faces_auto"] = {"model": "tiny-bfvr", "seconds": round(seconds, 2), "frames": counts.frames,
                             "frames_with_faces": counts.frames_with_faces, "faces": counts.faces,
                             "face_region_psnr_db": {"input": round(before, 3), "output": round(after, 3)},
                             "verdict": "improved" if after > before else "NOT improved",
                             "background_bit_identical": background_kept}
    summary["stills"] += [str(p) for p in write_stills(output, "faces-auto", degraded, restored, clean,
                                                       "tiny-bfvr, faces auto")]


def _region_psnr(values: np.ndarray, reference: np.ndarray) -> float:
    """PSNR over the samples given (the pixels of a region, flattened)."""
    mse = np.mean((values.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse)) if mse else metrics.PSNR_CAP
