"""Whether a window fits in memory, asked before anything runs: a window far too long would
otherwise fill the machine's memory (or take forever to) before failing.

The estimate scales the measured peak of the released network (4.73 GiB for a 24-frame window at
512 x 512 with 32 base channels, fp32, CPU; benchmarks/model_memory_and_speed.py) with the window
length, the frame area, the base width and the bytes per value."""

from __future__ import annotations

import os

import torch

from ..errors import OptionError
from ..models import STCNet

BYTES_PER_UNIT = 4.73 * 2**30 / (24 * 512 * 512 * 32)  # per frame x pixel x base channel, fp32
HEADROOM = 0.9  # leave a tenth of what is free to everything else


def window_bytes(network: STCNet, window: int) -> int:
    """The estimated peak memory of one model run over ``window`` frames."""
    config = network.config
    element = next(network.parameters()).element_size()
    return int(BYTES_PER_UNIT * window * config.resolution**2 * config.base_channels * element / 4)


def available_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` (None when unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def check_window_fits(network: STCNet, window: int) -> None:
    """Refuses a window whose estimated memory exceeds what the device has free."""
    device = next(network.parameters()).device
    free = available_bytes(device)
    needed = window_bytes(network, window)
    if free is None or needed <= free * HEADROOM:
        return
    per_frame = window_bytes(network, 1)
    largest = int(free * HEADROOM // per_frame) // 2 * 2
    raise OptionError("window", f"of {window} frames needs about {needed / 2**30:.1f} GiB at "
                                f"{network.config.resolution} x {network.config.resolution}, but only "
                                f"{free / 2**30:.1f} GiB are free on {device}; use a window of at most {largest}")
