"""Network configurations: every size the STC network takes, as one frozen object."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class STCConfig:
    """Sizes of the STC network. The named configs below match the released checkpoints.

    The encoder has one level per entry of ``channel_multipliers``; every level but the last
    halves the spatial size, and the levels in ``temporal_downsample_levels`` also halve time.
    Attention runs at the last level, whose size is ``latent_size`` squared.
    """

    in_channels: int = 3
    base_channels: int = 32
    channel_multipliers: tuple[int, ...] = (1, 2, 4, 8)
    blocks_per_level: int = 2
    temporal_downsample_levels: tuple[int, ...] = (0,)
    latent_channels: int = 256
    codebook_size: int = 1024
    resolution: int = 512
    norm_groups: int = 32
    temporal_norm_groups: int = 16
    transformer_layers: int = 9
    transformer_heads: int = 2
    transformer_ffn: int = 512
    # How the temporal transformer's motion residual is formed. "released": as the released
    # checkpoints were trained at stage II, where the (c, b, t, h, w) memory of the latent is cut
    # into t equal rows and row-to-row differences are read back as (b, t, h, w, c) frames (an
    # upstream quirk the weights depend on). "frames": the paper's z_t - z_{t-1} per frame.
    temporal_residual: str = "released"

    def __post_init__(self) -> None:
        if self.temporal_residual not in ("released", "frames"):
            raise ValueError(f"temporal_residual must be 'released' or 'frames', not {self.temporal_residual!r}")

    @property
    def spatial_factor(self) -> int:
        return 2 ** (len(self.channel_multipliers) - 1)

    @property
    def temporal_factor(self) -> int:
        return 2 ** len(self.temporal_downsample_levels)

    @property
    def latent_size(self) -> int:
        return self.resolution // self.spatial_factor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "STCConfig":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown STC config fields: {', '.join(unknown)}")
        defaults = cls()
        for name, value in values.items():
            expected = getattr(defaults, name)
            if isinstance(expected, tuple):
                valid = isinstance(value, (list, tuple)) and all(type(v) is int for v in value)
            else:
                valid = type(value) is type(expected)
            if not valid:
                raise ValueError(f"STC config field {name!r} must be {type(expected).__name__}"
                                 f"{' of integers' if isinstance(expected, tuple) else ''}, not {value!r}")
        tuples = {k: tuple(v) for k, v in values.items() if isinstance(v, list)}
        return cls(**{**values, **tuples})

    def with_changes(self, **changes: Any) -> "STCConfig":
        return replace(self, **changes)


BFVR = STCConfig(transformer_layers=9, transformer_heads=2)
DEFLICKER = STCConfig(transformer_layers=6, transformer_heads=4)

NAMED_CONFIGS: dict[str, STCConfig] = {"bfvr": BFVR, "deflicker": DEFLICKER}


def named_config(name: str) -> STCConfig:
    try:
        return NAMED_CONFIGS[name]
    except KeyError:
        raise KeyError(f"unknown STC config {name!r}; known: {', '.join(NAMED_CONFIGS)}") from None
