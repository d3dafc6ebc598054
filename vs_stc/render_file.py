"""One file of a batch render (local or on a Ray cluster): its input, restored, through the
shared transcoding loop into its output file, and what became of it (a ``Result``).

Audio, subtitle and data streams and container metadata are copied (``encoding``: how the video
is encoded). The output is written under a temporary name and renamed when complete; the input is
never overwritten, an existing output only with ``--overwrite``. An input that decodes to fewer
frames than its container declares (a cut-off download) fails unless ``allow_partial`` is given.
"""

from __future__ import annotations

import time
from typing import Callable

import av

from .compare_stills import Comparison
from .declared_length import declared_frames, shortfall
from .encoding import Encoder
from .errors import InputError, STCError
from .jobs import Job, Result, failure_text
from .outputs import check_output, written_atomically
from .transcode import transcode


def render_file(
    job: Job,
    restore,
    encoder: Encoder,
    overwrite: bool,
    comparison: Comparison | None,
    on_frames: Callable[[int], None],
    total_hint: Callable[[int | None], None] = lambda total: None,
    allow_partial: bool = False,
) -> Result:
    """Restores ``job``'s input into its output file. ``on_frames(1)`` follows every frame restored,
    ``total_hint`` gets the frames the input declares; a failure is the result's error, not raised."""
    result = Result(job.source, job.target)
    start = time.monotonic()
    try:
        check_output(job.target, [job.source], overwrite)
        job.target.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(job.source)) as source:
            if not source.streams.video:
                raise InputError("the file has no video stream")
            video = source.streams.video[0]
            declared, exact = declared_frames(source, video)
            total_hint(declared)
            if comparison:
                comparison.start(declared)
            encoding = encoder.for_input(video)
            if len(source.streams.video) > 1:
                result.note = f"restored the first of {len(source.streams.video)} video streams, dropped the others"

            def follow(count: int, before: av.VideoFrame, after: av.VideoFrame) -> None:
                on_frames(1)
                if comparison:
                    comparison(count, before, after)

            with written_atomically(job.target) as partial:
                with av.open(str(partial), mode="w") as sink:  # the container follows the extension
                    outcome = transcode(source, sink, restore, encoding, on_frame=follow)
                result.frames = outcome.frames_out
                if outcome.input_error:
                    raise InputError(f"the input is damaged after frame {outcome.frames_in} ({outcome.input_error})")
                if short := shortfall(outcome, (declared, exact), source, video):
                    short += " (a cut-off file?)"
                    if not allow_partial:
                        raise InputError(f"{short}; pass --allow-partial to keep what was decoded")
                    result.note = f"PARTIAL: {short}" + (f"; {result.note}" if result.note else "")
        if counts := restore.counts:  # face mode
            result.note = f"{result.note}; {counts.describe()}" if result.note else counts.describe()
        if comparison and (note := comparison.note(result.frames)):
            result.note = f"{result.note}; {note}" if result.note else note
    except (OSError, av.FFmpegError, STCError) as error:
        result.error = failure_text(error)
    finally:
        result.seconds = time.monotonic() - start
    return result
