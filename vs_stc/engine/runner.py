"""The windowed runner: runs the frozen model once per planned window and blends windows into
output frames, either by random access (any frame, any order, any thread) or as a stream.

Output frame n depends only on n and the input clip: the plan fixes which windows make it and
with which weights, each window's output is a pure function of its input frames, and blending
always adds the same terms in the same order. It depends only on a bounded neighbourhood: frames
n - window + 1 .. n + window - 1, and the scene cuts in ``planning.cut_span(n)``. Random access
takes the cuts as a list up front or, per request, as a function that answers for the frames
near n (read lazily from their props by the VapourSynth filter).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Container, Iterable, Iterator, Sequence

import torch

from ..errors import PrecisionError
from ..models import heap
from .cache import WindowCache
from .detail import keep_input_colours, keep_input_detail
from .device import exact_float32, lane_threads, use_threads, worker_for
from .exchange import Frame, SampleFormat, Uploaded, exchange_for, frame_shape, host_frames
from .levels import anchor_levels
from .memory import is_large_run
from .onnx_runtime import Network, placement
from .planning import Contribution, IsCut, Plan, Window, plan, plan_around, shot_window_starts, validate
from .resizing import check_size, resize_frames

ReadFrames = Callable[[Sequence[int]], Sequence[Frame]]


def check_finite(output: torch.Tensor, first: int | None, frames: int, dtype: torch.dtype) -> None:
    """Refuses a window whose output holds NaN or infinity (the model marks its whole output NaN
    when its latent overflowed): such a frame is garbage, never to be handed on silently."""
    if bool(torch.isfinite(output.sum())):  # one pass: any NaN or infinity makes the sum so
        return
    where = f"frames {first}-{first + frames - 1}" if first is not None else f"a window of {frames} frames"
    precision = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, "fp32")
    fix = "use precision fp32 or bf16" if dtype == torch.float16 else "check the input and the model file"
    raise PrecisionError(f"the model's output for {where} is not finite (NaN or infinity) in {precision}: {fix}")


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
    """Model + device + precision: turns a window's frames into its restored frames; the model (an
    STCNet, or an exported graph in ONNX Runtime) runs on a worker thread of its device (device.py),
    whatever thread asks."""

    def __init__(self, model: Network, fmt: SampleFormat, options: EngineOptions = EngineOptions(),
                 lanes: int = 1) -> None:
        """``lanes``: on the CPU, how many windows ``run_many`` runs side by side, each on its own
        worker with an equal share of the engine's threads (device.lane_threads); elsewhere one."""
        if options.window % model.config.temporal_factor:
            raise ValueError(f"window must be a multiple of {model.config.temporal_factor}, not {options.window}")
        self.model, self.fmt, self.options = model, fmt, options
        device, dtype, self.compute_dtype = placement(model)
        self.lanes = lanes if device.type == "cpu" else 1
        self.exchange = exchange_for(device, dtype)
        self.workers = [worker_for(device, lane) for lane in range(self.lanes)]
        if device.type == "cpu" and is_large_run(model, options.window):
            heap.keep_small()
        self.resolution = model.config.resolution

    def check_frame(self, frame: Frame) -> tuple[int, int]:
        h, w = frame_shape(frame)
        check_size(h, w, self.resolution, self.options.resize)
        return h, w

    def run(self, frames: Sequence[Frame], first: int | None = None, lane: int = 0) -> torch.Tensor:
        """Window frames -> restored (3, T, R, R) float32 on the host, at the model's resolution.
        The model runs on the worker of ``lane``; reading, converting and resizing the frames, and
        bringing the result back, on the calling thread. ``first``: the clip's index of the
        window's first frame, for the error a non-finite output raises."""
        self.check_frame(frames[0])
        uploaded = self.exchange.upload(frames, self.fmt, self.resolution)
        output = self.exchange.finish_download(self.workers[lane].run(self._forward, uploaded))
        check_finite(output, first, len(frames), self.compute_dtype)
        return anchor_levels(output, uploaded.batch[0]) if self.options.keep_detail else output

    def run_many(self, windows: Sequence[tuple[Sequence[Frame], int]]) -> list[torch.Tensor]:
        """The outputs of several windows, each given as (frames, first), in order; on several lanes
        they run side by side. Each output is what ``run`` gives: a window's output depends on its
        frames and its lane's thread count only, never on what runs beside it."""
        if self.lanes == 1 or len(windows) < 2:
            return [self.run(frames, first) for frames, first in windows]
        with ThreadPoolExecutor(self.lanes, thread_name_prefix="stc-lane") as pool:
            return list(pool.map(lambda job: self.run(*job[1], lane=job[0] % self.lanes), enumerate(windows)))

    def _forward(self, uploaded: Uploaded) -> object:
        batch = self.exchange.wait(uploaded)
        if batch.device.type == "cpu":
            use_threads(lane_threads(self.lanes))
        with exact_float32(batch):
            return self.exchange.start_download(self.model(batch)[0])

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
        source = host_frames([original], self.fmt)[:, 0]
        if self.options.keep_detail:
            return keep_input_detail(frame, source)
        return keep_input_colours(frame, source, self.resolution)


class RandomAccessRestorer:
    """Any output frame of a clip of known length, in any order, from any thread.

    ``read(indices)`` returns the input frames at those clip indices; it is called once per window
    the cache does not hold. It can be given per call instead (when each request brings its frames).
    Scene cuts likewise: ``cuts`` up front, or ``is_cut`` per call (asked only about the frames in
    ``planning.cut_span(n)``), which overrides ``cuts``."""

    def __init__(
        self,
        runner: WindowRunner,
        length: int,
        size: tuple[int, int],
        read: ReadFrames | None = None,
        cuts: Iterable[int] = (),
    ) -> None:
        """``size``: the clip's (height, width)."""
        check_size(*size, runner.resolution, runner.options.resize)
        if length < 1:
            raise ValueError(f"a clip needs at least one frame, not {length}")
        self.runner, self.read, self.size, self.length = runner, read, size[0], length
        self.cuts = frozenset(c for c in cuts if 0 < c < length)
        self.cache = WindowCache(runner.options.cache_windows, runner.options.cache_bytes)

    @cached_property
    def plan(self) -> Plan:
        """The whole clip's plan with the cuts given up front (made on first use)."""
        return plan(self.length, self.runner.options.window, self.runner.options.overlap, self.cuts)

    def plan_for(self, n: int, is_cut: IsCut | None = None) -> Plan:
        """Enough of the plan for frame ``n``: ``plan_for(n).contributions(n)``."""
        return plan_around(n, self.length, self.runner.options.window, self.runner.options.overlap,
                           is_cut or self.cuts.__contains__)

    def window_output(self, window: Window, read: ReadFrames | None = None) -> torch.Tensor:
        read = read or self.read
        if read is None:
            raise ValueError("no frame reader: give one to RandomAccessRestorer or to this call")
        return self.cache.get((window.start, window.end),
                              lambda: self.runner.run(read(window.frames), window.start))

    def frame(self, n: int, read: ReadFrames | None = None, is_cut: IsCut | None = None) -> torch.Tensor:
        """Output frame ``n`` as (3, H, W) float32 in [0, 1] at the input size."""
        return self.frame_and_windows(n, read, is_cut)[0]

    def frame_and_windows(self, n: int, read: ReadFrames | None = None,
                          is_cut: IsCut | None = None) -> tuple[torch.Tensor, list[int]]:
        """Output frame ``n`` and the starts of the windows that made it."""
        local = self.plan_for(n, is_cut)
        contributions = local.contributions(n)
        windows = [local.windows[c.window] for c in contributions]
        outputs = [self.window_output(w, read) for w in windows]
        original = (read or self.read)([n])[0] if self.runner.options.uses_input_frames else None
        return self.runner.finish(contributions, outputs, self.size, original), [w.start for w in windows]


def stream(runner: WindowRunner, frames: Iterable[Frame], cuts: Container[int] = ()) -> Iterator[torch.Tensor]:
    """Restores frames given in order, yielding output frames in order, each exactly once.
    ``cuts``: the frames that start a shot; asked about frame n only once frame n has been given,
    so a detector may fill it as the frames go by (cuts.StreamCuts).

    Holds at most one window of input frames (plus the windows whose outputs still feed frames not
    yet emitted); a frame leaves as soon as no later window can change it. Output equals
    RandomAccessRestorer's, bit for bit, for the same frames and cuts."""
    shot: _ShotStream | None = None
    for n, frame in enumerate(frames):
        if shot is None or n in cuts:
            if shot is not None:
                yield from shot.finish()
            shot = _ShotStream(runner, runner.check_frame(frame)[0], n)
        yield from shot.push(frame)
    if shot is not None:
        yield from shot.finish()


class _ShotStream:
    """Streaming state of one shot: the last ``window`` input frames, and the outputs of the
    windows that frames not yet emitted need, keyed by window start (shot-relative). ``first``:
    the shot's first clip frame, which places the clip's window grid (planning.py) in the shot."""

    def __init__(self, runner: WindowRunner, size: int, first: int) -> None:
        self.runner, self.size, self.first = runner, size, first
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
        if start == 0 or (start > 0 and (self.first + start) % self.stride == 0):
            self._run(start)
        # A frame before received - window lies beyond any window still to come (even the shot's
        # last one, which ends at the shot's end), so its weights are final.
        yield from self._emit_until(start, self._plan(self.received))

    def finish(self) -> Iterator[torch.Tensor]:
        length = self.received
        first_held = length - len(self.inputs)
        for start in shot_window_starts(self.first, self.first + length, self.window, self.runner.options.overlap):
            start -= self.first
            if start > self.latest:  # the shot's last window, or the padded one of a short shot
                window = Window(start, self.window, min(start + self.window, length), start == 0)
                self._run(start, [self.inputs[i - first_held] for i in window.frames])
        yield from self._emit_until(length, self._plan(length))

    def _run(self, start: int, frames: list[Frame] | None = None) -> None:
        self.outputs[start] = self.runner.run(frames if frames is not None else list(self.inputs), self.first + start)
        self.latest = start

    def _plan(self, length: int) -> Plan:
        """The plan of this shot as if it ended at ``length``, over the windows held. The window
        released last stays in it: where it ended fixes when its successor's handover starts."""
        starts = ([] if self.released is None else [self.released]) + sorted(self.outputs)
        windows = tuple(Window(s, self.window, min(s + self.window, length), s == 0) for s in starts)
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
