"""Argument checking for core.stc.*, written once: the clip first, then each argument. Every
message starts with the function's name and says what the argument must be."""

from __future__ import annotations

from dataclasses import dataclass

import vapoursynth as vs

from ..engine.planning import validate as validate_window
from ..loading import PRECISIONS
from ..weights import DEFLICKER_MODES, default_checkpoint, window_for

FACE_MODES = ("aligned", "auto")


@dataclass(frozen=True)
class FilterOptions:
    model: str
    device: str
    window: int
    overlap: int
    precision: str
    faces: str
    keep_detail: bool = False
    keep_colours: bool = False


def _text(value: object) -> object:
    """VapourSynth may hand string arguments over as bytes."""
    return value.decode() if isinstance(value, bytes) else value


def check_clip(func_name: str, clip: object) -> vs.VideoNode:
    if not isinstance(clip, vs.VideoNode):
        raise vs.Error(f"{func_name}: 'clip' must be a video clip, not {type(clip).__name__}")
    if clip.format is None or clip.format.id == vs.NONE:
        raise vs.Error(f"{func_name}: 'clip' has a variable format; convert it to one format first (e.g. resize.Bicubic(format=vs.RGB24))")
    if clip.width == 0 or clip.height == 0:
        raise vs.Error(f"{func_name}: 'clip' has a variable frame size; resize it to one size first")
    family = clip.format.color_family
    if family not in (vs.RGB, vs.YUV):
        raise vs.Error(
            f"{func_name}: 'clip' is {clip.format.name}; use an RGB (RGB24, RGB48, RGBS, RGBH) or a YUV clip"
        )
    if family == vs.RGB and clip.format.sample_type == vs.INTEGER and clip.format.bits_per_sample > 16:
        raise vs.Error(f"{func_name}: 'clip' is {clip.format.name}; integer RGB must be 8 to 16 bits")
    return clip


def parse_options(
    func_name: str,
    *,
    model: object,
    device: object = "cpu",
    window: object = None,
    overlap: object = None,
    precision: object = None,
    faces: object = "aligned",
    keep_detail: object = False,
    keep_colours: object = False,
    clip: vs.VideoNode,
) -> FilterOptions:
    model, device, precision, faces = (_text(v) for v in (model, device, precision, faces))
    if not isinstance(model, str) or not model:
        raise vs.Error(f"{func_name}: 'model' must be a checkpoint name (tiny-bfvr, tiny-deflicker, bfvr, deflicker, "
                       "deflicker-pixel) or a file path")
    if not isinstance(device, str) or not (device == "cpu" or device.startswith("cuda")):
        raise vs.Error(f"{func_name}: 'device' must be 'cpu', 'cuda' or 'cuda:N', not {device!r}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise vs.Error(f"{func_name}: 'device' is {device!r} but PyTorch sees no CUDA device; use device='cpu'")
    window, overlap = window_for(model, window, overlap)
    for name, value in (("window", window), ("overlap", overlap)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise vs.Error(f"{func_name}: '{name}' must be an integer number of frames, not {value!r}")
    try:
        validate_window(window, overlap)
    except ValueError as error:
        raise vs.Error(f"{func_name}: {error}") from None
    if precision is None:
        on_cuda = device.startswith("cuda")
        precision = "fp16" if on_cuda and clip.format.sample_type == vs.FLOAT and clip.format.bits_per_sample == 16 else "fp32"
    if precision not in PRECISIONS:
        raise vs.Error(f"{func_name}: 'precision' must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "fp16" and not device.startswith("cuda"):
        raise vs.Error(f"{func_name}: 'precision' fp16 runs on CUDA only; use 'bf16' or 'fp32' on the CPU")
    if faces not in FACE_MODES:
        raise vs.Error(f"{func_name}: 'faces' must be 'aligned' or 'auto', not {faces!r}")
    if faces == "auto":
        raise vs.Error(
            f"{func_name}: faces='auto' (detect, align and paste back faces) is not available yet; "
            "give aligned square face crops and faces='aligned'"
        )
    for name, value in (("keep_detail", keep_detail), ("keep_colours", keep_colours)):
        if value not in (0, 1):  # also True / False
            raise vs.Error(f"{func_name}: '{name}' must be 0 or 1 (False or True), not {value!r}")
    if keep_detail and keep_colours:
        raise vs.Error(f"{func_name}: 'keep_detail' and 'keep_colours' exclude each other; choose one")
    return FilterOptions(model, device, window, overlap, precision, faces, bool(keep_detail), bool(keep_colours))


def deflicker_model(func_name: str, mode: object, model: object) -> str:
    mode = _text(mode)
    if mode not in DEFLICKER_MODES:
        raise vs.Error(f"{func_name}: 'mode' must be 'brightness' or 'pixel', not {mode!r}")
    return _text(model) if model is not None else default_checkpoint("deflicker", mode)
