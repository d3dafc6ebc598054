"""``load_model``: from a checkpoint name or path to a frozen network on a device, in a precision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from . import weights
from .checkpoints import infer_config, load_into, read_checkpoint
from .errors import OptionError
from .models import STCConfig, STCNet
from .models.mixed_precision import cast

if TYPE_CHECKING:
    from .engine.onnx_runtime import Network
    from .options import NetworkChoice

PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Besides the whole network in one dtype: float32 up to the code indices, then a bf16 generator
# (models/mixed_precision.py).
MIXED = "mixed"


def resolve_precision(precision: torch.dtype | str | None, device: torch.device) -> str:
    """What ``precision`` runs as on ``device``: "fp32", "bf16", "fp16" or "mixed". Accepts None (fp32),
    a torch dtype or one of "fp32", "bf16", "fp16", "mixed", "auto"; fp16 needs CUDA."""
    if precision == "auto":
        from .engine.device import auto_precision

        precision = auto_precision(device)
    if precision is None:
        resolved = "fp32"
    elif isinstance(precision, torch.dtype):
        resolved = next((name for name, dtype in PRECISIONS.items() if dtype == precision), None)
        if resolved is None:
            raise OptionError("precision", f"{precision} is not supported: use fp32, bf16, fp16 or mixed")
    elif precision in PRECISIONS or precision == MIXED:
        resolved = precision
    else:
        raise OptionError("precision", f"must be one of {', '.join(PRECISIONS)}, {MIXED} or auto, not {precision!r}")
    if resolved == "fp16" and device.type != "cuda":
        raise OptionError("precision", "fp16 runs on CUDA only; on the CPU use mixed, bf16 or fp32")
    return resolved


def resolve_dtype(precision: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    """The dtype ``precision`` (as ``resolve_precision`` takes it) runs the generator in: the whole
    network's, except in mixed precision, whose generator alone is bf16."""
    resolved = resolve_precision(precision, device)
    return torch.bfloat16 if resolved == MIXED else PRECISIONS[resolved]


def checkpoint_file(name_or_path: str | Path, *, progress: bool = True) -> tuple[Path, STCConfig | None]:
    """A bundled model's name, a registry name (downloaded into the cache when needed) or an
    existing file path."""
    path = Path(name_or_path).expanduser()
    if path.suffix in weights.CHECKPOINT_SUFFIXES or path.exists():
        return path, None
    if str(name_or_path) in weights.BUNDLED:
        return weights.bundled_path(str(name_or_path)), None
    spec = weights.spec_for(str(name_or_path))
    return weights.ensure_downloaded(spec, progress=progress), spec.config


def load_model(
    name_or_path: str | Path,
    device: str | torch.device = "cpu",
    precision: torch.dtype | str | None = None,
    *,
    config: STCConfig | None = None,
) -> STCNet:
    """Returns the STC network ready for inference: ``model(clip)`` maps a (b, 3, T, 512, 512) clip in
    [0, 1] to the restored clip. ``config`` overrides the one from the registry or the file."""
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise OptionError("device", f"must be cpu, cuda or cuda:N, not {device!r}") from error
    resolved = resolve_precision(precision, device)
    path, registry_config = checkpoint_file(name_or_path)
    state, stored_config = read_checkpoint(path)
    config = config or stored_config or registry_config or infer_config(state, path)
    with torch.device("meta"):
        network = STCNet(config)
    load_into(network, state, path)
    return cast(network, resolved).to(device).eval().requires_grad_(False)


def load_network(choice: NetworkChoice) -> Network:
    """The model ``choice`` names, run by its backend: the network itself (torch), or its exported
    graph in ONNX Runtime on its provider (exported now if this model, window and precision have
    none cached)."""
    if choice.backend == "torch":
        return load_model(choice.model, device=choice.device, precision=choice.precision)
    from .engine.device import intra_op_threads
    from .engine.onnx_runtime import OnnxNetwork
    from .graphs import graph_for

    path, info = graph_for(choice.model, choice.window, choice.precision)
    return OnnxNetwork(path, info, choice.provider, intra_op_threads(), choice.device)
