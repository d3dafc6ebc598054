"""vs-stc: STC video face enhancement for VapourSynth, FFmpeg pipes and batch renders."""

from .errors import (
    CheckpointError,
    ConfigError,
    DownloadError,
    InputError,
    OptionError,
    OutputError,
    PluginBuildError,
    STCError,
    UnknownModelError,
)
from .loading import load_model
from .runtime import runtime

__all__ = [
    "load_model", "runtime", "restore", "deflicker", "STCError", "OptionError", "UnknownModelError", "CheckpointError",
    "DownloadError", "InputError", "OutputError", "ConfigError", "PluginBuildError",
]


def __getattr__(name: str):
    # The VapourSynth filters import vapoursynth; load them only when asked for.
    if name in ("restore", "deflicker"):
        from . import vapoursynth_plugin

        return getattr(vapoursynth_plugin, name)
    raise AttributeError(f"module 'vs_stc' has no attribute {name!r}")
