"""glibc's mmap threshold, which the engine sets once when it runs a large network on the CPU
(engine/memory.py, ``LARGE_RUN``) and gives back with its other process-wide settings
(device.release).

glibc serves allocations below an adaptive threshold (which climbs to 32 MiB as blocks of up to
that size are freed) from its heap and keeps them once freed: much of the peak of the
released-size network's chunked levels (temporal_chunks.py) was free heap, malloc_trim or not.
With the threshold fixed at 1 MiB, blocks from 1 MiB up are mapped on their own and unmapped
when freed (the figures: benchmarks/README.md, "Memory: the full-resolution levels in temporal
chunks").

glibc has no call that reads the threshold or turns its adaptive rise back on, so giving back means
setting the value a process starts with: MALLOC_MMAP_THRESHOLD_ from the environment, else glibc's
default, 128 KiB. No-op without glibc.
"""

from __future__ import annotations

import ctypes
import os
import threading

try:
    _LIBC = ctypes.CDLL("libc.so.6")
    _LIBC.mallopt, _LIBC.malloc_trim  # glibc's, or not glibc
except (OSError, AttributeError):
    _LIBC = None

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
SMALL_BLOCK = 1 << 20
GLIBC_DEFAULT_THRESHOLD = 128 << 10
ENVIRONMENT_SETTING = "MALLOC_MMAP_THRESHOLD_"

_set = False
_lock = threading.Lock()


def keep_small() -> None:
    """From now on, blocks of 1 MiB and more are mapped on their own (once; ``give_back`` undoes it)."""
    global _set
    with _lock:
        if _LIBC is not None and not _set:
            _LIBC.mallopt(M_MMAP_THRESHOLD, SMALL_BLOCK)
            _set = True


def give_back() -> None:
    """The threshold a process starts with, if ``keep_small`` changed it."""
    global _set
    with _lock:
        if _set:
            _LIBC.mallopt(M_MMAP_THRESHOLD, starting_threshold())
            _set = False


def starting_threshold() -> int:
    setting = os.environ.get(ENVIRONMENT_SETTING, "")
    return int(setting) if setting.isdigit() else GLIBC_DEFAULT_THRESHOLD


def trim() -> None:
    """Hands the heap's free memory back to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
