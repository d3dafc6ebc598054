"""What a surface owns for its lifetime, given back when it ends.

``with vs_stc.runtime(): ...`` (the command lines' ``main`` run in one): the device worker threads
the engine starts end, and PyTorch's thread count, which the engine sets from the cores this
process may use, is what it was before. Importing vs_stc changes nothing in the process. Not given
back: glibc's mmap threshold, which the CPU forward pass fixes at the value its adaptive rule
settles on (models/temporal_chunks.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def runtime() -> Iterator[None]:
    """Runs the block; afterwards the engine's threads are gone and PyTorch's thread count restored.
    A block that never loaded the engine (``--help``, listing weights) has nothing to give back and
    does not import PyTorch for it."""
    try:
        yield
    finally:
        device = sys.modules.get("vs_stc.engine.device")
        if device is not None:
            device.release()
