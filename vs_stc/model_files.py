"""What a model file says about itself, read without PyTorch: whether it is a web page saved by
mistake, and the metadata our safetensors files carry (the network's config, how the model prefers
to run). Commands that only list or check files (``stc weights list``) stay instant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError, safe_open

from .errors import CheckpointError
from .models.config import STCConfig

CONFIG_METADATA_KEY = "stc_config"
DEFAULTS_METADATA_KEY = "stc_defaults"
BLENDS = ("keep_detail", "keep_colours")


def is_web_page(path: Path) -> bool:
    """Whether a file starts like HTML/XML: an error, login or rate-limit page saved as weights."""
    with path.open("rb") as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body"))


def safetensors_metadata(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="numpy") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error}); convert it again") from error


@dataclass(frozen=True)
class ModelDefaults:
    """How a model prefers to run: its window and overlap (the clip lengths it was trained for)
    and its blend with the input (None, ``keep_detail`` or ``keep_colours``)."""

    window: int = 24
    overlap: int = 8
    blend: str | None = None

    def __post_init__(self) -> None:
        if self.blend not in (None, *BLENDS):
            raise ValueError(f"blend must be one of {', '.join(BLENDS)} or absent, not {self.blend!r}")
        for name in ("window", "overlap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of frames, not {value!r}")

    def to_json(self) -> str:
        return json.dumps({"window": self.window, "overlap": self.overlap, "blend": self.blend})


def read_model_defaults(path: Path) -> ModelDefaults:
    """The defaults a safetensors model file carries (the released defaults for other files)."""
    if path.suffix != ".safetensors":
        return ModelDefaults()
    raw = safetensors_metadata(path).get(DEFAULTS_METADATA_KEY)
    if not raw:
        return ModelDefaults()
    try:
        return ModelDefaults(**json.loads(raw))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: its {DEFAULTS_METADATA_KEY!r} metadata is malformed ({error}); "
                              "export or convert the model again") from error


def read_model_config(path: Path) -> STCConfig | None:
    """The network config a safetensors model file carries (None for other files, or none stored)."""
    if path.suffix != ".safetensors":
        return None
    raw = safetensors_metadata(path).get(CONFIG_METADATA_KEY)
    if not raw:
        return None
    try:
        return STCConfig.from_dict(json.loads(raw))
    except (ValueError, TypeError) as error:  # bad JSON, unknown fields, wrong types
        raise CheckpointError(f"{path}: its {CONFIG_METADATA_KEY!r} metadata is not a valid network config "
                              f"({error}); convert or export the model again") from error
