"""Training run configuration, read from a TOML file (``stc train stage1|stage2 --config FILE``).

Example::

    task = "bfvr"                # bfvr | deflicker | deflicker-pixel
    data = ["clips/"]            # folders of videos or of frame sequences (one sub-folder a clip)
    output = "runs/tiny-bfvr"    # checkpoints, logs and the exported model
    steps = 20000
    batch_size = 2
    clip_length = 8              # frames per training window (even)
    degradation_resolution = 256 # stage II: degrade at this size, then scale to the network's
    learning_rate = 2e-4
    stage1_checkpoint = "runs/tiny-bfvr/stage1-model.safetensors"   # stage II only

    [network]                    # any STCConfig field; sizes for a small model
    base_channels = 16
    channel_multipliers = [1, 2, 2, 4]
    latent_channels = 64
    codebook_size = 256
    resolution = 128
    norm_groups = 8
    temporal_norm_groups = 8
    transformer_layers = 4
    transformer_heads = 4
    transformer_ffn = 128
    temporal_residual = "frames"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models import STCConfig

TASKS = ("bfvr", "deflicker", "deflicker-pixel")


@dataclass(frozen=True)
class TrainConfig:
    task: str
    data: tuple[Path, ...]
    output: Path
    network: STCConfig = field(default_factory=lambda: STCConfig(temporal_residual="frames"))
    steps: int = 10000
    batch_size: int = 2
    clip_length: int = 8
    learning_rate: float = 2e-4
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    seed: int = 0
    codebook_beta: float = 0.25
    prior_weight: float = 0.1
    feature_weight: float = 10.0
    index_weight: float | None = None  # None: 1.0 for bfvr, 0.5 for the deflicker tasks
    perceptual_weight: float = 0.0  # needs a pretrained backbone: not available offline
    adversarial_weight: float = 0.0  # needs frozen DINOv2 features: not available offline
    stage1_checkpoint: Path | None = None
    restart_every: int = 200  # stage I: move codewords unused over ~this many steps onto data (0: never)
    # Stage I: steps during which the generator decodes the unquantized latent (a plain autoencoder
    # learns far faster than one fighting an untrained codebook); then both codebooks are drawn
    # afresh from the trained encoder's latents and quantization takes over. 0: quantize from the start.
    quantize_from: int = 0
    # Stage II: clips are degraded at this size and then scaled (clean and degraded alike) to the
    # network's resolution by the engine's resize rule, as a face crop larger than the model is at
    # inference; blur, noise and codec blocks then shrink with the crop. None: the network's size.
    degradation_resolution: int | None = None

    @property
    def cross_entropy_weight(self) -> float:
        if self.index_weight is not None:
            return self.index_weight
        return 1.0 if self.task == "bfvr" else 0.5

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        try:
            raw: dict[str, Any] = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"cannot read training config {path}: {error}") from error
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for required in ("task", "data", "output"):
            if required not in raw:
                raise ConfigError(f"{path}: '{required}' is required")
        base = path.parent
        values = dict(raw)
        values["data"] = tuple((base / p).resolve() for p in (raw["data"] if isinstance(raw["data"], list) else [raw["data"]]))
        values["output"] = (base / raw["output"]).resolve()
        if "stage1_checkpoint" in raw:
            values["stage1_checkpoint"] = (base / raw["stage1_checkpoint"]).resolve()
        network = {"temporal_residual": "frames", **raw.get("network", {})}
        values["network"] = STCConfig.from_dict(network)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.clip_length < 2 or self.clip_length % self.network.temporal_factor:
            raise ConfigError(f"clip_length must be a multiple of {self.network.temporal_factor}, not {self.clip_length}")
        if self.degradation_resolution is not None and self.degradation_resolution < self.network.resolution:
            raise ConfigError(f"degradation_resolution ({self.degradation_resolution}) must be at least the "
                           f"network's resolution ({self.network.resolution})")
        if self.perceptual_weight or self.adversarial_weight:
            raise ConfigError(
                "the perceptual and adversarial losses need pretrained backbones (a VGG/LPIPS network, frozen "
                "DINOv2) that cannot be downloaded here; set perceptual_weight and adversarial_weight to 0, "
                "or add the backbones to the project first"
            )
