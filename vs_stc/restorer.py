"""A loaded model with its engine options, restoring a stream of frames as they come; shared by
the pipe filter, batch renders and ``stc eval``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

import torch

from .engine import EngineOptions, Frame, SampleFormat, WindowRunner, stream
from .engine.memory import check_window_fits
from .engine.resizing import check_size
from .loading import load_model
from .models import STCNet
from .options import RunOptions

if TYPE_CHECKING:
    from .faces.stream import FaceStreamRestorer


class StreamRestorer:
    """Checks a stream's frame size up front, then restores its frames in order
    (``restorer(frames, sample_format)`` -> restored frames, each exactly once)."""

    def __init__(self, network: STCNet, engine: EngineOptions) -> None:
        check_window_fits(network, engine.window)
        self.network, self.engine = network, engine

    def check(self, height: int, width: int) -> None:
        check_size(height, width, self.network.config.resolution, self.engine.resize)

    def __call__(self, frames: Iterable[Frame], fmt: SampleFormat) -> Iterator[torch.Tensor]:
        return stream(WindowRunner(self.network, fmt, self.engine), frames)


def load_restorer(options: RunOptions) -> StreamRestorer | FaceStreamRestorer:
    """Loads the model the options name, on their device and in their precision (and, for
    ``faces="auto"``, the face detector)."""
    return restorer_for(load_model(options.model, device=options.device, precision=options.precision), options)


def restorer_for(network: STCNet, options: RunOptions) -> StreamRestorer | FaceStreamRestorer:
    """The restorer ``options`` ask for around a network already loaded."""
    if options.faces == "aligned":
        return StreamRestorer(network, options.engine_options())
    from .faces import load_detector
    from .faces.stream import FaceStreamRestorer

    check_window_fits(network, options.window)
    detector, reason = load_detector(options.detector, options.device)
    return FaceStreamRestorer(network, options.engine_options(), detector, reason, options.min_face)
