"""Clip metrics that need no pretrained network."""

from __future__ import annotations

from typing import Iterable

import torch

from .engine.planning import Plan


def frame_differences(clip: torch.Tensor) -> torch.Tensor:
    """(T, C, H, W) -> (T,) mean absolute difference of each frame from the previous (0 for the first)."""
    diffs = (clip[1:].float() - clip[:-1].float()).abs().flatten(1).mean(1)
    return torch.cat([diffs.new_zeros(1), diffs])


def window_boundaries(plan: Plan) -> list[int]:
    """Frames t where the set of windows making frame t differs from that of frame t - 1."""
    def windows(t: int) -> set[int]:
        return {c.window for c in plan.contributions(t)}

    return [t for t in range(1, plan.length) if windows(t) != windows(t - 1)]


def seam_score(clip: torch.Tensor, boundaries: Iterable[int]) -> float:
    """Mean frame difference at the given boundaries divided by the mean elsewhere: about 1 when
    window changes are invisible, above 1 when they show as jumps."""
    diffs = frame_differences(clip)
    at = torch.zeros(len(diffs), dtype=torch.bool)
    at[list(boundaries)] = True
    at[0] = False
    inside = ~at
    inside[0] = False
    if not at.any() or not inside.any():
        raise ValueError("a seam score needs frames both at and away from window boundaries")
    return float(diffs[at].mean() / diffs[inside].mean())
