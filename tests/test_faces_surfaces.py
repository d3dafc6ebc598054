"""Face mode (``--faces auto``) on the pipe and batch renders, on full frames where faces move
over a background: the faces are restored, everything else comes out bit-identical in the
clip's own format (YUV included), and frame count, timestamps and audio are kept."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from commands import stc, stc_ffmpeg
from face_clips import CUTS, face_clip
from vs_stc.media.video_io import write_video

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (setup.sh installs it)")
FACE_MODE = ["--faces", "auto", "--model", "tiny-bfvr", "--window", "4", "--overlap", "2"]


@pytest.fixture(scope="module")
def clip_nut(tmp_path_factory) -> Path:
    """The fixture clip as YUV 4:2:0 raw video in NUT, with a sine on the audio track."""
    folder = tmp_path_factory.mktemp("faces")
    write_video(face_clip().frames, folder / "clip.mkv")
    target = folder / "clip.nut"
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(folder / "clip.mkv"), "-f", "lavfi", "-i",
                    f"sine=frequency=300:duration={len(face_clip().frames) / 25}", "-c:v", "rawvideo", "-pix_fmt",
                    "yuv420p", "-c:a", "pcm_s16le", "-shortest", "-f", "nut", str(target)], check=True)
    return target


def planes(path: Path) -> list[list[np.ndarray]]:
    with av.open(str(path)) as container:
        return [[np.asarray(p).copy() for p in (f.to_ndarray(),)] for f in container.decode(video=0)]


def far_from_faces(n: int, height: int, width: int) -> np.ndarray:
    """Pixels of frame n well outside every true face (2.5 face heights from its landmarks)."""
    ys, xs = np.mgrid[:height, :width]
    far = np.ones((height, width), bool)
    for face in face_clip().truth[n]:
        centre = face.landmarks.mean(axis=0)
        far &= np.hypot(xs - centre[0], ys - centre[1]) > 2.5 * face.height
    return far


def test_pipe_restores_faces_and_leaves_the_rest_bit_identical(clip_nut, tmp_path):
    result = stc_ffmpeg(["restore", *FACE_MODE], clip_nut.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    assert b"faces restored in" in result.stderr and b"face detector" in result.stderr
    out = tmp_path / "out.nut"
    out.write_bytes(result.stdout)

    with av.open(str(clip_nut)) as source, av.open(str(out)) as restored:
        before = [(f.pts, f.to_ndarray()) for f in source.decode(video=0)]
        after = [(f.pts, f.to_ndarray()) for f in restored.decode(video=0)]
    assert [p for p, _ in before] == [p for p, _ in after]  # every frame, same timestamps
    height, width = face_clip().frames.shape[1:3]
    changed_frames = 0
    for n, ((_, a), (_, b)) in enumerate(zip(before, after)):
        luma_a, luma_b = a[:height], b[:height]  # yuv420p: the luma plane, then the chroma planes
        if not face_clip().truth[n]:
            assert np.array_equal(a, b), f"frame {n} has no face but changed"
            continue
        far = far_from_faces(n, height, width)
        assert np.array_equal(luma_a[far], luma_b[far]), f"frame {n}: background changed"
        changed_frames += not np.array_equal(luma_a, luma_b)
    assert changed_frames >= CUTS[1] - 4  # faces restored in (nearly) every frame that has one

    with av.open(str(clip_nut)) as source, av.open(str(out)) as restored:
        digest = [hashlib.sha256(bytes(p)).hexdigest() for c in (source, restored)
                  for p in c.demux(c.streams.audio[0]) if p.size]
    half = len(digest) // 2
    assert digest[:half] == digest[half:]  # audio packets bit-identical


def test_batch_render_reports_what_it_did_and_keep_colours_keeps_the_mean_of_the_faces(clip_nut, tmp_path):
    """After paste-back and the conversion back to YUV, the pixels face mode changed keep their
    mean to a tenth of a level (without keep_colours this clip's restored faces are 8 levels darker)."""
    out = tmp_path / "out.mkv"
    result = stc("restore", str(clip_nut), "-o", str(out), "--codec", "ffv1", "--compare",
                 str(tmp_path / "look.png"), "--keep-colours", "--quiet", *FACE_MODE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "face detector" in result.stdout and "faces restored in" in result.stdout
    assert (tmp_path / "look.png").exists()
    for fmt in ("gray", "rgb24"):
        with av.open(str(clip_nut)) as source, av.open(str(out)) as restored:
            before, after = (np.stack([f.to_ndarray(format=fmt) for f in c.decode(video=0)]).astype(np.float64)
                             for c in (source, restored))
        assert len(after) == len(face_clip().frames)
        change = after - before
        changed = np.abs(change).reshape(*change.shape[:3], -1).max(axis=-1) > 0
        assert changed.sum() > 100_000  # the faces were restored
        assert np.all(np.abs(change[changed].mean(axis=0)) < 0.1), (fmt, change[changed].mean(axis=0))
