"""Attention never materialises a tokens x tokens map: check which kernels run and how much they allocate."""

from __future__ import annotations

import torch
from torch.profiler import ProfilerActivity, profile

from vs_stc.models.blocks import SpatioTemporalAttention, TemporalAttention
from vs_stc.models.deterministic import deterministic_network

from conftest import TINY

FLASH = "aten::_scaled_dot_product_flash_attention_for_cpu"
MATH = "aten::_scaled_dot_product_attention_math"


def _profile(fn, *args):
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(*args)
    return prof.events()


def test_every_attention_in_the_network_uses_the_flash_kernel():
    network = deterministic_network(TINY)
    events = _profile(network, torch.rand(1, 3, 4, TINY.resolution, TINY.resolution))
    names = [e.name for e in events]
    attention_calls = names.count("aten::scaled_dot_product_attention")
    # encoder: 3 spatio-temporal, decoder: 5, quantizer: 1 temporal, transformers: 2 x layers
    assert attention_calls == 3 + 5 + 1 + 2 * TINY.transformer_layers
    assert names.count(FLASH) == attention_calls
    assert MATH not in names
    assert "aten::softmax" not in names and "aten::_softmax" not in names


def test_spatio_temporal_attention_allocates_far_less_than_the_attention_map():
    channels, t, h, w = 32, 4, 32, 32
    tokens = t * h * w
    block = SpatioTemporalAttention(channels, groups=8).eval()
    x = torch.randn(1, channels, t, h, w)
    with torch.inference_mode():
        events = _profile(block, x)
    largest = max(e.cpu_memory_usage for e in events)
    attention_map_bytes = tokens * tokens * 4
    assert largest < attention_map_bytes / 8, (largest, attention_map_bytes)


def test_temporal_attention_attends_along_time_only():
    block = TemporalAttention(16, groups=4).eval()
    # GroupNorm statistics span every position; without it, positions must be fully independent.
    block.norm = torch.nn.Identity()
    x = torch.randn(1, 16, 6, 5, 7)
    nudged = x.clone()
    nudged[:, :, :, 2, 3] += 1.0
    with torch.inference_mode():
        changed = (block(nudged) - block(x)).abs().amax(dim=(0, 1, 2)) > 0
    assert changed[2, 3] and changed.sum() == 1
