"""The STC network in pure torch: configs, blocks and the assembled model. No I/O."""

from .config import BFVR, DEFLICKER, NAMED_CONFIGS, STCConfig, named_config
from .network import UNUSED_CHECKPOINT_PREFIXES, CodeIndices, STCNet

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
