"""Joining or starting the Ray runtime, and sizing the workers to what the cluster has: one actor
per GPU (``num_gpus=1``) where there are GPUs and the model runs on CUDA, else CPU actors whose
PyTorch threads match the CPUs they reserve, so that no node is oversubscribed.

A CPU actor runs as many PyTorch threads as a local render on the driver's machine does (unless
told otherwise): CPU kernels may sum in another order at another thread count, so only then is a
file rendered in chunks over the cluster bit-identical to a local render of it (on the same kind of
CPU; see "Determinism" in the README)."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from ..engine.device import intra_op_threads
from ..errors import OptionError
from ..options import RunOptions
from .worker import Renderer

RESTARTS = 3  # a lost actor comes back this often; a unit lost with it is run again as often


@contextmanager
def ray_runtime(address: str | None) -> Iterator[None]:
    """Joins the cluster at ``address`` (or ``RAY_ADDRESS``); without either, starts a local
    runtime for this render and removes it (and its session files) afterwards. A runtime this
    process already joined is used as it is."""
    import ray

    if ray.is_initialized():
        yield
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    settings = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    scratch = None
    if address is None:
        scratch = tempfile.mkdtemp(prefix="stc-ray-")
        ray.init(address="local", _temp_dir=scratch, **settings)
    else:
        try:
            ray.init(address=address, **settings)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise OptionError("ray", f"cannot join the Ray cluster at {address!r} ({error}); start it with "
                                     "`ray start --head` or give its address (host:6379)") from error
    try:
        yield
    finally:
        ray.shutdown()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class Workers:
    count: int
    cpus: int
    gpus: int
    device: str


def size_workers(requested_device: str | None, threads: int | None = None) -> Workers:
    """How many actors, and what each reserves: ``requested_device`` is --device as given (None:
    CUDA when the cluster has GPUs, else the CPU); ``threads``: PyTorch threads per CPU actor (None:
    as many as a local render here uses)."""
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    wants_cuda = requested_device.startswith("cuda") if requested_device else gpus > 0
    if wants_cuda:
        if not gpus:
            raise OptionError("device", f"is {requested_device!r} but the Ray cluster has no GPUs; use cpu")
        return Workers(gpus, 1, 1, "cuda")
    nodes = [node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]]
    cpus = [int(c) for c in nodes if c >= 1]
    if not cpus:
        raise OptionError("ray", "the Ray cluster has no CPUs to run workers on")
    if threads is None:
        threads = min(intra_op_threads(), max(cpus))
    elif threads < 1:
        raise OptionError("ray_threads", f"must be 1 or more, not {threads}")
    count = sum(c // threads for c in cpus)
    if not count:
        raise OptionError("ray_threads", f"is {threads} but no node of the Ray cluster has that many CPUs (the "
                                         f"largest has {max(cpus)}); give --ray-threads {max(cpus)} or fewer")
    return Workers(count, threads, 0, "cpu")


def start_workers(options: RunOptions, workers: Workers) -> list:
    """The actors, each with the model loaded on its own device (Ray's CUDA_VISIBLE_DEVICES makes
    its GPU cuda:0)."""
    import ray

    remote = ray.remote(Renderer).options(num_cpus=workers.cpus, num_gpus=workers.gpus, max_restarts=RESTARTS,
                                          max_task_retries=RESTARTS)
    on_device = dataclasses.replace(options, device=workers.device)
    return [remote.remote(on_device, workers.cpus) for _ in range(workers.count)]
