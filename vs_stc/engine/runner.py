"""The windowed runner: runs the frozen model once per planned window and blends windows into
output frames, either by random access (any frame, any order, any thread) or as a stream.

Output frame n depends only on n and the input clip: the plan fixes which windows make it and
with which weights, each window's output is a pure function of its input frames, and blending
always adds the same terms in the same order.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import torch

from ..models import STCNet
from .cache import WindowCache
from .detail import keep_input_colours, keep_input_detail
from .exchange import Frame, HostExchange, SampleFormat, exchange_for, frame_shape
from .planning import Contribution, Plan, Window, plan, shot_window_starts, validate
from .resizing import check_size, resize_frames

ReadFrames = Callable[[Sequence[int]], Sequence[Frame]]


@dataclass(frozen=True)
class EngineOptions:
    """Window length and overlap (even; overlap < window), cache bounds, whether square frames
    of another size are resized to the model's resolution and back, and whether output frames
    keep the input's detail (brightness from the model) or its colours (detail from the model);
    see detail.py."""

    window: int = 24
    overlap: int = 8
    cache_windows: int = 4
    cache_bytes: int = 1 << 30
    resize: bool = False
    keep_detail: bool = False
    keep_colours: bool = False

    def __post_init__(self) -> None:
        validate(self.window, self.overlap)
        if self.keep_detail and self.keep_colours:
            raise ValueError("keep detail and keep colours exclude each other: the first takes only brightness "
                             "from the model, the second everything but colours")

    @property
    def uses_input_frames(self) -> bool:
        """Whether finishing an output frame needs its input frame too."""
        return self.keep_detail or self.keep_colours


class WindowRunner:
    """Model + device + precision: turns a window's frames into its restored frames, once at a time."""

    def __init__(self, model: STCNet, fmt: SampleFormat, options: EngineOptions = EngineOptions()) -> None:
        if options.window % model.config.temporal_factor:
            raise ValueError(f"window must be a multiple of {model.config.temporal_factor}, not {options.window}")
        self.model, self.fmt, self.options = model, fmt, options
        parameter = next(model.parameters())
        self.exchange = exchange_for(parameter.device, parameter.dtype)
        self.resolution = model.config.resolution
        self._model_lock = threading.Lock()  # the model already uses every core; one window at a time

    def check_frame(self, frame: Frame) -> tuple[int, int]:
        h, w = frame_shape(frame)
        check_size(h, w, self.resolution, self.options.resize)
        return h, w

    def run(self, frames: Sequence[Frame]) -> torch.Tensor:
        """Window frames -> restored (3, T, R, R) float32 on the host, at the model's resolution."""
        self.check_frame(frames[0])
        with self._model_lock:
            batch = self.exchange.upload(frames, self.fmt)
            batch = resize_frames(batch, self.resolution)
            return self.exchange.download(self.model(batch)[0])

    def finish(self, contributions: Sequence[Contribution], outputs: Sequence[torch.Tensor], size: int,
               original: Frame | None = None) -> torch.Tensor:
        """Blends one output frame from its windows' outputs and scales it to the input size;
        in the keep modes ``original`` (the input frame) supplies its detail or its colours."""
        first, *rest = zip(contributions, outputs)
        frame = first[1][:, first[0].offset] * first[0].weight
        for contribution, output in rest:
            frame.add_(output[:, contribution.offset], alpha=contribution.weight)
        frame = resize_frames(frame, size)
        if not self.options.uses_input_frames:
            return frame
        if original is None:
            raise ValueError("keep detail / keep colours need the input frame")
        source = HostExchange(torch.device("cpu"), torch.float32).upload([original], self.fmt)[0, :, 0]
        if self.options.keep_detail:
            return keep_input_detail(frame, source)
        return keep_input_colours(frame, source, self.resolution)


class RandomAccessRestorer:
    """Any output frame of a clip of known length, in any order, from any thread.

    ``read(indices)`` returns the input frames at those clip indices; it is called once per window
    the cache does not hold. It can be given per call instead (when each request brings its frames)."""

    def __init__(
        self,
        runner: WindowRunner,
        length: int,
        size: tuple[int, int],
        read: ReadFrames | None = None,
        cuts: Sequence[int] = (),
    ) -> None:
        """``size``: the clip's (height, width)."""
        check_size(*size, runner.resolution, runner.options.resize)
        self.runner, self.read, self.size = runner, read, size[0]
        self.plan: Plan = plan(length, runner.options.window, runner.options.overlap, cuts)
        self.cache = WindowCache(runner.options.cache_windows, runner.options.cache_bytes)

    def window_output(self, index: int, read: ReadFrames | None = None) -> torch.Tensor:
        read = read or self.read
        if read is None:
            raise ValueError("no frame reader: give one to RandomAccessRestorer or to this call")
        window = self.plan.windows[index]
        return self.cache.get(index, lambda: self.runner.run(read(window.frames)))

    def frame(self, n: int, read: ReadFrames | None = None) -> torch.Tensor:
        """Output frame ``n`` as (3, H, W) float32 in [0, 1] at the input size."""
        contributions = self.plan.contributions(n)
        outputs = [self.window_output(c.window, read) for c in contributions]
        original = (read or self.read)([n])[0] if self.runner.options.uses_input_frames else None
        return self.runner.finish(contributions, outputs, self.size, original)


def stream(runner: WindowRunner, frames: Iterable[Frame], cuts: Iterable[int] = ()) -> Iterator[torch.Tensor]:
    """Restores frames given in order, yielding output frames in order, each exactly once.

    Holds at most one window of input frames (plus the windows whose outputs still feed frames not
    yet emitted); a frame leaves as soon as no later window can change it. Output equals
    RandomAccessRestorer's, bit for bit, for the same frames and cuts."""
    cut_set = set(cuts)
    shot: _ShotStream | None = None
    for n, frame in enumerate(frames):
        if shot is None or n in cut_set:
            if shot is not None:
                yield from shot.finish()
            shot = _ShotStream(runner, runner.check_frame(frame)[0])
        yield from shot.push(frame)
    if shot is not None:
        yield from shot.finish()


class _ShotStream:
    """Streaming state of one shot: the last ``window`` input frames, and the outputs of the
    windows that frames not yet emitted need, keyed by window start (shot-relative)."""

    def __init__(self, runner: WindowRunner, size: int) -> None:
        self.runner, self.size = runner, size
        self.window, self.stride = runner.options.window, runner.options.window - runner.options.overlap
        self.inputs: deque[Frame] = deque(maxlen=self.window)
        self.unemitted: deque[Frame] = deque()  # keep modes: the inputs of frames not yet out
        self.outputs: dict[int, torch.Tensor] = {}
        self.released: int | None = None  # start of the latest window whose output was dropped
        self.latest: int = -1  # start of the latest window computed
        self.received = self.emitted = 0

    def push(self, frame: Frame) -> Iterator[torch.Tensor]:
        self.inputs.append(frame)
        if self.runner.options.uses_input_frames:
            self.unemitted.append(frame)
        self.received += 1
        start = self.received - self.window
        if start >= 0 and start % self.stride == 0:
            self._run(start)
        # A frame before received - window lies beyond any window still to come (even the shot's
        # last one, which ends at the shot's end), so its weights are final.
        yield from self._emit_until(start, self._plan(self.received))

    def finish(self) -> Iterator[torch.Tensor]:
        length = self.received
        first_held = length - len(self.inputs)
        for start in shot_window_starts(length, self.window, self.runner.options.overlap):
            if start > self.latest:  # the shot's last window, or the padded one of a short shot
                self._run(start, [self.inputs[i - first_held] for i in Window(0, length, start, self.window).frames])
        yield from self._emit_until(length, self._plan(length))

    def _run(self, start: int, frames: list[Frame] | None = None) -> None:
        self.outputs[start] = self.runner.run(frames if frames is not None else list(self.inputs))
        self.latest = start

    def _plan(self, length: int) -> Plan:
        """The plan of this shot as if it ended at ``length``, over the windows held. The window
        released last stays in it: where it ended fixes when its successor's handover starts."""
        starts = ([] if self.released is None else [self.released]) + sorted(self.outputs)
        windows = tuple(Window(0, length, s, self.window) for s in starts)
        return Plan(length, self.window, self.runner.options.overlap, windows)

    def _emit_until(self, end: int, local: Plan) -> Iterator[torch.Tensor]:
        while self.emitted < end:
            contributions = local.contributions(self.emitted)
            outputs = [self.outputs[local.windows[c.window].start] for c in contributions]
            original = self.unemitted.popleft() if self.runner.options.uses_input_frames else None
            yield self.runner.finish(contributions, outputs, self.size, original)
            self.emitted += 1
        for start in sorted(s for s in self.outputs if s + self.window <= self.emitted):
            del self.outputs[start]
            self.released = start
