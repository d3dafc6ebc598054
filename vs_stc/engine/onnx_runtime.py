"""The engine's second way to run a window: an exported graph (models/export.py) in ONNX Runtime,
on the execution provider the user names or the best one installed.

``OnnxNetwork`` stands where an ``STCNet`` stands in the engine: it has the config, takes the
window as a (1, 3, T, R, R) float32 host tensor and returns the restored window, so the windows,
crossfades, blends and face mode around it do not know which backend ran it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import torch

from ..errors import CheckpointError, OptionError
from ..models.config import STCConfig
from ..models.export import INPUT, GraphInfo

if TYPE_CHECKING:
    from ..models import STCNet

# Short names for the providers users name most; any full ONNX Runtime name is accepted too.
PROVIDER_NAMES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "dml": "DmlExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "rocm": "ROCMExecutionProvider",
}
# What "auto" takes, best first: accelerators before the CPU.
PREFERENCE = ("tensorrt", "cuda", "migraphx", "rocm", "dml", "openvino", "coreml", "cpu")
# Providers whose fp16 kernels run the graph's convolutions (the CPU provider computes fp16 by
# casting around float kernels: slower than fp32 and no more exact).
FP16_PROVIDERS = ("tensorrt", "cuda", "migraphx", "rocm", "dml")


def installed_providers() -> list[str]:
    import onnxruntime

    return [name for name in onnxruntime.get_available_providers() if name != "AzureExecutionProvider"]


def short_name(provider: str) -> str:
    return next((short for short, full in PROVIDER_NAMES.items() if full == provider), provider)


def choose_provider(wanted: str, device: str) -> str:
    """The full name of the provider ``wanted`` ("auto": the best installed, the CPU's when
    ``device`` is the CPU); an unknown or missing one is refused, naming the installed ones."""
    installed = installed_providers()
    listed = ", ".join(short_name(name) for name in installed)
    if wanted == "auto":
        if device == "cpu":
            return PROVIDER_NAMES["cpu"]
        return next(PROVIDER_NAMES[name] for name in PREFERENCE if PROVIDER_NAMES[name] in installed)
    full = PROVIDER_NAMES.get(wanted.lower(), wanted)
    if full not in installed:
        known = "" if full in PROVIDER_NAMES.values() else " (not a provider name ONNX Runtime knows)"
        raise OptionError("provider", f"{wanted!r}{known} is not installed; this ONNX Runtime has {listed}: use "
                                      "one of those, or install the onnxruntime build that has it")
    return full


def check_graph_precision(precision: str, provider: str) -> None:
    if precision not in ("fp32", "fp16"):
        raise OptionError("precision", f"is {precision!r}, but ONNX Runtime runs fp32 or fp16 graphs; use fp32, "
                                       "fp16 on a GPU provider, or the torch backend for bf16")
    if precision == "fp16" and short_name(provider) not in FP16_PROVIDERS:
        raise OptionError("precision", f"fp16 needs a GPU provider ({', '.join(FP16_PROVIDERS)}); "
                                       f"{short_name(provider)} runs fp32 only")


def _device_index(device: str) -> int:
    return torch.device(device).index or 0


def provider_entry(provider: str, device: str) -> str | tuple[str, dict[str, str]]:
    """The provider as ONNX Runtime takes it: a GPU provider with the card ``device`` names
    ("cuda:1": the second; "cuda": the first), any other by its name."""
    if short_name(provider) in FP16_PROVIDERS:
        return provider, {"device_id": str(_device_index(device))}
    return provider


def memory_device(provider: str, device: str) -> torch.device:
    """Where the provider holds a window's activations, for the engine's memory check: the card
    when it is a GPU provider on a card PyTorch sees (its free memory is known), else the host."""
    if short_name(provider) in FP16_PROVIDERS and device.startswith("cuda") and torch.cuda.is_available():
        return torch.device("cuda", _device_index(device))
    return torch.device("cpu")


def read_graph_info(path: Path) -> GraphInfo:
    """The description an exported graph carries; a file that is not one of ours is refused."""
    stat = path.stat()
    return _graph_info(path.resolve(), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _graph_info(path: Path, size: int, modified: int) -> GraphInfo:
    """``read_graph_info`` of a file as it is now (its size and time key the cache): the options,
    the model's defaults and the loading each ask, and a released graph is hundreds of MiB."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (OSError, ValueError, DecodeError) as error:
        raise CheckpointError(f"{path}: not a readable ONNX file ({error})") from error
    try:
        return GraphInfo.from_metadata({entry.key: entry.value for entry in model.metadata_props})
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: an ONNX file without vs-stc's description (missing or malformed {error}); "
                              "export it with `stc export onnx`") from error


class OnnxNetwork:
    """An exported graph in an ONNX Runtime session: the model's config, its input's place (host
    memory, float32), and a call that restores one window."""

    device = torch.device("cpu")  # the session is fed from host memory; its provider moves it
    dtype = torch.float32  # what the graph takes and gives, whatever it computes in

    def __init__(self, path: Path, info: GraphInfo, provider: str, threads: int, device: str = "cpu") -> None:
        import onnxruntime

        settings = onnxruntime.SessionOptions()
        settings.intra_op_num_threads = threads
        settings.inter_op_num_threads = 1
        settings.log_severity_level = 3  # its warnings about nodes placed on the CPU are not the user's
        # Without its arena, ONNX Runtime hands a window's activations back to the system after the
        # run, as PyTorch does, instead of keeping its largest run's worth for the process's life.
        settings.enable_cpu_mem_arena = False
        self.info, self.provider = info, provider
        self.memory_device = memory_device(provider, device)
        self.session = onnxruntime.InferenceSession(str(path), settings, providers=[provider_entry(provider, device)])

    @property
    def config(self) -> STCConfig:
        return self.info.config

    @property
    def compute_dtype(self) -> torch.dtype:
        return torch.float16 if self.info.precision == "fp16" else torch.float32

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        """(1, 3, T, R, R) float32 on the host, T the graph's window -> the restored clip, alike."""
        if tuple(clip.shape[2:]) != (self.info.window, self.info.resolution, self.info.resolution):
            raise ValueError(f"the graph runs windows of {self.info.window} frames at {self.info.resolution} x "
                             f"{self.info.resolution}, not {tuple(clip.shape[2:])}")
        restored = self.session.run(["restored"], {INPUT: np.ascontiguousarray(clip.numpy())})[0]
        return torch.from_numpy(restored)


Network = Union["STCNet", OnnxNetwork]


def placement(network: Network) -> tuple[torch.device, torch.dtype, torch.dtype]:
    """Where a network's input goes, in which dtype, and the dtype it computes in."""
    if isinstance(network, OnnxNetwork):
        return network.device, network.dtype, network.compute_dtype
    parameter = next(network.parameters())
    return parameter.device, parameter.dtype, parameter.dtype
