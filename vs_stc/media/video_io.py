"""Whole short clips in and out of files, as (T, H, W, 3) uint8 RGB arrays, for evaluation,
training and ``stc degrade`` (renders stream through vs_stc.transcode instead)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import InputError


LOSSLESS_RGB_EXTENSIONS = (".mkv", ".avi", ".nut")  # FFV1
LOSSLESS_H264_EXTENSIONS = (".mp4", ".mov")  # libx264rgb at CRF 0
WRITABLE_EXTENSIONS = LOSSLESS_RGB_EXTENSIONS + LOSSLESS_H264_EXTENSIONS


def read_video(path: Path) -> tuple[np.ndarray, Fraction]:
    """All frames of the first video stream, and its frame rate."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path} has no video stream", path)
            stream = container.streams.video[0]
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    except av.FFmpegError as error:
        raise InputError(f"{path} is not a video file FFmpeg can read ({error})", path) from error
    if not frames:
        raise InputError(f"{path} holds no video frames")
    return np.stack(frames), Fraction(rate)


def write_video(frames: np.ndarray, path: Path, rate: Fraction = Fraction(25)) -> None:
    """Writes frames losslessly: FFV1 (RGB) in Matroska/AVI/NUT, lossless H.264 (RGB) in MP4/MOV."""
    lossless_rgb = path.suffix.lower() in LOSSLESS_RGB_EXTENSIONS
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1" if lossless_rgb else "libx264rgb", rate=rate,
                                      options={} if lossless_rgb else {"crf": "0", "preset": "medium"})
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "bgr0" if lossless_rgb else "rgb24"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
