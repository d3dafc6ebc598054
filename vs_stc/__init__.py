"""vs-stc: STC video face enhancement for VapourSynth, FFmpeg pipes and batch renders."""

from .errors import CheckpointError, DownloadError, STCError
from .loading import load_model

__all__ = ["load_model", "restore", "deflicker", "STCError", "CheckpointError", "DownloadError"]


def __getattr__(name: str):
    # The VapourSynth filters import vapoursynth; load them only when asked for.
    if name in ("restore", "deflicker"):
        from . import vsfilter

        return getattr(vsfilter, name)
    raise AttributeError(f"module 'vs_stc' has no attribute {name!r}")
