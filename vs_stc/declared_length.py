"""How long an input's container says its video is, and whether the frames decoded fall short of
that: a cut-off file (an interrupted download or copy) decodes to fewer frames than it declares.
Batch renders refuse such a file unless ``--allow-partial`` is given; the Ray driver's survey
decodes a file for chunking when it declares many frames or does not say."""

from __future__ import annotations

from fractions import Fraction

import av

from .transcode import Outcome


def declared_frames(container: av.container.InputContainer,
                    video: av.video.stream.VideoStream) -> tuple[int | None, bool]:
    """How many frames the container says the video has: (count, exact). Exact from the stream's
    frame count (MP4, MOV index); else estimated from its duration and rate (Matroska); else None."""
    if video.frames:
        return video.frames, True
    rate = video.average_rate or video.guessed_rate
    if not rate:
        return None, False
    if video.duration and video.time_base:
        return round(video.duration * video.time_base * rate), False
    if container.duration:
        return round(Fraction(container.duration, av.time_base) * rate), False
    return None, False


def declared_seconds(container: av.container.InputContainer, video: av.video.stream.VideoStream) -> float | None:
    """How long the container says the video lasts, in seconds (None: it does not say)."""
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def shortfall(outcome: Outcome, declaration: tuple[int | None, bool], container: av.container.InputContainer,
              video: av.video.stream.VideoStream) -> str | None:
    """Why the frames decoded look cut off, or None. ``declaration``: ``declared_frames`` of the input.
    A frame count the container states (MP4's index) is compared with the frames decoded; a duration
    (Matroska, WebM) with the time the decoded frames span, not with duration times the nominal
    rate, which is no frame count for variable frame rate video (phone and screen recordings)."""
    (declared, exact), decoded = declaration, outcome.frames_in
    if exact:
        return f"only {decoded} of the {declared} frames its container declares could be decoded" \
            if decoded < declared else None
    rate = float(video.average_rate or video.guessed_rate or 25)
    duration, covered = declared_seconds(container, video), outcome.covered(rate)
    if duration is None or covered is None:
        return None
    if covered >= duration * 0.95 - 2 / rate:  # durations are rounded, and the last frame's length guessed
        return None
    return f"the {decoded} frames decoded span only {covered:.2f} s of the {duration:.2f} s its container declares"
