"""Which files a batch render (local or on a Ray cluster) restores and where each one is written
(``Job``), and what became of each (``Result``, ``failure_text``).

Inputs are files, folders (searched for videos) and glob patterns; an output names one video file
or a folder. Inputs are never overwritten, and no two inputs write the same output.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import av

from .errors import OptionError, STCError
from .media.files import CONTAINER_FORMATS, KEPT_CONTAINERS, VIDEO_EXTENSIONS


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
            videos = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
            found += videos
            if not videos:
                missing.append(Result(path, error=f"no video files in this folder (looked for "
                                                  f"{', '.join(sorted(VIDEO_EXTENSIONS))})"))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(Result(path, error="no such file or folder"))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def plan_jobs(inputs: list[Path], output: Path) -> tuple[list[Job], list[Result]]:
    """One input and a video file name -> that file; otherwise ``output`` is a folder."""
    names_a_file = output.suffix.lower() in VIDEO_EXTENSIONS and not output.is_dir()
    if output.suffix and not names_a_file and not output.is_dir():
        raise OptionError("output", f"{output.name!r} ends in {output.suffix!r}, which is not a video file vs-stc "
                                    f"writes ({', '.join(sorted(CONTAINER_FORMATS))}); give one of those, or a folder "
                                    "(a new folder's name without an extension, or one that exists)")
    if names_a_file and len(inputs) > 1:
        raise OptionError("output", f"{output} names one video file, but {len(inputs)} inputs were found; give a "
                                    "folder to write them into")
    single_file = names_a_file and len(inputs) == 1
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


def failure_text(error: Exception) -> str:
    """What a summary says about a file that failed with ``error``."""
    if isinstance(error, STCError):
        return str(error)
    if isinstance(error, OSError):
        text = "the disk is full" if error.errno == 28 else f"{error.strerror or error}"
        return f"{text}: {error.filename}" if error.filename else text
    if isinstance(error, av.FFmpegError):
        return f"unreadable or unsupported video: {error}"
    return str(error)
