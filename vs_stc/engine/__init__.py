"""The streaming engine: window planning, crossfade, the windowed runner with its cache, and
host <-> device frame exchange. Every surface (VapourSynth, FFmpeg, CLI) calls into this."""

from .exchange import Frame, SampleFormat, tensor_to_planes
from .planning import Contribution, Plan, Window, plan
from .runner import EngineOptions, RandomAccessRestorer, WindowRunner, stream

__all__ = [
    "Frame",
    "SampleFormat",
    "tensor_to_planes",
    "Contribution",
    "Plan",
    "Window",
    "plan",
    "EngineOptions",
    "RandomAccessRestorer",
    "WindowRunner",
    "stream",
]
