"""``--compare``: one frame before and after restoration, side by side in a PNG file, for each
file a batch render (local or on a Ray cluster) writes. The still's names are checked before
anything is rendered; a still that cannot be written is noted in the summary, never fails a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av

from .errors import OptionError
from .images import side_by_side, write_png
from .jobs import Job
from .outputs import check_output


def compare_paths(jobs: list[Job], compare: Path | None, overwrite: bool) -> dict[Job, Path]:
    """The before/after still of each job: ``compare`` for one job, else one per output file
    (``look-NAME.EXT.png``). Refused before anything is rendered: a name that is not .png, a missing
    folder, a still that would replace an input or an output, or an existing file without
    ``overwrite``."""
    if compare is None:
        return {}
    if compare.suffix.lower() != ".png":
        raise OptionError("compare", f"must be a .png file name, not {compare.name!r}")
    if not compare.parent.is_dir():
        raise OptionError("compare", f"the folder {compare.parent} does not exist")
    stills = {job: compare if len(jobs) == 1 else compare.with_name(f"{compare.stem}-{job.target.name}.png")
              for job in jobs}
    protected = [path for job in jobs for path in (job.source, job.target)]
    for still in stills.values():
        check_output(still, protected, overwrite, what="the --compare still")
    return stills


@dataclass
class Comparison:
    """Grabs one frame before and after restoration and writes them side by side."""

    path: Path
    frame: int | None  # None: the middle of the clip (or the first when the length is unknown)
    chosen: int = field(default=0, init=False)
    written: bool = field(default=False, init=False)
    error: str | None = field(default=None, init=False)

    def start(self, total: int | None) -> None:
        self.chosen = self.frame if self.frame is not None else (total // 2 if total else 0)

    def __call__(self, count: int, source: av.VideoFrame, restored: av.VideoFrame) -> None:
        if count - 1 != self.chosen:
            return
        before = source.to_ndarray(format="rgb24")
        after = restored.to_ndarray(format="rgb24")
        try:
            write_png(side_by_side(before, after), self.path)
            self.written = True
        except (OSError, av.FFmpegError) as error:  # a still is not worth the render
            self.error = f"could not write the --compare still {self.path}: {error}"

    def note(self, frames: int) -> str | None:
        if self.error:
            return self.error
        if not self.written:
            return f"no --compare still: frame {self.chosen} is past the last frame ({frames - 1})"
        return None
