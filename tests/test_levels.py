"""Keep detail's level anchoring: the input decides a window's level, the model each frame's gain."""

from __future__ import annotations

import pytest
import torch

from vs_stc.engine.levels import anchor_levels, frame_levels, steady_frames


def window(levels: list[float]) -> torch.Tensor:
    """(3, T, 8, 8) frames of a fixed pattern at the given mean levels."""
    pattern = torch.linspace(0.5, 1.5, 64).view(1, 1, 8, 8).expand(3, 1, 8, 8)
    return torch.cat([pattern * level for level in levels], dim=1)


def test_frame_levels_are_mean_luma():
    assert frame_levels(window([0.2, 0.4])).tolist() == pytest.approx([0.2, 0.4])


def test_steady_frames_are_the_largest_agreeing_group_even_when_flickered_frames_are_half():
    assert steady_frames(torch.tensor([0.9, 1.3, 0.9, 0.6])).tolist() == [True, False, True, False]
    assert steady_frames(torch.tensor([1.1, 1.105, 1.4, 0.7, 1.098])).tolist() == [True, True, False, False, True]


def test_a_biased_noisy_model_is_brought_to_the_input_level_keeping_its_gains():
    clean = [0.40, 0.41, 0.42, 0.43]
    flickered = [0.40, 0.41 * 1.3, 0.42, 0.43 * 0.7]  # the input: frames 1 and 3 flicker
    model = [0.9 * level * noise for level, noise in zip(clean, (1.004, 0.997, 0.996, 1.0))]  # 10% too dark
    anchored = frame_levels(anchor_levels(window(model), window(flickered))).tolist()
    assert anchored[0] == pytest.approx(clean[0], rel=1e-4) and anchored[2] == pytest.approx(clean[2], rel=1e-4)
    assert anchored[1] == pytest.approx(clean[1], rel=6e-3) and anchored[3] == pytest.approx(clean[3], rel=6e-3)


def test_levels_come_from_the_input_on_any_device_and_precision():
    inputs = window([0.5, 0.5]).to(torch.float16)
    assert frame_levels(anchor_levels(window([0.25, 0.25]), inputs)).tolist() == pytest.approx([0.5, 0.5], rel=1e-2)
