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
from .runtime import runtime

__all__ = [
    "load_model", "runtime", "restore", "deflicker", "STCError", "OptionError", "UnknownModelError", "CheckpointError",
    "DownloadError", "InputError", "OutputError", "ConfigError", "PluginBuildError",
]


def __getattr__(name: str):
    # Loaded when first asked for: importing vs_stc (as every command does first) stays instant, and
    # the VapourSynth filters import vapoursynth only for those who use them.
    if name == "load_model":
        from .loading import load_model

        return load_model
    if name in ("restore", "deflicker"):
        from . import vapoursynth_plugin

        return getattr(vapoursynth_plugin, name)
    raise AttributeError(f"module 'vs_stc' has no attribute {name!r}")
