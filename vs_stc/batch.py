"""Batch renders for ``stc restore|deflicker INPUT... -o OUT``: which files go where, one render per
file (through the shared transcoding loop), and a summary. A failing file never stops the batch.

Encoding defaults: H.264 (libx264), CRF 18, preset medium, the input's pixel format when libx264
takes it (else yuv420p); audio, subtitle and data streams and container metadata are copied.
Outputs are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
from tqdm import tqdm

from .errors import InputError, OptionError, STCError
from .images import side_by_side, write_png
from .transcode import VideoEncoding, transcode

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                    ".y4m", ".nut", ".flv", ".wmv", ".3gp"}
KEPT_CONTAINERS = {".mp4", ".mkv", ".mov"}  # other inputs become .mkv, which holds any copied stream
CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class Result:
    source: Path
    target: Path | None = None
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Encoder:
    codec: str = "libx264"
    crf: int | None = 18
    pix_fmt: str | None = None
    preset: str | None = "medium"

    def for_input(self, video: av.video.stream.VideoStream) -> VideoEncoding:
        try:
            codec = av.codec.Codec(self.codec, "w")
        except (av.FFmpegError, ValueError) as error:
            raise OptionError("codec", f"{self.codec!r} is not an encoder this FFmpeg has ({error})") from error
        supported = {f.name for f in codec.video_formats or ()}
        pix_fmt = self.pix_fmt or video.codec_context.format.name
        if not self.pix_fmt and supported and pix_fmt not in supported:
            pix_fmt = "yuv420p" if "yuv420p" in supported else sorted(supported)[0]
        options = {}
        if self.crf is not None and self.codec in CRF_CODECS:
            options["crf"] = str(self.crf)
        if self.preset and self.codec in ("libx264", "libx265"):
            options["preset"] = self.preset
        return VideoEncoding(self.codec, pix_fmt, options)


def collect_inputs(arguments: list[str]) -> tuple[list[Path], list[Result]]:
    """Files, folders (searched for videos) and glob patterns -> input files; missing ones fail."""
    found: list[Path] = []
    missing: list[Result] = []
    for argument in arguments:
        path = Path(argument)
        if glob.has_magic(argument):
            matches = [Path(p) for p in sorted(glob.glob(argument, recursive=True)) if Path(p).is_file()]
            found += matches
            if not matches:
                missing.append(Result(path, error="no file matches this pattern"))
        elif path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            missing.append(Result(path, error="no such file or folder"))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def plan_jobs(inputs: list[Path], output: Path) -> tuple[list[Job], list[Result]]:
    """One input and a video file name -> that file; otherwise ``output`` is a folder."""
    single_file = len(inputs) == 1 and output.suffix.lower() in VIDEO_EXTENSIONS
    jobs, refused = [], []
    taken: set[Path] = set()
    sources = set(inputs)
    for source in inputs:
        if single_file:
            target = output
        else:
            extension = source.suffix.lower() if source.suffix.lower() in KEPT_CONTAINERS else ".mkv"
            target = output / f"{source.stem}{extension}"
        target = target.resolve()
        if target in sources:
            refused.append(Result(source, error=f"the output {target} would overwrite an input; choose another -o"))
        elif target in taken:
            refused.append(Result(source, error=f"another input already writes {target}; give inputs distinct names"))
        else:
            taken.add(target)
            jobs.append(Job(source, target))
    return jobs, refused


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.stem}.partial{target.suffix}")


@dataclass
class Comparison:
    """Grabs one frame before and after restoration and writes them side by side."""

    path: Path
    frame: int | None  # None: the middle of the clip (or the first when the length is unknown)
    chosen: int = field(default=0, init=False)
    written: bool = field(default=False, init=False)

    def start(self, total: int | None) -> None:
        self.chosen = self.frame if self.frame is not None else (total // 2 if total else 0)

    def __call__(self, count: int, source: av.VideoFrame, restored: av.VideoFrame) -> None:
        if count - 1 == self.chosen:
            before = source.to_ndarray(format="rgb24")
            after = restored.to_ndarray(format="rgb24")
            write_png(side_by_side(before, after), self.path)
            self.written = True


def render(
    job: Job,
    restore,
    encoder: Encoder,
    overwrite: bool,
    comparison: Comparison | None,
    on_frames: Callable[[int], None],
    total_hint: Callable[[int | None], None] = lambda total: None,
) -> Result:
    result = Result(job.source, job.target)
    if job.target.exists() and not overwrite:
        result.error = f"{job.target} exists; pass --overwrite to replace it"
        return result
    partial = partial_path(job.target)
    start = time.monotonic()
    try:
        job.target.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(job.source)) as source:
            if not source.streams.video:
                raise InputError("the file has no video stream")
            video = source.streams.video[0]
            total = video.frames or None
            total_hint(total)
            if comparison:
                comparison.start(total)
            encoding = encoder.for_input(video)

            def follow(count: int, before: av.VideoFrame, after: av.VideoFrame) -> None:
                on_frames(1)
                if comparison:
                    comparison(count, before, after)

            with av.open(str(partial), mode="w") as sink:  # the container follows the extension
                outcome = transcode(source, sink, restore, encoding, on_frame=follow)
        result.frames = outcome.frames_out
        if outcome.input_error:
            raise InputError(f"the input is damaged after frame {outcome.frames_in} ({outcome.input_error})")
        os.replace(partial, job.target)
        if comparison and not comparison.written:
            result.note = f"no --compare still: frame {comparison.chosen} is past the last frame ({result.frames - 1})"
    except OSError as error:
        result.error = "the disk is full" if error.errno == 28 else f"{error.strerror or error}"
    except (av.FFmpegError, STCError) as error:
        result.error = f"unreadable or unsupported video: {error}" if isinstance(error, av.FFmpegError) else str(error)
    finally:
        result.seconds = time.monotonic() - start
        if partial.exists():
            partial.unlink()
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
) -> list[Result]:
    files, results = collect_inputs(inputs)
    jobs, refused = plan_jobs(files, output)
    results += refused
    overall = tqdm(total=len(jobs), unit="file", desc="all files", disable=quiet, position=0)
    for job in jobs:
        comparison = None
        if compare is not None:
            path = compare if len(jobs) == 1 else compare.with_name(f"{compare.stem}-{job.source.stem}{compare.suffix}")
            comparison = Comparison(path, compare_frame)
        bar = tqdm(unit="frame", desc=job.source.name, disable=quiet, position=1, leave=False)

        def set_total(total: int | None, bar=bar) -> None:
            bar.total = total
            bar.refresh()

        result = render(job, restore, encoder, overwrite, comparison, bar.update, set_total)
        bar.close()
        overall.update(1)
        results.append(result)
    overall.close()
    return results


def summary(results: list[Result]) -> str:
    lines = []
    for r in results:
        if r.error:
            lines.append(f"FAILED  {r.source}: {r.error}")
        else:
            fps = r.frames / r.seconds if r.seconds else 0.0
            lines.append(f"ok      {r.source} -> {r.target}  ({r.frames} frames, {r.seconds:.1f} s, {fps:.2f} fps)"
                         + (f"; {r.note}" if r.note else ""))
    done = [r for r in results if not r.error]
    frames = sum(r.frames for r in done)
    seconds = sum(r.seconds for r in done)
    lines.append(f"{len(done)} of {len(results)} files restored, {frames} frames in {seconds:.1f} s")
    return "\n".join(lines)
