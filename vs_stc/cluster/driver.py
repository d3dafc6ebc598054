"""The driver of a cluster render: plans the units of every file, hands them to the actors as
they free up (each holds one queued unit, so that writing a file never leaves it idle), stores
each finished unit as a part, and writes a file as soon as all its parts are there, through the
local render's own transcoding loop (its streams, metadata, checks and summary)."""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import av

from ..compare_stills import Comparison, compare_paths
from ..encoding import Encoder
from ..engine.onnx_runtime import check_graph_precision, choose_provider
from ..errors import InputError, OptionError, STCError
from ..faces.stream import FaceCounts
from ..jobs import Job, Result, collect_inputs, failure_text, plan_jobs
from ..options import RunOptions
from ..outputs import check_output
from ..render_file import render_file
from .packing import Rebuilt
from .parts import Parts
from .runtime import ray_runtime, size_workers, start_workers
from .survey import survey
from .units import CHUNK_FRAMES, Unit, chunks

QUEUED_PER_ACTOR = 2


@dataclass
class FileRender:
    job: Job
    units: list[Unit]
    parts: Parts
    total: int | None  # frames, for the progress bar (None: the container does not say)
    pending: set[str] = field(default_factory=set)  # names of the units not stored yet
    seconds: float = 0.0  # the workers' time on its units
    error: str | None = None


class PartsRestorer:
    """Plays a file's stored parts back to the transcoding loop in place of the model (the workers
    found the cuts: none are looked for here)."""

    cuts = "off"

    def __init__(self, parts: Parts, units: list[Unit]) -> None:
        self.parts, self.units = parts, units
        counts = [parts.header(unit)["counts"] for unit in units]  # face mode's, per unit
        self.counts = None
        if all(counts):
            self.counts = FaceCounts(**{name: sum(c[name] for c in counts) for name in counts[0]})

    def check(self, height: int, width: int) -> None:
        """The workers checked the frame size."""

    def __call__(self, frames: Iterable, cuts: object = ()) -> Iterator[Rebuilt]:
        made = self.parts.frames(self.units)
        for _ in frames:
            frame = next(made, None)
            if frame is None:
                raise InputError("the rendered parts hold fewer frames than the input has (was it replaced while "
                                 "rendering?); run the render again")
            yield frame


def plan_file(index: int, job: Job, options: RunOptions, encoder: Encoder, chunk_frames: int) -> FileRender:
    """Units of one file: chunks for a long video, else the whole file."""
    info = survey(job.source, encoder, chunk_frames, find_cuts=options.cuts == "auto")
    if info.input_error:
        raise InputError(f"the input is damaged after frame {info.frames} ({info.input_error})")
    if info.frames > chunk_frames:
        units = []
        for start, stop, first, last in chunks(info.frames, options, info.cuts, chunk_frames):
            seek_pts, first_pts = info.seek_point(first)
            units.append(Unit(index, str(job.source), info.pix_fmt, start, stop, info.frames, first, last,
                              seek_pts, first_pts, info.cuts))
        total = info.frames
    else:
        units = [Unit(index, str(job.source), info.pix_fmt)]
        total = info.frames or info.declared
    stat = job.source.stat()
    fingerprint = {"source": str(job.source), "size": stat.st_size, "modified": stat.st_mtime_ns,
                   "options": dataclasses.asdict(options), "units": [[u.start, u.stop] for u in units],
                   "pix_fmt": info.pix_fmt}
    return FileRender(job, units, Parts(job.target, fingerprint), total)


def run_cluster_batch(
    inputs: list[str],
    output: Path,
    options: RunOptions,
    encoder: Encoder,
    *,
    address: str | None = None,
    device: str | None = None,
    provider: str | None = None,
    threads: int | None = None,
    overwrite: bool = False,
    compare: Path | None = None,
    compare_frame: int | None = None,
    quiet: bool = False,
    allow_partial: bool = False,
    resume: bool = False,
    chunk_frames: int = CHUNK_FRAMES,
    on_unit: Callable[[Unit, list], None] | None = None,
) -> list[Result]:
    """``run_batch`` on a Ray cluster: the same outputs and summary. ``device``: --device as given
    (None: a GPU per worker where the cluster has GPUs). ``provider``: --provider as given, for the
    onnxruntime backend (None: the best installed), chosen for the workers' device, which the
    driver's own may not be. ``threads``: PyTorch threads per CPU worker
    (None: a local render's here, which makes every file identical to a local render). ``resume``:
    keep finished outputs and the parts of unfinished ones. ``on_unit(unit, actors)`` follows each stored unit."""
    from tqdm import tqdm

    if resume and overwrite:
        raise OptionError("resume", "keeps finished outputs, {overwrite} replaces them; choose one",
                          related=("overwrite",))
    files, results = collect_inputs(inputs)
    jobs, refused = plan_jobs(files, output)
    encoder.check({job.target.suffix.lower() for job in jobs})
    stills = compare_paths(jobs, compare, overwrite or resume)
    results += refused
    finished: dict[Job, Result] = {}
    with ray_runtime(address):
        workers = size_workers(device, threads)
        if options.precision == "fp16" and workers.device == "cpu":
            raise OptionError("precision", "fp16 runs on CUDA only and the Ray workers run on the CPU; use bf16 or "
                                           "fp32, or give them GPUs")
        options = dataclasses.replace(options, device=workers.device)
        if options.backend == "onnxruntime":
            chosen = choose_provider(provider or "auto", workers.device)
            check_graph_precision(options.precision, chosen)
            options = dataclasses.replace(options, provider=chosen)
        renders: list[FileRender] = []
        for index, job in enumerate(jobs):
            if resume and job.target.is_file():
                finished[job] = Result(job.source, job.target, note="finished by an earlier run, kept (--resume)")
                continue
            try:
                check_output(job.target, [job.source], overwrite)
                file = plan_file(index, job, options, encoder, chunk_frames)
                job.target.parent.mkdir(parents=True, exist_ok=True)
                file.parts.open(resume)
                renders.append(file)
            except (OSError, av.FFmpegError, STCError) as error:
                finished[job] = Result(job.source, job.target, error=failure_text(error))

        def write(file: FileRender) -> None:
            comparison = Comparison(stills[file.job], compare_frame) if file.job in stills else None
            result = render_file(file.job, PartsRestorer(file.parts, file.units), encoder, overwrite, comparison,
                                 lambda count: None, allow_partial=allow_partial)
            result.seconds += file.seconds
            if not result.error:
                file.parts.remove()
            finished[file.job] = result

        queue: deque[Unit] = deque()
        bar = tqdm(total=sum(f.total or 0 for f in renders), unit="frame", desc="all files", disable=quiet)
        for file in renders:
            for unit in file.units:
                if file.parts.done(unit):
                    header = file.parts.header(unit)
                    file.seconds += header["seconds"]
                    bar.update(header["frames"])
                else:
                    file.pending.add(unit.name)
                    queue.append(unit)
            if not file.pending:
                write(file)
        if queue:
            by_job = {file.units[0].job: file for file in renders}
            actors = start_workers(options, workers)
            try:
                _dispatch(queue, actors, by_job, bar, write, on_unit)
            finally:  # an interrupted render leaves no worker holding a joined cluster's resources
                _stop(actors)
        bar.close()
    for file in renders:  # a file whose units failed; its finished parts stay for --resume
        if file.job not in finished:
            if not any(file.parts.done(unit) for unit in file.units):
                file.parts.remove()
            finished[file.job] = Result(file.job.source, file.job.target, seconds=file.seconds, error=file.error)
    results += [finished[job] for job in jobs]
    return results


def _dispatch(queue: deque[Unit], actors: list, by_job: dict[int, FileRender], bar, write: Callable[[FileRender], None],
              on_unit: Callable[[Unit, list], None] | None) -> None:
    import ray

    in_flight: dict = {}
    load = {id(actor): 0 for actor in actors}
    while queue or in_flight:
        for actor in actors:
            while load[id(actor)] < QUEUED_PER_ACTOR and queue:
                unit = queue.popleft()
                if by_job[unit.job].error:
                    continue
                in_flight[actor.render.options(retry_exceptions=True).remote(unit)] = (unit, actor)
                load[id(actor)] += 1
        if not in_flight:
            for unit in queue:
                by_job[unit.job].error = by_job[unit.job].error or "every Ray worker was lost; run again with --resume"
            break
        [ready], _ = ray.wait(list(in_flight), num_returns=1)
        unit, actor = in_flight.pop(ready)
        load[id(actor)] -= 1
        file = by_job[unit.job]
        try:
            payload, error = ray.get(ready)
        except ray.exceptions.ActorDiedError as lost:
            if actor in actors:
                actors.remove(actor)
            payload, error = None, f"its Ray worker was lost and did not come back ({_last_line(lost)})"
        except ray.exceptions.RayError as lost:
            payload, error = None, f"its unit failed after Ray's retries ({_last_line(lost)})"
        if error:
            file.error = file.error or error
            continue
        file.parts.store(unit, payload)
        header = file.parts.header(unit)
        file.seconds += header["seconds"]
        bar.update(header["frames"])
        file.pending.discard(unit.name)
        if on_unit:
            on_unit(unit, actors)
        if not file.pending and not file.error:
            write(file)


def _stop(actors: list) -> None:
    import ray

    for actor in actors:
        ray.kill(actor, no_restart=True)


def _last_line(error: Exception) -> str:
    return str(error).strip().splitlines()[-1]
