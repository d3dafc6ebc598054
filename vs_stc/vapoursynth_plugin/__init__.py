"""The VapourSynth surface: core.stc.Restore / core.stc.Deflicker through a small native plugin,
and the same filters as Python functions (vs_stc.restore, vs_stc.deflicker)."""

from .api import deflicker, restore

__all__ = ["restore", "deflicker"]
