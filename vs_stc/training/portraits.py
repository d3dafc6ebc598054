"""Offline training and evaluation clips from public-domain portraits, animated with smooth
synthetic motion (drifting zoom, pan and tilt, slow brightness change).

Sources, all shipped inside packages (nothing is downloaded):
- scikit-image ``data.astronaut()``: Eileen Collins, NASA photograph, public domain (training);
- scikit-image ``data.camera()``: "cameraman", CC0 (training; greyscale);
- matplotlib ``sample_data/grace_hopper.jpg``: US Navy photograph, public domain (held out for
  evaluation: never used for training);
- scikit-image ``data.coffee()`` (Rachel Michetti, CC0), ``data.chelsea()`` (Stefan van der Walt,
  CC0) and ``data.rocket()`` (SpaceX, CC0): not faces, but colour, skin-like and fine textures that
  two portraits alone cannot teach a codebook (training).

Training also gets dead-leaves scenes (``synthetic.dead_leaves``, generated here, so ours), one
clip per scene. The camera paths and the held-out face come from ``vs_stc.media.portraits``,
which evaluation shares.

    python -m vs_stc.training.portraits OUTPUT_FOLDER [--clips 8] [--scenes 48] [--frames 48] [--size 128]

writes OUTPUT_FOLDER/train/*.mkv and OUTPUT_FOLDER/heldout/*.mkv (lossless FFV1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..media.portraits import HOPPER_BOX, animate, crop, hopper
from ..media.video_io import write_video
from .synthetic import dead_leaves


# Square regions (x, y, side) in each source image: face crops for the portraits, the central
# square for the texture scenes.
BOXES = {"astronaut": (130, 10, 220), "cameraman": (160, 60, 150), "hopper": HOPPER_BOX,
         "coffee": (100, 0, 400), "chelsea": (75, 0, 300), "rocket": (106, 0, 427)}


def portraits() -> dict[str, tuple[np.ndarray, bool]]:
    """name -> (RGB uint8 square crop, held out). The training images need scikit-image."""
    from skimage import data

    images = {
        "astronaut": (data.astronaut(), False),
        "cameraman": (np.repeat(data.camera()[..., None], 3, axis=2), False),
        "hopper": (hopper(), True),
        "coffee": (data.coffee(), False),
        "chelsea": (data.chelsea(), False),
        "rocket": (data.rocket(), False),
    }
    return {name: (crop(image, BOXES[name]), held_out) for name, (image, held_out) in images.items()}


def write_dataset(output: Path, clips: int = 8, scenes: int = 48, frames: int = 48, size: int = 128,
                  seed: int = 0) -> list[Path]:
    """``clips`` clips of every portrait and one clip of each of ``scenes`` dead-leaves scenes."""
    rng = np.random.default_rng(seed)
    jobs = [(f"{name}-{index:02d}", image, held_out)
            for name, (image, held_out) in portraits().items() for index in range(clips)]
    scene_rng = np.random.default_rng([seed, 1])  # the portrait clips stay as they were without scenes
    jobs += [(f"leaves-{index:02d}", dead_leaves(scene_rng), False) for index in range(scenes)]
    written = []
    for stem, image, held_out in jobs:
        folder = output / ("heldout" if held_out else "train")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.mkv"
        write_video(animate(image, frames, size, rng), path)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Write animated public-domain portrait clips.")
    parser.add_argument("output", type=Path)
    parser.add_argument("--clips", type=int, default=8, help="clips per portrait")
    parser.add_argument("--scenes", type=int, default=48, help="dead-leaves scenes (one clip each)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = write_dataset(args.output, args.clips, args.scenes, args.frames, args.size, args.seed)
    print(f"wrote {len(paths)} clips under {args.output}")


if __name__ == "__main__":
    main()
