"""The seam score: frame differences at window boundaries relative to those inside windows."""

from __future__ import annotations

import pytest
import torch

from vs_stc.engine import plan
from vs_stc.metrics import frame_differences, seam_score, window_boundaries


def test_a_clip_that_jumps_at_every_window_start_scores_the_jump_ratio():
    # Brightness rises by 0.01 a frame and jumps by 0.05 at frames 8 and 16.
    levels = torch.arange(24) * 0.01 + 0.04 * (torch.arange(24) >= 8) + 0.04 * (torch.arange(24) >= 16)
    clip = levels.view(24, 1, 1, 1).expand(24, 3, 4, 4)
    assert frame_differences(clip)[8] == pytest.approx(0.05)
    assert seam_score(clip, [8, 16]) == pytest.approx(5.0)
    steady = (torch.arange(24) * 0.01).view(24, 1, 1, 1).expand(24, 3, 4, 4)
    assert seam_score(steady, [8, 16]) == pytest.approx(1.0, rel=1e-4)


def test_window_boundaries_are_where_the_serving_windows_change():
    assert window_boundaries(plan(48, window=24, overlap=0)) == [24]
    # Windows at 0 and 16 share frames 16..23: the handover starts at 16 and ends at 24.
    assert window_boundaries(plan(40, window=24, overlap=8)) == [16, 24]


def test_a_score_needs_frames_on_both_sides():
    with pytest.raises(ValueError):
        seam_score(torch.zeros(3, 1, 2, 2), [1, 2])
