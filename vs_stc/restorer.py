"""The two restorers every surface uses, one per face mode, with one contract: frames in their own
format (``colour.Picture``) in, ``colour.Restored`` frames out, each exactly once, in order; scene
cuts asked about a frame once it has been given. ``faces="aligned"``: the whole frame is a face crop
(StreamRestorer, here); ``faces="auto"``: faces found in whole frames (faces.stream)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Container, Iterable, Iterator

import numpy as np
import torch

from .colour import Picture, Restored, restored
from .engine import EngineOptions, RandomAccessRestorer, SampleFormat, WindowRunner, stream
from .engine.memory import check_window_fits
from .engine.resizing import check_size
from .errors import InputError, OptionError
from .engine.onnx_runtime import Network
from .loading import load_network
from .options import RunOptions

if TYPE_CHECKING:
    from .faces.stream import FaceStreamRestorer

RGB = SampleFormat.of(np.float32)  # frames reach the engine as float RGB in [0, 1] (colour.to_rgb)


def rgb_planes(rgb: np.ndarray) -> list[np.ndarray]:
    """(H, W, 3) -> the engine's three planes (views)."""
    return [rgb[..., c] for c in range(3)]


def whole_frame(picture: Picture, before: np.ndarray, frame: torch.Tensor) -> Restored:
    """``picture`` (whose RGB is ``before``) replaced by the engine's (3, H, W) ``frame``."""
    height, width = picture.size
    return restored(picture, (0, 0, width, height), before, frame.permute(1, 2, 0).numpy())


class StreamRestorer:
    """Aligned mode: checks a stream's frame size up front, then restores its frames in order.
    ``cuts``: where the caller's scene cuts come from ("auto": the built-in detector; "off")."""

    counts = None  # what face mode counts (faces.stream.FaceCounts); aligned mode has nothing to count
    detector_reason = None  # which face detector runs, and why; aligned mode runs none

    def __init__(self, network: Network, engine: EngineOptions, cuts: str = "auto") -> None:
        check_window_fits(network, engine.window)
        self.network, self.engine, self.cuts = network, engine, cuts

    def check(self, height: int, width: int) -> None:
        check_size(height, width, self.network.config.resolution, self.engine.resize)

    def __call__(self, frames: Iterable[Picture], cuts: Container[int] = (), first: int = 0,
                 wanted: range | None = None, length: int | None = None) -> Iterator[Restored]:
        """Restores one clip as a stream, or frames ``wanted`` of a clip of ``length`` frames.

        ``frames``: the clip from its frame ``first`` on; ``cuts``: the frames that start a shot (a
        stream asks about frame n once frame n has been given; a stretch asks about any frame, so
        the caller knows them all). A stretch comes out as in one pass over the whole clip when
        ``frames`` hold the windows that make it (``cluster.units.frames_needed``)."""
        if wanted is None:
            yield from self._stream(frames, cuts)
        elif length is None:
            raise ValueError("a stretch of a clip needs the clip's length: its window grid depends on it")
        else:
            yield from self._stretch(iter(frames), frozenset(c for c in range(1, length) if c in cuts), first,
                                     wanted, length)

    def _stream(self, frames: Iterable[Picture], cuts: Container[int]) -> Iterator[Restored]:
        held: deque[tuple[Picture, np.ndarray]] = deque()  # the frames whose output is not out yet

        def engine_frames() -> Iterator[list[np.ndarray]]:
            for picture in frames:
                held.append((picture, picture.rgb()))
                yield rgb_planes(held[-1][1])

        for frame in stream(WindowRunner(self.network, RGB, self.engine), engine_frames(), cuts):
            picture, before = held.popleft()
            yield whole_frame(picture, before, frame)

    def _stretch(self, frames: Iterator[Picture], cuts: frozenset[int], first: int, wanted: range,
                 length: int) -> Iterator[Restored]:
        """Frames ``wanted`` by random access over the windows that make them; each input frame is
        read once, in order, and dropped once no window still to come reads it."""
        held: dict[int, tuple[Picture, np.ndarray]] = {}
        arrived = first

        def fetch(index: int) -> tuple[Picture, np.ndarray]:
            nonlocal arrived
            while arrived <= index:
                picture = next(frames, None)
                if picture is None:
                    raise InputError(f"the input ended at frame {arrived}, before frame {index} that frames "
                                     f"{wanted.start}-{wanted.stop - 1} need")
                held[arrived] = (picture, picture.rgb())
                arrived += 1
            return held[index]

        picture, _ = fetch(first)
        runner = WindowRunner(self.network, RGB, self.engine)
        restorer = RandomAccessRestorer(runner, length, picture.size, cuts=cuts,
                                        read=lambda indices: [rgb_planes(fetch(i)[1]) for i in indices])
        for n in wanted:
            frame = restorer.frame(n)
            picture, before = fetch(n)
            yield whole_frame(picture, before, frame)
            for index in [i for i in held if i <= n - self.engine.window]:
                del held[index]


def load_restorer(options: RunOptions) -> StreamRestorer | FaceStreamRestorer:
    """Loads the model the options name, on their device, in their precision and backend (and, for
    ``faces="auto"``, the face detector)."""
    return restorer_for(load_network(options.network), options)


def restorer_for(network: Network, options: RunOptions) -> StreamRestorer | FaceStreamRestorer:
    """The restorer ``options`` ask for around a network already loaded."""
    if options.cuts == "props":
        raise OptionError("cuts", "is 'props', but only clips in VapourSynth carry scene-change props; use auto "
                                  "(the built-in detector) or off")
    if options.faces == "aligned":
        return StreamRestorer(network, options.engine_options(), options.cuts)
    from .faces import load_detector
    from .faces.stream import FaceStreamRestorer

    check_window_fits(network, options.window)
    detector, reason = load_detector(options.detector, options.device)
    return FaceStreamRestorer(network, options.engine_options(), detector, reason, options.min_face,
                              cuts=options.cuts, face_score=options.face_score)
