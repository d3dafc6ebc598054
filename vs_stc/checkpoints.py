"""Reading checkpoint files safely and matching their tensors to the network, strictly.

Accepted files: the released pickles ``{"params_ema": state_dict}`` (also ``{"params": ...}`` or a
bare state dict), read with ``torch.load(weights_only=True)`` so no arbitrary object is ever
unpickled, and our safetensors files, which carry their network config in the metadata.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import replaced_atomically
from .errors import CheckpointError
from .model_files import (CONFIG_METADATA_KEY, DEFAULTS_METADATA_KEY, ModelDefaults, is_web_page, read_model_config,
                          read_model_defaults)
from .models import NAMED_CONFIGS, UNUSED_CHECKPOINT_PREFIXES, STCConfig, STCNet

_WRAPPER_KEYS = ("params_ema", "params")
_LAYER_KEY = re.compile(r"^s_ft_layers\.(\d+)\.")


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], STCConfig | None]:
    """Returns the state dict in ``path`` and the config stored with it (safetensors only)."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    return _read_pickle(path), None


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], STCConfig | None]:
    config = read_model_config(path)
    try:
        return load_file(str(path)), config
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error}); convert it again") from error


ZIP_MAGIC = b"PK\x03\x04"  # torch.save's archive format
PICKLE_PROTOCOL = 0x80  # the first byte of a pickle of protocol 2 or later (torch's legacy format)


def _read_pickle(path: Path) -> dict[str, torch.Tensor]:
    _check_pytorch_file(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        if "weights_only" not in str(error) and "global" not in str(error).lower():
            raise _corrupt(path, error) from error
        raise CheckpointError(
            f"{path} holds Python objects other than tensors; refusing to unpickle it (unsafe). "
            "If you trust it, re-save its state dict with torch.save or convert it to safetensors"
        ) from error
    except Exception as error:  # a damaged pickle or archive can fail in any of torch's readers
        raise _corrupt(path, error) from error
    return _unwrap(loaded, path)


def _check_pytorch_file(path: Path) -> None:
    """Says what a file is when it is plainly not a PyTorch checkpoint, before torch reads it."""
    with path.open("rb") as f:
        head = f.read(512)
    if not head:
        raise CheckpointError(f"{path} is empty (0 bytes): a download or copy was cut off; fetch it again")
    if is_web_page(path):
        raise CheckpointError(
            f"{path} is a web page saved under a checkpoint's name, not weights; delete it and download again"
        )
    if head.startswith(ZIP_MAGIC) or head[0] == PICKLE_PROTOCOL:
        return
    kind = "text" if _looks_like_text(head) else "binary data of an unknown kind"
    raise CheckpointError(f"{path} is not a model file: it holds {kind}, not a PyTorch checkpoint (.pth) or "
                          "safetensors file")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _corrupt(path: Path, error: BaseException) -> CheckpointError:
    detail = (str(error).strip().splitlines() or [""])[0]
    return CheckpointError(f"{path} is truncated or corrupt ({error.__class__.__name__}{': ' if detail else ''}"
                           f"{detail}); delete it and download it again")


def _unwrap(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(loaded, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
        if loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
            return dict(loaded)
    raise CheckpointError(
        f"{path} is not an STC checkpoint: expected a state dict, optionally under 'params_ema' or 'params'"
    )


def infer_config(state: dict[str, torch.Tensor], path: Path) -> STCConfig:
    """Picks the named config whose transformer depth matches the file's."""
    layers = {int(m.group(1)) for key in state if (m := _LAYER_KEY.match(key))}
    depth = max(layers) + 1 if layers else 0
    for config in NAMED_CONFIGS.values():
        if config.transformer_layers == depth:
            return config
    raise CheckpointError(
        f"{path}: its lookup transformer has {depth} layers, which matches no known config "
        f"({', '.join(f'{n}: {c.transformer_layers}' for n, c in NAMED_CONFIGS.items())}); "
        "convert it with an explicit config or pass one"
    )


def inference_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drops the tensors the released files carry for training only."""
    return {k: v for k, v in state.items() if not k.startswith(UNUSED_CHECKPOINT_PREFIXES)}


def load_into(network: STCNet, state: dict[str, torch.Tensor], source: Path | str) -> None:
    """Loads ``state`` into ``network``; any missing, unknown or mis-shaped tensor is an error that
    lists the keys concerned."""
    state = inference_tensors(state)
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = sorted(
        f"{k} {tuple(state[k].shape)} (network wants {tuple(expected[k].shape)})"
        for k in set(expected) & set(state)
        if state[k].shape != expected[k].shape
    )
    problems = [
        _listing("missing", missing),
        _listing("not part of this network", unexpected),
        _listing("wrong shape", misshaped),
    ]
    problems = [p for p in problems if p]
    if problems:
        raise CheckpointError(
            f"{source} does not fit the network (layers={network.config.transformer_layers}, "
            f"heads={network.config.transformer_heads}): " + "; ".join(problems)
            + ". Is it the right model for this name or config?"
        )
    # assign=True adopts the file's tensors, so a network built on the meta device costs nothing.
    network.load_state_dict(state, strict=True, assign=True)


def _listing(what: str, keys: list[str], limit: int = 8) -> str:
    if not keys:
        return ""
    shown = ", ".join(keys[:limit]) + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")
    return f"{len(keys)} {what}: {shown}"


def check_fits(path: Path, config: STCConfig) -> None:
    """Reads ``path`` and checks that it loads strictly into a network of ``config``."""
    with torch.device("meta"):
        load_into(STCNet(config), read_checkpoint(path)[0], path)


def save_model(state: dict[str, torch.Tensor], target: Path, config: STCConfig,
               defaults: ModelDefaults | None = None) -> Path:
    """Writes a model file (safetensors, config and defaults in the metadata) atomically: under a
    temporary name in the target's folder, renamed over ``target`` only when complete."""
    metadata = {CONFIG_METADATA_KEY: json.dumps(config.to_dict())}
    if defaults is not None:
        metadata[DEFAULTS_METADATA_KEY] = defaults.to_json()
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    with replaced_atomically(target, mode=0o644) as temporary:  # readable by all, whatever the umask
        save_file(tensors, temporary, metadata=metadata)
    return target


def convert_to_safetensors(source: Path, target: Path, config: STCConfig | None = None) -> Path:
    """Writes ``source`` as safetensors with only the inference tensors, its config and its
    defaults, after checking that it loads into that config's network."""
    state, stored = read_checkpoint(source)
    config = config or stored or infer_config(state, source)
    with torch.device("meta"):
        load_into(STCNet(config), state, source)
    return save_model(inference_tensors(state), target, config, read_model_defaults(source))
