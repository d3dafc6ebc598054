"""The one options object: every argument a filter run takes, its default, and its check.

``OPTIONS`` declares the arguments once. ``resolve`` turns what a caller gave (``None``: not given)
into ``RunOptions``, every value final and checked; a bad value raises ``OptionError`` naming the
argument. The surfaces do not re-declare anything: the command lines generate their argparse
options with ``add_arguments``, the VapourSynth functions pass their keyword arguments to
``resolve``, and the native plugin passes every argument through to Python.

Defaults that depend on the model (window, overlap, blend) come from the model file itself
(``weights.model_defaults``), so a model behaves the same by name or by path.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .cuts import CUT_SOURCES
from .errors import OptionError

TASKS = ("restore", "deflicker")
DEFLICKER_MODES = ("brightness", "pixel")
FACE_MODES = ("aligned", "auto")
MIN_FACE = 64  # pixels: the aligned crop's side in the frame (vs_stc.faces.analysis.MIN_FACE)
FACE_SCORE = 0.8  # vs_stc.faces.plausibility.FACE_SCORE
PRECISIONS = ("fp32", "bf16", "fp16", "mixed", "auto")
BACKENDS = ("torch", "onnxruntime")


@dataclass(frozen=True)
class Option:
    """One argument: its Python name, value type, allowed values and help text."""

    name: str
    kind: type
    help: str
    choices: tuple[str, ...] | None = None
    tasks: tuple[str, ...] = TASKS

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option("mode", str, "what flickers: brightness (the deflicker checkpoint) or pixel (deflicker-pixel); "
           "default: brightness", DEFLICKER_MODES, tasks=("deflicker",)),
    Option("model", str, "checkpoint name (tiny-bfvr, tiny-deflicker, bfvr, deflicker, deflicker-pixel) or file "
           "path; default: bfvr for restore, by mode for deflicker"),
    Option("device", str, "auto (cuda when PyTorch sees a CUDA device, else cpu), cpu, cuda or cuda:N; default: "
           "auto"),
    Option("precision", str, "fp32; bf16 (faster on CPUs with native bf16, but some code indices differ from "
           "fp32's); mixed (fp32 up to the code indices, then a bf16 decoder); fp16 on CUDA; or auto (fp16 on CUDA, "
           "else fp32); default: fp16 for half-float input on CUDA, else fp32",
           PRECISIONS),
    Option("backend", str, "what runs the model: torch, or onnxruntime (the model exported to ONNX on first use "
           "and cached; a .onnx model file runs there directly); default: torch, onnxruntime for a .onnx model",
           BACKENDS),
    Option("provider", str, "backend onnxruntime: the execution provider, auto (the best installed; the CPU's on "
           "device cpu), cpu, cuda, tensorrt, dml, openvino, coreml, migraphx, rocm or a full ONNX Runtime name; "
           "default: auto"),
    Option("window", int, "frames per model run, even; default: the model's own (24 for the released models)"),
    Option("overlap", int, "frames crossfaded between runs, even, below window; default: the model's own (8)"),
    Option("faces", str, "aligned: the frames are square face crops, resized to the model's size and back; auto: "
           "find, follow, align, restore and paste back every face of whole frames; default: auto", FACE_MODES),
    Option("detector", str, "faces auto: the face detector, auto (RetinaFace ResNet-50 when its weights are here, "
           "else the offline RetinaFace MobileNet) or a detector's name; default: auto"),
    Option("min_face", int, "faces auto: faces whose aligned crop spans fewer frame pixels are left alone; "
           "default: 64"),
    Option("face_score", float, "faces auto: the detector's lowest confidence, from 0 to 1, in a face found in the "
           "frame and again in its own upright crop, for it to be taken for a face (a face's track is restored when "
           "most of its detections reach it and have a face's landmark layout; 0: every detection); default: 0.8"),
    Option("cuts", str, "where scene cuts come from: auto (the built-in detector, and in VapourSynth also the "
           "clip's _SceneChangePrev/_SceneChangeNext props), props (those props only), off (none); windows, face "
           "tracks and crossfades never cross a cut; default: auto", CUT_SOURCES),
    Option("keep_detail", bool, "keep the input's detail, take only brightness from the model (for deflicker); "
           "default: the model's preference"),
    Option("keep_colours", bool, "keep the input's colours, shading and detail; take from the model only where "
           "and how much to sharpen (for restoring); default: the model's preference"),
)
OPTION_NAMES = tuple(option.name for option in OPTIONS)


@dataclass(frozen=True)
class NetworkChoice:
    """What loading the model depends on: the options that pick the network and how it runs
    (``window``: the exported graph's, for the onnxruntime backend only)."""

    model: str
    device: str
    precision: str
    backend: str = "torch"
    provider: str | None = None
    window: int | None = None


@dataclass(frozen=True)
class RunOptions:
    """Everything a filter run needs, resolved and checked."""

    task: str
    mode: str
    model: str
    device: str
    precision: str
    window: int
    overlap: int
    faces: str
    detector: str
    min_face: int
    cuts: str
    keep_detail: bool
    keep_colours: bool
    backend: str = "torch"
    provider: str | None = None  # the full ONNX Runtime name; None for the torch backend
    face_score: float = FACE_SCORE

    @property
    def runs_on(self) -> str:
        """Where and how the model runs, in words: "cpu, fp32, torch"."""
        if self.backend == "onnxruntime":
            return f"{self.provider.removesuffix('ExecutionProvider')}, {self.precision}, onnxruntime"
        return f"{self.device}, {self.precision}, torch"

    @property
    def network(self) -> "NetworkChoice":
        return NetworkChoice(self.model, self.device, self.precision, self.backend, self.provider,
                             self.window if self.backend == "onnxruntime" else None)

    def engine_options(self):
        from .engine import EngineOptions

        return EngineOptions(window=self.window, overlap=self.overlap, resize=True,
                             keep_detail=self.keep_detail, keep_colours=self.keep_colours)


def options_for(task: str) -> tuple[Option, ...]:
    return tuple(option for option in OPTIONS if task in option.tasks)


def resolve(task: str, *, half_float_input: bool = False, **given: Any) -> RunOptions:
    """Checks what was given and fills in every default. ``half_float_input``: the frames arrive as
    16-bit floats (VapourSynth RGBH), which makes fp16 the default precision on CUDA."""
    if task not in TASKS:
        raise OptionError("task", f"must be one of {', '.join(TASKS)}, not {task!r}")
    allowed = {option.name: option for option in options_for(task)}
    given = {name: value for name, value in given.items() if value is not None}
    for name in given:
        if name not in allowed:
            raise OptionError(name, f"is not an argument of {task}; the arguments are "
                                    + ", ".join(f"{{{a}}}" for a in allowed), related=tuple(allowed))
    values = {name: _checked(allowed[name], _text(value)) for name, value in given.items()}

    mode = values.get("mode", "brightness")
    model = values.get("model") or default_model(task, mode)
    device = _device(values.get("device", "auto"))
    backend, provider, precision = _backend(values, model, device, half_float_input)

    from .weights import model_defaults

    defaults = model_defaults(model)
    window = values.get("window", defaults.window)
    overlap = values.get("overlap", defaults.overlap)
    _check_window(window, overlap)

    faces = values.get("faces", "auto")
    if faces == "aligned":
        for name in ("detector", "min_face", "face_score"):
            if name in values:
                raise OptionError(name, "applies to {faces} auto only", related=("faces",))
    min_face = values.get("min_face", MIN_FACE)
    if min_face < 0:
        raise OptionError("min_face", f"must be 0 or more pixels, not {min_face}")
    face_score = values.get("face_score", FACE_SCORE)
    if not 0 <= face_score <= 1:
        raise OptionError("face_score", f"must be from 0 to 1, not {face_score}")
    detector = values.get("detector", "auto")
    if faces == "auto":
        from .faces import choose_detector

        choose_detector(detector)  # an unknown or unusable detector is refused before any work

    keep_detail, keep_colours = values.get("keep_detail"), values.get("keep_colours")
    if keep_detail and keep_colours:
        raise OptionError("keep_colours", "cannot be combined with {keep_detail}: the first keeps the input's "
                                          "colours, the second everything but brightness; choose one",
                          related=("keep_detail",))
    if keep_detail is None:
        keep_detail = defaults.blend == "keep_detail" and not keep_colours
    if keep_colours is None:
        keep_colours = defaults.blend == "keep_colours" and not keep_detail
    return RunOptions(task, mode, model, device, precision, window, overlap, faces, detector, min_face,
                      values.get("cuts", "auto"), keep_detail, keep_colours, backend, provider, face_score)


def _backend(values: dict[str, Any], model: str, device: str, half_float_input: bool) -> tuple[str, str | None, str]:
    """(backend, provider, precision), checked together: each limits what the others may be."""
    from .graphs import is_graph_file

    graph_file = is_graph_file(model)
    backend = values.get("backend", "onnxruntime" if graph_file else "torch")
    if graph_file and backend != "onnxruntime":
        raise OptionError("backend", f"is {backend}, but the model {model!r} is an ONNX graph: use onnxruntime, or "
                                     "give the model's checkpoint", related=("model",))
    precision = values.get("precision")
    if backend == "torch":
        if "provider" in values:
            raise OptionError("provider", "applies to {backend} onnxruntime only", related=("backend",))
        precision = precision or ("fp16" if half_float_input and device.startswith("cuda") else "fp32")
        if precision == "auto":
            from .engine.device import auto_precision

            precision = auto_precision(device)
        if precision == "fp16" and not device.startswith("cuda"):
            raise OptionError("precision", "fp16 runs on CUDA only; use bf16 or fp32 on the CPU")
        return backend, None, precision
    from .engine.onnx_runtime import FP16_PROVIDERS, check_graph_precision, choose_provider, read_graph_info, short_name

    provider = choose_provider(values.get("provider", "auto"), device)
    fp16_runs = short_name(provider) in FP16_PROVIDERS
    if graph_file and precision is None:  # a graph computes in the precision it was exported in
        precision = read_graph_info(_existing_file(model)).precision
    if precision in (None, "auto"):
        precision = "fp16" if fp16_runs and (precision == "auto" or half_float_input) else "fp32"
    check_graph_precision(precision, provider)
    return backend, provider, precision


def _existing_file(model: str) -> Path:
    path = Path(model).expanduser()
    if not path.is_file():
        raise OptionError("model", f"{model!r} is not a file")
    return path


def default_model(task: str, mode: str = "brightness") -> str:
    """The released checkpoint for a task: restore -> bfvr; deflicker -> by mode."""
    if task == "restore":
        return "bfvr"
    return "deflicker" if mode == "brightness" else "deflicker-pixel"


def _text(value: Any) -> Any:
    """VapourSynth hands string arguments over as bytes."""
    return value.decode() if isinstance(value, bytes) else value


def _checked(option: Option, value: Any) -> Any:
    if option.kind is bool:
        if value not in (0, 1):  # True and False too
            raise OptionError(option.name, f"must be true or false (1 or 0), not {value!r}")
        return bool(value)
    if option.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OptionError(option.name, f"must be a whole number of frames, not {value!r}")
        return value
    if option.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(option.name, f"must be a number, not {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise OptionError(option.name, f"must be text, not {type(value).__name__}")
    if option.choices and value not in option.choices:
        raise OptionError(option.name, f"must be one of {', '.join(option.choices)}, not {value!r}")
    if option.name == "model" and not value.strip():
        raise OptionError("model", "is empty; give a checkpoint name or a file path")
    return value


def _device(device: str) -> str:
    if device == "auto":
        return _auto_device()
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return device
    if kind != "cuda" or (index and not index.isdigit()):
        raise OptionError("device", f"must be cpu, cuda or cuda:N, not {device!r}")
    import torch

    if not torch.cuda.is_available():
        build = (f"this PyTorch build is for CUDA {torch.version.cuda}: its NVIDIA driver must support that CUDA "
                 f"version (see nvidia-smi), or install the PyTorch build for your driver from pytorch.org"
                 if torch.version.cuda else "this PyTorch build has no CUDA support: install a CUDA build")
        raise OptionError("device", f"is {device!r} but PyTorch sees no CUDA device here ({build}); or use cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise OptionError("device", f"is {device!r} but there are only {torch.cuda.device_count()} CUDA devices "
                                    f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    _check_kernels_for(int(index or torch.cuda.current_device()), device)
    return device


def _auto_device() -> str:
    """cuda when PyTorch can run on a CUDA device here, else cpu. A Linux machine without NVIDIA's
    (or WSL's) device files has none, which answers without importing PyTorch."""
    if sys.platform == "linux" and not (glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/dxg")):
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    try:
        return _device("cuda")
    except OptionError:  # a GPU this PyTorch build has no kernels for
        return "cpu"


def _check_kernels_for(index: int, device: str) -> None:
    """A GPU the PyTorch build has no kernels for passes ``is_available()`` and fails at its first
    kernel with "no kernel image": refuse it here, saying what to install."""
    import torch

    major, minor = torch.cuda.get_device_capability(index)
    built = torch.cuda.get_arch_list()
    exact = f"sm_{major}{minor}" in built
    # PTX for an older architecture of the same major JIT-compiles for this one.
    compilable = any(arch.startswith("compute_") and int(arch[8:]) // 10 == major and int(arch[8:]) <= major * 10
                     + minor for arch in built)
    if built and not (exact or compilable):
        raise OptionError("device", f"is {device!r}, a {torch.cuda.get_device_name(index)} (compute capability "
                                    f"{major}.{minor}), but this PyTorch build (CUDA {torch.version.cuda}) has "
                                    f"kernels for {', '.join(built)} only: install a PyTorch build that supports "
                                    "this GPU (pytorch.org), or use cpu")


def _check_window(window: int, overlap: int) -> None:
    if window < 2 or window % 2:
        raise OptionError("window", f"must be an even number of frames, at least 2, not {window}")
    if overlap < 0 or overlap % 2:
        raise OptionError("overlap", f"must be an even number of frames, 0 or more, not {overlap}")
    if overlap >= window:
        raise OptionError("overlap", f"must be smaller than window ({window}), not {overlap}")


# Command lines ------------------------------------------------------------------------------

def flag_spelling(name: str) -> str:
    """How the command lines name an argument."""
    return "--" + name.replace("_", "-")


class CommandLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (no usage block) and exits with 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def bounded_int(lowest: int, highest: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``lowest`` (to ``highest``), else a one-line error."""
    span = f"from {lowest}" + (f" to {highest}" if highest is not None else "")

    def parsed(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number {span}, not {text!r}") from None
        if value < lowest or (highest is not None and value > highest):
            raise argparse.ArgumentTypeError(f"must be {span}, not {value}")
        return value

    return parsed


def add_arguments(parser: argparse.ArgumentParser, task: str | None = None) -> None:
    """Adds the options of ``task`` (all of them when None) as ``--flags``, every default None so
    that ``resolve`` decides it."""
    group = parser.add_argument_group("model")
    for option in OPTIONS if task is None else options_for(task):
        if option.kind is bool:
            group.add_argument(option.flag, action=argparse.BooleanOptionalAction, default=None, help=option.help)
        else:
            group.add_argument(option.flag, type=option.kind, choices=option.choices, default=None,
                               help=option.help, metavar=None if option.choices else option.name.upper())


def from_arguments(task: str, arguments: argparse.Namespace) -> RunOptions:
    """``resolve`` on what a command line was given."""
    return resolve(task, **{name: getattr(arguments, name, None) for name in OPTION_NAMES})


def given_options(arguments: argparse.Namespace) -> list[str]:
    """The options a command line was actually given (flags spelt out)."""
    return [option.flag for option in OPTIONS if getattr(arguments, option.name, None) is not None]
