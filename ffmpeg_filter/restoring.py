"""Model options shared by the command lines, and the streaming restorer they build."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch

from vs_stc.engine import EngineOptions, Frame, SampleFormat, WindowRunner, stream
from vs_stc.engine.resizing import check_size
from vs_stc.errors import STCError
from vs_stc.loading import PRECISIONS, load_model
from vs_stc.weights import DEFLICKER_MODES, default_checkpoint, window_for


@dataclass(frozen=True)
class ModelOptions:
    task: str
    mode: str = "brightness"
    model: str | None = None
    device: str = "cpu"
    window: int | None = None  # None: the model's own (weights.window_for)
    overlap: int | None = None
    precision: str = "fp32"
    faces: str = "aligned"
    keep_detail: bool = False
    keep_colours: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ModelOptions":
        return cls(args.task, args.mode, args.model, args.device, args.window, args.overlap, args.precision, args.faces,
                   args.keep_detail, args.keep_colours)

    @property
    def checkpoint(self) -> str:
        return self.model or default_checkpoint(self.task, self.mode)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", help="checkpoint name or path (default: bfvr for restore, by --mode for deflicker)")
    group.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    group.add_argument("--window", type=int,
                       help="frames per model run, even (default: the model's own: 24, or 4 for the tiny models)")
    group.add_argument("--overlap", type=int,
                       help="frames crossfaded between runs, even (default: the model's own: 8, or 2 for the tiny ones)")
    group.add_argument("--precision", choices=list(PRECISIONS), default="fp32", help="default: fp32")
    group.add_argument("--faces", choices=["aligned", "auto"], default="aligned",
                       help="aligned: the frames are square face crops (resized to the model's size and back)")
    keep = group.add_mutually_exclusive_group()
    keep.add_argument("--keep-detail", action="store_true",
                      help="keep the input's detail, take only brightness from the model (for deflicker)")
    keep.add_argument("--keep-colours", action="store_true",
                      help="keep the input's colours and shading, take detail from the model (for restoring)")


class StreamRestorer:
    """A loaded model with engine options: checks a stream's frame size up front, then restores
    its frames as they come (``restorer(frames, sample_format)`` -> restored frames, in order)."""

    def __init__(self, network, engine: EngineOptions) -> None:
        self.network, self.engine = network, engine

    def check(self, height: int, width: int) -> None:
        check_size(height, width, self.network.config.resolution, self.engine.resize)

    def __call__(self, frames: Iterable[Frame], fmt: SampleFormat) -> Iterator[torch.Tensor]:
        return stream(WindowRunner(self.network, fmt, self.engine), frames)


def restorer_from(options: ModelOptions) -> StreamRestorer:
    """Checks the options and loads the model."""
    if options.faces == "auto":
        raise STCError("--faces auto (detect, align and paste back faces) is not available yet; give square face crops")
    if options.task == "deflicker" and options.mode not in DEFLICKER_MODES:
        raise STCError(f"--mode must be one of {', '.join(DEFLICKER_MODES)}")
    try:
        window, overlap = window_for(options.checkpoint, options.window, options.overlap)
        engine = EngineOptions(window=window, overlap=overlap, resize=True,
                               keep_detail=options.keep_detail, keep_colours=options.keep_colours)
    except ValueError as error:
        raise STCError(f"--window/--overlap: {error}") from None
    return StreamRestorer(load_model(options.checkpoint, device=options.device, dtype=options.precision), engine)
