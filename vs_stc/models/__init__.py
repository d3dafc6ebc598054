"""The STC network in pure torch: configs, blocks and the assembled model. No I/O.

The configs import without PyTorch (``stc weights list`` and ``--help`` stay instant); the network's
names load PyTorch when first asked for."""

from .config import BFVR, DEFLICKER, NAMED_CONFIGS, STCConfig, named_config

__all__ = [
    "BFVR",
    "DEFLICKER",
    "NAMED_CONFIGS",
    "STCConfig",
    "named_config",
    "UNUSED_CHECKPOINT_PREFIXES",
    "CodeIndices",
    "STCNet",
]


def __getattr__(name: str):
    if name in ("UNUSED_CHECKPOINT_PREFIXES", "CodeIndices", "STCNet"):
        from . import network

        return getattr(network, name)
    raise AttributeError(f"module 'vs_stc.models' has no attribute {name!r}")
