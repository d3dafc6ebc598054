"""Batch renders on this machine, for ``stc restore|deflicker INPUT... -o OUT``: the files in
turn (``jobs``: which files go where; ``render_file``: one file), with progress bars. A failing file
never stops the batch; ``summary`` reports them all.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from .compare_stills import Comparison, compare_paths
from .encoding import Encoder
from .jobs import Result, collect_inputs, plan_jobs
from .render_file import render_file


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

        result = render_file(job, restore, encoder, overwrite, comparison, bar.update, set_total, allow_partial)
        bar.close()
        overall.update(1)
        results.append(result)
    overall.close()
    return results
