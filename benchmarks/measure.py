"""Measuring helpers shared by the benchmark commands: wall time and peak resident memory."""

from __future__ import annotations

import ctypes
import gc
import os
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_BYTES


def release_freed_memory() -> None:
    """Returns freed heap pages to the OS so the next measurement starts from a clean baseline."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_bytes: int = 0
    baseline_bytes: int = 0

    @property
    def peak_gib(self) -> float:
        return self.peak_bytes / 2**30


@contextmanager
def measured(interval: float = 0.005) -> Iterator[Measurement]:
    """Times the block and samples the process's resident memory every ``interval`` seconds."""
    release_freed_memory()
    result = Measurement(baseline_bytes=resident_bytes())
    result.peak_bytes = result.baseline_bytes
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result.peak_bytes = max(result.peak_bytes, resident_bytes())
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
        result.peak_bytes = max(result.peak_bytes, resident_bytes())


def median_call_seconds(network, x, repeats: int):
    """(median seconds of ``network(x)`` over ``repeats`` calls after one warm-up, the warm-up's
    output), without autograd."""
    import torch

    with torch.inference_mode():
        out = network(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            network(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times), out
