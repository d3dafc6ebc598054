"""Batch renders for ``stc restore|deflicker INPUT... -o OUT``: which files go where (``jobs``), one
render per file (through the shared transcoding loop), and a summary. A failing file never stops the batch.

Audio, subtitle and data streams and container metadata are copied (``encoding``: how the video
is encoded). Outputs are written under a temporary name and renamed when complete; inputs are never
overwritten, existing outputs only with ``--overwrite``. An input that decodes to fewer frames than
its container declares (a cut-off download) fails unless ``allow_partial`` is given.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import av
from tqdm import tqdm

from .compare_stills import Comparison, compare_paths
from .declared_length import declared_frames, shortfall
from .encoding import Encoder
from .errors import InputError, STCError
from .jobs import Job, Result, collect_inputs, failure_text, plan_jobs
from .outputs import check_output, written_atomically
from .transcode import transcode


def render(
    job: Job,
    restore,
    encoder: Encoder,
    overwrite: bool,
    comparison: Comparison | None,
    on_frames: Callable[[int], None],
    total_hint: Callable[[int | None], None] = lambda total: None,
    allow_partial: bool = False,
) -> Result:
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


def run_batch(
    inputs: list[str],
    output: Path,
    restore,
    encoder: Encoder,
    *,
    overwrite: bool = False,
    compare: Path | None = None,
    compare_frame: int | None = None,
    quiet: bool = False,
    allow_partial: bool = False,
) -> list[Result]:
    """Renders every input; a file that fails is reported and the rest go on. Mistakes that would
    fail every file (encoder options, the --compare name, -o) are refused before the first."""
    files, results = collect_inputs(inputs)
    jobs, refused = plan_jobs(files, output)
    encoder.check({job.target.suffix.lower() for job in jobs})
    stills = compare_paths(jobs, compare, overwrite)
    results += refused
    overall = tqdm(total=len(jobs), unit="file", desc="all files", disable=quiet, position=0)
    for job in jobs:
        comparison = Comparison(stills[job], compare_frame) if job in stills else None
        bar = tqdm(unit="frame", desc=job.source.name, disable=quiet, position=1, leave=False)

        def set_total(total: int | None, bar=bar) -> None:
            bar.total = total
            bar.refresh()

        result = render(job, restore, encoder, overwrite, comparison, bar.update, set_total, allow_partial)
        bar.close()
        overall.update(1)
        results.append(result)
    overall.close()
    return results
