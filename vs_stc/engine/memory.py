"""Whether a window fits in memory, asked before anything runs: a window far too long would
otherwise fill the machine's memory (or take forever to) before failing.

The estimate is what one model run adds to a loaded network, measured for the released network
(512 x 512, 32 base channels, fp32, CPU; benchmarks/model_memory.py) and scaled with the window
length, the frame area, the base width and the bytes per value. In inference the full-resolution
levels run in temporal chunks (see models.temporal_chunks): the run holds two whole activations of
the outer level per frame plus what one chunk needs. The whole-clip path (``temporal_chunk =
None``) holds about five per frame."""

from __future__ import annotations

import os

import torch

from ..errors import OptionError
from .device import cpu_lanes
from .onnx_runtime import Network, OnnxNetwork, placement

# Bytes per pixel x base channel at fp32. In chunks: peaks of 0.80 GiB (T=8) and 1.75 GiB (T=24)
# above the loaded network (0.9 GiB, torch included), so 0.059 GiB per frame and 0.32 GiB for one
# chunk's buffers; over the whole clip: the 4.73 GiB peak at T=24, baseline included, so it errs high.
_UNIT = 512 * 512 * 32
CHUNKED_PER_FRAME = 0.0594 * 2**30 / _UNIT
CHUNKED_FIXED = 0.32 * 2**30 / _UNIT
WHOLE_CLIP_PER_FRAME = 4.73 * 2**30 / (24 * _UNIT)
# ONNX Runtime's CPU provider over the exported graph, every level whole: 2.19 GiB at T=8 and 5.31
# GiB at T=24 above the loaded session (benchmarks/onnx_runtime.py). The graph attends in query
# chunks (models/attention.py); graphs of the first export held the latent's whole tokens x tokens
# map (T / 2 x 64 x 64 tokens, squared, fp32: 9.0 GiB at T=24) on top.
ONNX_RUNTIME_PER_FRAME = 0.195 * 2**30 / _UNIT
ONNX_RUNTIME_FIXED = 0.63 * 2**30 / _UNIT
HEADROOM = 0.9  # leave a tenth of what is free to everything else
LARGE_RUN = 256 * 2**20
"""A model run estimated to add this much or more keeps glibc's large blocks out of its heap while
the engine runs (models/heap.py): the released network adds 0.8 GiB at T=8, of which glibc would
otherwise keep much as free heap. The bundled 64-pixel models add 6-25 MiB; for them the mapping
only costs page faults on every block of 1 MiB or more that decoding and face mode allocate (1080p
face mode: 3.7 million faults, a quarter of the render's CPU time; benchmarks/README.md)."""


def window_bytes(network: Network, window: int) -> int:
    """The estimated memory one model run over ``window`` frames adds to the loaded ``network``."""
    config = network.config
    scale = config.resolution**2 * config.base_channels * placement(network)[2].itemsize / 4
    if isinstance(network, OnnxNetwork):
        tokens = window // config.temporal_factor * config.latent_size**2
        whole_map = tokens**2 * placement(network)[2].itemsize if network.info.revision == 1 else 0
        return int((ONNX_RUNTIME_FIXED + ONNX_RUNTIME_PER_FRAME * window) * scale + whole_map)
    if network.temporal_chunk is None:
        return int(WHOLE_CLIP_PER_FRAME * window * scale)
    return int((CHUNKED_FIXED + CHUNKED_PER_FRAME * window) * scale)


def is_large_run(network: Network, window: int) -> bool:
    """Whether a run of ``network`` over ``window`` frames is large enough for the engine to keep
    large blocks out of the heap (``LARGE_RUN``)."""
    return window_bytes(network, window) >= LARGE_RUN


def available_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` (None when unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def check_window_fits(network: Network, window: int) -> None:
    """Refuses a window whose estimated memory exceeds what the device has free."""
    device = network.memory_device if isinstance(network, OnnxNetwork) else placement(network)[0]
    free = available_bytes(device)
    needed = window_bytes(network, window)
    if free is None or needed <= free * HEADROOM:
        return
    largest = _longest_window_within(network, free * HEADROOM, below=window)
    fix = (f"use a window of at most {largest}" if largest else
           "even a window of 2 frames does not fit: free memory, or run on another device")
    raise OptionError("window", f"of {window} frames needs about {needed / 2**30:.1f} GiB at "
                                f"{network.config.resolution} x {network.config.resolution}, but only "
                                f"{free / 2**30:.1f} GiB are free on {device}; {fix}")


def _longest_window_within(network: Network, budget: float, below: int) -> int:
    """The longest even window shorter than ``below`` whose estimate fits ``budget``; 0 if none
    (searched, not solved: a graph of the first export's estimate grows with the window squared)."""
    longest = 0
    for window in range(2, below, 2):
        if window_bytes(network, window) > budget:
            break
        longest = window
    return longest


def side_by_side_lanes(network: Network, window: int) -> int:
    """How many windows of ``network`` may run side by side (WindowRunner's lanes): on the CPU one
    per engine thread as the free memory allows; one elsewhere, and for ONNX Runtime, whose session
    has one thread pool for all its runs."""
    device = placement(network)[0]
    if device.type != "cpu" or isinstance(network, OnnxNetwork):
        return 1
    free = available_bytes(device)
    return cpu_lanes(window_bytes(network, window), None if free is None else free * HEADROOM)
