"""The Python API behind core.stc.*: ``restore(clip, ...)`` and ``deflicker(clip, ...)``."""

from __future__ import annotations

from functools import lru_cache

import vapoursynth as vs

from ..errors import STCError
from ..loading import load_model
from ..models import STCNet
from . import node
from .options import check_clip, deflicker_model, parse_options


@lru_cache(maxsize=4)
def _network(model: str, device: str, precision: str) -> STCNet:
    """Loaded networks, shared by every filter of a script that asks for the same one."""
    return load_model(model, device=device, dtype=precision)


def _filter(func_name: str, clip: vs.VideoNode, model: str, **arguments) -> vs.VideoNode:
    clip = check_clip(func_name, clip)
    options = parse_options(func_name, clip=clip, model=model, **arguments)
    try:
        network = _network(options.model, options.device, options.precision)
        return node.build(clip, network, options)
    except (STCError, ValueError) as error:
        raise vs.Error(f"{func_name}: {error}") from error


def restore(
    clip: vs.VideoNode,
    model: str = "bfvr",
    device: str = "cpu",
    window: int | None = None,
    overlap: int | None = None,
    precision: str | None = None,
    faces: str = "aligned",
    keep_detail: bool = False,
    keep_colours: bool = False,
) -> vs.VideoNode:
    """Blind face video restoration of aligned square face crops (any size; run at the model's
    resolution and scaled back). Output: the input's format, length, rate and props, plus STC* props.

    model: checkpoint name or path. device: 'cpu', 'cuda' or 'cuda:N'. window / overlap: frames per
    model run and frames crossfaded between runs (even; default: the model's own, 24 / 8, or 4 / 2
    for the tiny models). precision: 'fp32', 'bf16' or 'fp16'
    (default: fp16 for RGBH on CUDA, else fp32). faces: 'aligned' (auto detection comes later).
    keep_detail: keep the input's detail and take only brightness from the model (for deflicker).
    keep_colours: keep the input's colours and shading, take detail from the model (for restoring).
    """
    return _filter("Restore", clip, model, device=device, window=window, overlap=overlap,
                   precision=precision, faces=faces, keep_detail=keep_detail, keep_colours=keep_colours)


def deflicker(
    clip: vs.VideoNode,
    mode: str = "brightness",
    model: str | None = None,
    device: str = "cpu",
    window: int | None = None,
    overlap: int | None = None,
    precision: str | None = None,
    faces: str = "aligned",
    keep_detail: bool = False,
    keep_colours: bool = False,
) -> vs.VideoNode:
    """Removes flicker: mode 'brightness' (the deflicker checkpoint) or 'pixel' (deflicker-pixel).
    ``model`` overrides the checkpoint; the other arguments are those of :func:`restore`."""
    model = deflicker_model("Deflicker", mode, model)
    return _filter("Deflicker", clip, model, device=device, window=window, overlap=overlap,
                   precision=precision, faces=faces, keep_detail=keep_detail, keep_colours=keep_colours)
