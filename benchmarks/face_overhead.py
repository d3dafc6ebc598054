"""What face mode adds around the model for one face in a 1080p or 4K clip, in one process.

    .venv/bin/python benchmarks/face_overhead.py [--height 1080|2160] [--frames 24] [--window 8]

A 16:9 clip of ``--frames`` frames (1920 x 1080 or 3840 x 2160) shows one face (Grace Hopper,
public domain, from matplotlib's sample data, cut out with a soft elliptical matte) moving, zooming
and turning over a textured background, held as YUV 4:2:0 8-bit (BT.709) pictures as the surfaces
hold decoded frames. Timed per frame, each stage as ``FaceStreamRestorer`` runs it: detection
(``detect_faces``: the picture reduced by ``detection_factor``, read as RGB, the auto detector and
its second looks, after a warm-up that loads the session and the tracker's solver), analysis
(``analyse_detections``: tracking, smoothing, alignment), cropping (``aligned_crop`` to 512 x 512
from the face's source region) and paste-back (``pasted``: the blend and the composite into the
picture's own planes). The model time per frame is measured on the same track's first
``--window`` crops, through the engine (one window, no overlap; a bare model call beside it as a
cross-check) with the released network config (``BFVR``, deterministic weights: same
architecture and cost as the released ones), fp32. Printed: each stage in ms per
frame and the face pipeline's cost as a fraction of the model time.
"""

from __future__ import annotations

import argparse
import time

import av
import cv2
import numpy as np
import torch

from measure import release_freed_memory
from vs_stc.av_frames import picture_of
from vs_stc.colour import Picture
from vs_stc.engine import EngineOptions, WindowRunner, stream
from vs_stc.faces import MIN_FACE, analyse_detections, load_detector
from vs_stc.faces.stream import CROPS, aligned_crop, detect_faces, detection_factor, pasted
from vs_stc.models import BFVR
from vs_stc.models.deterministic import deterministic_network

# Grace Hopper's five landmarks (eyes, nose, mouth corners) and face box in grace_hopper.jpg,
# measured once with RetinaFace-MobileNet0.25 (the same figures as tests/face_clips.py; copied so
# that this command stands alone).
HOPPER_LANDMARKS = np.array([[219.0, 187.6], [303.4, 186.8], [259.6, 247.2], [231.9, 273.1], [299.2, 272.7]])
HOPPER_BOX = np.array([177.7, 106.5, 353.9, 327.7])


def hopper() -> tuple[np.ndarray, np.ndarray]:
    """The portrait (RGB float32) and a soft ellipse around the head (float32 in [0, 1])."""
    import matplotlib.cbook
    from PIL import Image

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as image:
        rgb = np.asarray(image.convert("RGB")).astype(np.float32)
    x0, y0, x1, y1 = HOPPER_BOX
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * (y1 - y0), 0.8 * (x1 - x0), 0.75 * (y1 - y0)
    y, x = np.mgrid[0:rgb.shape[0], 0:rgb.shape[1]]
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return rgb, np.clip((1.0 - r) / 0.15, 0.0, 1.0).astype(np.float32)


def placement(centre: tuple[float, float], scale: float, degrees: float) -> np.ndarray:
    """(2, 3) portrait -> frame transform putting the landmarks' centroid at ``centre``."""
    anchor = HOPPER_LANDMARKS.mean(axis=0)
    matrix = cv2.getRotationMatrix2D((float(anchor[0]), float(anchor[1])), degrees, scale)
    matrix[:, 2] += np.asarray(centre) - anchor
    return matrix


def background(height: int, width: int, seed: int = 1) -> np.ndarray:
    """Smooth gradients, soft blobs and grain (float32 (H, W, 3) in [0, 255]), nothing face-like."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width], dtype=np.float32)[:, None, None]
    shade = (0.55, 0.65, 0.8)
    base = np.stack([s * (0.6 + 0.3 * x + 0.2 * y * (i - 1)) for i, s in enumerate(shade)], axis=-1)
    small = rng.normal(0, 1, (height // 4, width // 4, 3)).astype(np.float32)
    blobs = cv2.resize(cv2.GaussianBlur(small, (0, 0), 12), (width, height), interpolation=cv2.INTER_LINEAR) * 3.0
    grain = rng.normal(0, 0.02, (height, width, 3)).astype(np.float32)
    return (np.clip(base + 0.25 * blobs + grain, 0, 1) * 255).astype(np.float32)


def one_face_pictures(frames: int, height: int) -> list[Picture]:
    """YUV 4:2:0 8-bit pictures, 16:9 at ``height``: the face drifts right (a third of the width),
    zooms 1.3 -> 1.7 times the portrait at 1080p (eye distance about 110 -> 145 px; twice that at
    4K) and turns up to 15 degrees, over a slowly panning background."""
    width, k = height * 16 // 9, height / 1080
    rgb, alpha_src = hopper()
    back = background(height, width)
    pictures = []
    for n in range(frames):
        t = n / max(frames - 1, 1)
        matrix = placement((k * (600 + 700 * t), k * (520 + 40 * np.sin(2 * np.pi * t))), k * (1.3 + 0.4 * t),
                           15 * np.sin(np.pi * t))
        sprite = cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_CUBIC)
        alpha = cv2.warpAffine(alpha_src, matrix, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        canvas = np.roll(back, int(3 * k) * n, axis=1) * (1 - alpha) + sprite * alpha
        frame = av.VideoFrame.from_ndarray(np.clip(np.rint(canvas), 0, 255).astype(np.uint8), format="rgb24")
        yuv = frame.reformat(format="yuv420p", dst_colorspace=1, dst_color_range=1)
        yuv.colorspace, yuv.color_range = 1, 1
        pictures.append(picture_of(yuv))
    return pictures


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, choices=(1080, 2160), default=1080, help="1080p or 4K (16:9)")
    parser.add_argument("--frames", type=int, default=24, help="frames of the clip (face stages)")
    parser.add_argument("--window", type=int, default=8, help="engine window for the model time (frames)")
    args = parser.parse_args()
    if args.window > args.frames:
        parser.error("--window must not exceed --frames")

    pictures = one_face_pictures(args.frames, args.height)
    network = deterministic_network(BFVR)
    resolution = network.config.resolution
    detector, reason = load_detector("auto")
    factor = detection_factor(pictures[0].size, MIN_FACE)

    def detect(picture: Picture) -> list:
        return detect_faces(detector, picture, MIN_FACE)  # as face mode detects: second looks included

    # Once-per-process costs, not per frame: the detector's session, SciPy's assignment solver
    # (imported by the tracker on first use).
    analyse_detections([detect(pictures[0])] * 3, crop_size=resolution)
    release_freed_memory()
    height, width = pictures[0].size
    print(f"{args.frames} frames of {width} x {height} (YUV 4:2:0), one face; {reason}, detected {factor} times "
          f"smaller; torch {torch.__version__}, {torch.get_num_threads()} threads")

    found, detect_s = timed(lambda: [detect(p) for p in pictures])
    analysis, analyse_s = timed(lambda: analyse_detections(found, crop_size=resolution))
    if len(analysis.tracks) != 1 or len(analysis.tracks[0]) != args.frames:
        raise SystemExit(f"expected one track over all {args.frames} frames, got "
                         f"{[(t.start, t.stop) for t in analysis.tracks]}")
    track = analysis.tracks[0]
    crops, crop_s = timed(lambda: [aligned_crop(pictures[n], track.alignment(n)) for n in range(args.frames)])
    face_px = np.mean([a.face_size for a in track.alignments])

    runner = WindowRunner(network, CROPS, EngineOptions(window=args.window, overlap=0))
    window_crops = crops[:args.window]
    with torch.inference_mode():
        outputs, model_s = timed(lambda: [o.permute(1, 2, 0).numpy() for o in
                                          stream(runner, ([c[..., k] for k in range(3)] for c in window_crops))])
    model_per_frame = model_s / args.window
    batch = torch.from_numpy(np.stack(window_crops)).permute(3, 0, 1, 2).unsqueeze(0)
    with torch.inference_mode():
        _, bare_s = timed(lambda: network(batch))  # the bare model call, as model_memory_and_speed.py times it

    def paste_all() -> None:
        for n in range(args.frames):
            pasted(pictures[n], analysis.pastes(n, {track.id: outputs[n % args.window]}))

    _, paste_s = timed(paste_all)

    stages = {"detect": detect_s, "analyse (track, smooth, align)": analyse_s, "crop": crop_s,
              "paste-back (blend, composite)": paste_s}
    face_per_frame = sum(stages.values()) / args.frames
    print(f"face: aligned crop side {face_px:.0f} px in the frame (mean), crops {resolution} x {resolution}")
    for name, seconds in stages.items():
        print(f"  {name:31} {1000 * seconds / args.frames:8.1f} ms / frame")
    print(f"  {'face pipeline, all stages':31} {1000 * face_per_frame:8.1f} ms / frame")
    print(f"  {'model (BFVR, fp32, T=%d)' % args.window:31} {1000 * model_per_frame:8.1f} ms / frame "
          f"(engine, one window of {args.window} crops, {model_s:.1f} s)")
    print(f"  {'model, bare call (cross-check)':31} {1000 * bare_s / args.window:8.1f} ms / frame")
    print(f"face pipeline / model time: {face_per_frame / model_per_frame:.2%}; "
          f"against the bare call {face_per_frame / (bare_s / args.window):.2%}")


if __name__ == "__main__":
    main()
