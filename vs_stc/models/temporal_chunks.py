"""Inference of the full-resolution levels in temporal chunks: each intermediate of those levels
is held whole once, never in the several copies the block-by-block path makes (norm output,
swish, padded input, convolution output), so peak memory grows by about two full-resolution
activations per frame instead of five.

Every convolution there looks at most one frame either side of its output (3-tap temporal
kernels, zero-padded at the clip's ends), so a chunk of output frames needs its input frames
plus a one-frame halo; the stride-2 temporal downsampling reads input frames 2a .. 2b for outputs
a .. b, and the temporal upsampling repeats each input frame twice before its convolution.
GroupNorm pools its statistics over the whole clip, so they are taken over the whole stored input
first and then applied chunk by chunk, fused with the swish after them and the zero padding the
convolution sees. Used only without autograd: residual blocks overwrite their input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import heap
from .blocks import Downsample, ResidualBlock, Upsample, convolve

@contextmanager
def heap_trimmed(device: torch.device, chunked: bool = True) -> Iterator[None]:
    """Hands the heap's free memory back after the chunked blocks (the engine keeps large blocks out
    of the heap while it runs: heap.py). Only for CPU tensors (other devices' memory is not
    glibc's), and only where the blocks ran in several chunks (``chunked``): a level that fits in
    one chunk is small, and trimming after it would only make the next run fault its pages in again."""
    try:
        yield
    finally:
        if device.type == "cpu" and chunked:
            heap.trim()


class Affine(NamedTuple):
    """A GroupNorm as the per-channel map x * scale + shift (then swish, when ``swish``), with
    statistics of a whole tensor; float32 (b, c, 1, 1, 1), so low-precision activations are
    normalised in float as GroupNorm's own kernel does."""

    scale: torch.Tensor
    shift: torch.Tensor
    swish: bool


def spans(frames: int, chunk: int) -> Iterator[tuple[int, int]]:
    """[start, stop) of consecutive chunks of ``chunk`` frames covering ``frames``; the last may be shorter."""
    for start in range(0, frames, chunk):
        yield start, min(start + chunk, frames)


def group_norm_affine(norm: nn.GroupNorm, x: torch.Tensor, swish: bool) -> Affine:
    """``norm`` (and the swish after it when ``swish``) as an Affine, statistics over all of ``x``.

    Computed as GroupNorm's CPU kernel does, so its output is bit-identical to ``norm(x)``: the
    statistics come from that kernel, run one group at a time (a group's moments do not depend on
    the others; only a group-sized output is made and dropped), and scale * x + shift is a fused
    multiply-add both there and in ``torch.addcmul``, so the shift is rounded once too. Elsewhere
    (CUDA) the statistics come from one call over all groups: a loop of small reductions would
    leave the GPU idle."""
    b, c = x.shape[:2]
    per_group = c // norm.num_groups
    mean, rstd = (_moments_by_group if x.device.type == "cpu" else _moments)(x, norm.num_groups, norm.eps)
    mean = mean.repeat_interleave(per_group, dim=1).double()
    scale = rstd.repeat_interleave(per_group, dim=1) * norm.weight.float()
    shift = (norm.bias.double() - scale.double() * mean).float()  # exact product: one rounding
    return Affine(scale.view(b, c, 1, 1, 1), shift.view(b, c, 1, 1, 1), swish)


def _moments(x: torch.Tensor, groups: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, rstd), each (b, groups) float32, from GroupNorm's own kernel over all groups at once."""
    b, c = x.shape[:2]
    _, mean, rstd = torch.ops.aten.native_group_norm(x, None, None, b, c, x[0, 0].numel(), groups, eps)
    return mean.float(), rstd.float()


def _moments_by_group(x: torch.Tensor, groups: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``_moments`` one group at a time: only a group-sized output is made (and dropped)."""
    b, c = x.shape[:2]
    per_group = c // groups
    means, rstds = [], []
    scratch: torch.Tensor | None = None  # the group's normalised output, dropped: one buffer for all groups
    for first in range(0, c, per_group):
        group = x[:, first:first + per_group]
        group = group if group.element_size() >= 4 else group.float()
        scratch = torch.empty_like(group, memory_format=torch.contiguous_format) if scratch is None else scratch
        mean, rstd = group.new_empty(b, 1), group.new_empty(b, 1)
        torch.ops.aten.native_group_norm.out(group, None, None, b, per_group, group[0, 0].numel(), 1, eps,
                                             out0=scratch, out1=mean, out2=rstd)
        means.append(mean)
        rstds.append(rstd)
    return torch.cat(means, dim=1), torch.cat(rstds, dim=1)


def window(x: torch.Tensor, start: int, stop: int, activation: Affine | None, halo: int = 1) -> torch.Tensor:
    """Frames start - halo .. stop + halo of activation(x), zero outside the clip: what a
    convolution with ``halo`` frames of temporal padding reads for output frames start .. stop."""
    out = x.new_empty(*x.shape[:2], stop - start + 2 * halo, *x.shape[3:])
    _fill(out, x, start - halo, activation)
    return out


def windows(x: torch.Tensor, chunk: int, activation: Affine | None,
            halo: int) -> Iterator[tuple[int, int, torch.Tensor]]:
    """(start, stop, window(x, start, stop, activation, halo)) for each chunk of ``chunk`` frames.

    Consecutive windows share 2 * halo frames: those are moved within one buffer rather than
    activated again, so a window is valid only until the next one is asked for."""
    previous: torch.Tensor | None = None
    for start, stop in spans(x.shape[2], chunk):
        size = stop - start + 2 * halo
        if previous is None or previous.shape[2] != size:
            previous = window(x, start, stop, activation, halo)
        else:
            for i in range(2 * halo):  # ascending: frame i + chunk is read before it is overwritten
                previous[:, :, i].copy_(previous[:, :, i + chunk])
            _fill(previous[:, :, 2 * halo:], x, start + halo, activation)
        yield start, stop, previous


def _fill(out: torch.Tensor, x: torch.Tensor, first: int, activation: Affine | None) -> None:
    """Writes activation(x) of frames first .. first + len(out) into ``out``, zero outside the clip."""
    t = x.shape[2]
    lo, hi = max(first, 0), min(first + out.shape[2], t)
    front = lo - first
    if front:
        out[:, :, :front].zero_()
    if hi - lo + front < out.shape[2]:
        out[:, :, max(hi - lo, 0) + front:].zero_()
    if hi <= lo:
        return
    inner = out[:, :, front:front + hi - lo]
    if activation is None:
        inner.copy_(x[:, :, lo:hi])
    else:
        torch.addcmul(activation.shift, x[:, :, lo:hi], activation.scale, out=inner)
        if activation.swish:
            F.silu(inner, inplace=True)


def temporally_padded_conv(conv: nn.Conv3d, padded: torch.Tensor) -> torch.Tensor:
    """``conv`` over input whose temporal padding is already in place (its spatial padding is not)."""
    return convolve(conv, padded, (0, *conv.padding[1:]))


def assemble(frames: int, chunks: Iterator[tuple[int, int, torch.Tensor]]) -> torch.Tensor:
    """Writes each (start, stop, output frames) into one tensor of ``frames`` frames."""
    out: torch.Tensor | None = None
    for start, stop, y in chunks:
        if out is None:
            out = y.new_empty(*y.shape[:2], frames, *y.shape[3:])
        out[:, :, start:stop] = y
        del y  # before the next chunk is computed
    assert out is not None, "a clip has at least one frame"
    return out


def convolution(conv: nn.Conv3d, x: torch.Tensor, chunk: int, activation: Affine | None = None) -> torch.Tensor:
    """A stride-1 convolution (3 or 1 frames wide) of activation(x), in chunks."""
    halo = conv.kernel_size[0] // 2
    return assemble(x.shape[2], ((a, e, temporally_padded_conv(conv, padded))
                                 for a, e, padded in windows(x, chunk, activation, halo)))


def residual_block(block: ResidualBlock, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """``block(x)``, holding x and the first convolution's output whole; the result overwrites x
    when the width is unchanged (each chunk's skip reads only its own frames of x)."""
    h = convolution(block.conv1, x, chunk, group_norm_affine(block.norm1, x, swish=True))
    second = group_norm_affine(block.norm2, h, swish=True)
    if not hasattr(block, "conv_out"):
        for a, e, padded in windows(h, chunk, second, halo=1):
            x[:, :, a:e] = temporally_padded_conv(block.conv2, padded).add_(x[:, :, a:e])
        return x
    return assemble(x.shape[2], ((a, e, temporally_padded_conv(block.conv2, padded).add_(block.conv_out(x[:, :, a:e])))
                                 for a, e, padded in windows(h, chunk, second, halo=1)))


def downsample(block: Downsample, x: torch.Tensor, chunk: int) -> torch.Tensor:
    t = x.shape[2]
    if not block.temporal:
        return assemble(t, ((a, e, block.conv(x[:, :, a:e])) for a, e in spans(t, chunk)))
    t_out = (t - 2) // 2 + 1  # the padded clip has t + 1 frames; valid 3-tap conv, stride 2
    return assemble(t_out, ((a, e, _downsampled(block, x, a, e)) for a, e in spans(t_out, max(chunk // 2, 1))))


def _downsampled(block: Downsample, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Output frames start .. stop of a temporal ``block``: padded input frames 2 start .. 2 stop."""
    lo, hi = 2 * start, min(2 * stop + 1, x.shape[2])
    return block.conv(F.pad(x[:, :, lo:hi], (0, 1, 0, 1, 0, 2 * stop + 1 - hi)))


def upsample(block: Upsample, x: torch.Tensor, chunk: int) -> torch.Tensor:
    t_out = x.shape[2] * int(block.scale[0])
    return assemble(t_out, ((a, e, _upsampled(block, x, a, e)) for a, e in spans(t_out, chunk)))


def _upsampled(block: Upsample, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Output frames start .. stop of ``block``: its convolution over the repeated frames
    start - 1 .. stop + 1 (zero outside the clip)."""
    repeat = int(block.scale[0])
    t_out = x.shape[2] * repeat
    first = max(start - 1, 0) // repeat
    # Nearest-neighbour repetition in time copies whole frames: interpolate in space only.
    source = F.interpolate(x[:, :, first:min(stop, t_out - 1) // repeat + 1], scale_factor=(1.0, 2.0, 2.0),
                           mode="nearest")
    padded = source.new_empty(*source.shape[:2], stop - start + 2, *source.shape[3:])
    for i, frame in enumerate(range(start - 1, stop + 1)):
        if 0 <= frame < t_out:
            padded[:, :, i] = source[:, :, frame // repeat - first]
        else:
            padded[:, :, i].zero_()
    del source
    return temporally_padded_conv(block.conv, padded)


def run_blocks(blocks: Sequence[nn.Module], x: torch.Tensor, chunk: int) -> torch.Tensor:
    """Runs ``blocks`` in order over x in chunks of ``chunk`` frames. A GroupNorm is fused into the
    convolution after it; blocks with no chunked form (attention) run whole."""
    pending: nn.GroupNorm | None = None
    for block in blocks:
        if pending is not None and not isinstance(block, nn.Conv3d):
            x = pending(x)
        if isinstance(block, nn.GroupNorm):
            pending = block
            continue
        if isinstance(block, nn.Conv3d):
            x = convolution(block, x, chunk, None if pending is None else group_norm_affine(pending, x, swish=False))
        elif isinstance(block, ResidualBlock):
            x = residual_block(block, x, chunk)
        elif isinstance(block, Downsample):
            x = downsample(block, x, chunk)
        elif isinstance(block, Upsample):
            x = upsample(block, x, chunk)
        else:
            x = block(x)
        pending = None
    return x if pending is None else pending(x)
