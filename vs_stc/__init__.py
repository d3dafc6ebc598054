"""vs-stc: STC video face enhancement for VapourSynth, FFmpeg pipes and batch renders."""

from .errors import CheckpointError, DownloadError, STCError
from .loading import load_model

__all__ = ["load_model", "STCError", "CheckpointError", "DownloadError"]
