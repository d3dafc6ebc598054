"""What a surface owns for its lifetime, given back when it ends.

``with vs_stc.runtime(): ...`` (the command lines' ``main`` run in one): the device worker threads
the engine starts end, PyTorch's thread count, which the engine sets from the cores this process
may use, is what it was before, and glibc's mmap threshold, which the engine fixes while it runs
a large network on the CPU, is the one a process starts with (glibc cannot report the previous
one, nor turn its adaptive rise back on: models/heap.py). Importing vs_stc changes nothing in the
process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def runtime() -> Iterator[None]:
    """Runs the block; afterwards the engine's threads are gone, PyTorch's thread count and the heap
    setting restored.
    A block that never loaded the engine (``--help``, listing weights) has nothing to give back and
    does not import PyTorch for it."""
    try:
        yield
    finally:
        device = sys.modules.get("vs_stc.engine.device")
        if device is not None:
            device.release()
