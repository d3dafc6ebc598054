"""Moving frames between the caller's buffers and the model's device.

A frame is three planes (R, G, B), each a 2-D array of one sample type: numpy arrays in host
memory (possibly strided views straight over the caller's buffers, e.g. VapourSynth planes) or
CUDA arrays that speak DLPack (CuPy). Nothing is copied until the one conversion to float32, where
samples are scaled to [0, 1] and resized to the model's size; the cast to the model's dtype comes
last, so no half type ever holds a raw 16-bit sample.

Uploads and the end of downloads run on the calling thread; the model and the start of its
download run on the device's worker (device.py). On CUDA, host frames are staged in pinned memory
(PyTorch's caching host allocator reuses it once its copy is done) and uploaded and converted on a
dedicated stream, whose event the worker's stream waits for; the result is copied back on a third
stream into pinned memory in the model's dtype, and the caller converts it to float32. Windows
overlap on the device only when several threads ask for them (VapourSynth's random access): the
pipe and batch renders ask for one window at a time, so there upload, model and download follow
one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch

from .resizing import resize_frames

Plane = Any  # np.ndarray, or a device array with __dlpack__ (CuPy)
Frame = Sequence[Plane]


@dataclass(frozen=True)
class SampleFormat:
    """How plane samples map to [0, 1]: integers scale by 2**bits - 1, floats are already there."""

    dtype: np.dtype
    bits: int

    @classmethod
    def of(cls, dtype: np.dtype | type, bits: int | None = None) -> "SampleFormat":
        dtype = np.dtype(dtype)
        if dtype == np.uint8:
            return cls(dtype, 8)
        if dtype == np.uint16:
            return cls(dtype, bits or 16)
        if dtype in (np.float16, np.float32):
            return cls(dtype, bits or 8 * dtype.itemsize)
        raise ValueError(f"unsupported sample type {dtype}: use uint8, uint16, float16 or float32 planes")

    @property
    def is_integer(self) -> bool:
        return self.dtype.kind == "u"

    @property
    def peak(self) -> float:
        return float(2**self.bits - 1) if self.is_integer else 1.0


def plane_tensor(plane: Plane) -> torch.Tensor:
    """A zero-copy tensor view of a plane, numpy or device array alike, through DLPack (which takes
    callers' read-only planes, such as VapourSynth's, without the warning from_numpy gives)."""
    return torch.from_dlpack(plane)


def frame_shape(frame: Frame) -> tuple[int, int]:
    shapes = {tuple(p.shape) for p in frame}
    if len(frame) != 3 or len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"a frame must be three 2-D planes of one size (R, G, B), got shapes {sorted(shapes)}")
    return next(iter(shapes))


def window_shape(frames: Sequence[Frame]) -> tuple[int, int]:
    """The common (H, W) of a window's frames; frames of different sizes are an error."""
    shape = frame_shape(frames[0])
    for t, frame in enumerate(frames[1:], start=1):
        if frame_shape(frame) != shape:
            raise ValueError(f"frame {t} of a window is {frame_shape(frame)[::-1]} (W, H), the first is {shape[::-1]}: "
                             "frame size must not change within a clip")
    return shape


class Uploaded(NamedTuple):
    """A window on the model's device, (1, 3, T, R, R) in its dtype; ``ready``: the CUDA event that
    marks its upload finished (None where the upload finished before ``upload`` returned)."""

    batch: torch.Tensor
    ready: Any = None


def unit_range(frames: Sequence[Frame], fmt: SampleFormat, device: torch.device) -> torch.Tensor:
    """Frames -> (1, 3, T, H, W) float32 in [0, 1] on ``device``. Every sample type converts to
    float32 exactly and is scaled there: scaling in a half type first would turn 16-bit white
    (65535) into infinity in fp16."""
    h, w = window_shape(frames)
    batch = torch.empty((1, 3, len(frames), h, w), dtype=torch.float32, device=device)
    for t, frame in enumerate(frames):
        for c, plane in enumerate(frame):
            batch[0, c, t].copy_(plane_tensor(plane))
    if fmt.is_integer:
        batch.mul_(1.0 / fmt.peak)
    return batch


def host_frames(frames: Sequence[Frame], fmt: SampleFormat) -> torch.Tensor:
    """Frames -> (3, T, H, W) float32 in [0, 1] in host memory."""
    return unit_range(frames, fmt, torch.device("cpu"))[0]


class HostExchange:
    """CPU: planes are read in place, converted once to float32, resized to the model's size and
    cast to its dtype last."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype

    def upload(self, frames: Sequence[Frame], fmt: SampleFormat, size: int | None = None) -> Uploaded:
        """Frames -> the model's input: in [0, 1], resized to ``size`` x ``size`` when given
        (resizing.py), on its device, in its dtype."""
        return Uploaded(self._finished(unit_range(frames, fmt, self.device), size))

    def _finished(self, batch: torch.Tensor, size: int | None) -> torch.Tensor:
        """float32 (1, 3, T, H, W) in [0, 1] -> resized to ``size`` when given, in the model's dtype."""
        if size is not None:
            batch = resize_frames(batch, size)
        return batch.to(self.dtype)

    def wait(self, uploaded: Uploaded) -> torch.Tensor:
        """The uploaded batch, safe to use on the calling thread's current stream (the worker's)."""
        return uploaded.batch

    def start_download(self, clip: torch.Tensor) -> Any:
        """Starts bringing (3, T, H, W) ``clip`` back to the host (on the device's worker)."""
        return clip

    def finish_download(self, pending: Any) -> torch.Tensor:
        """Waits for a download ``start_download`` began -> float32 on the host (on the caller)."""
        return pending.to(device="cpu", dtype=torch.float32)

    def download(self, clip: torch.Tensor) -> torch.Tensor:
        """(3, T, H, W) on the device -> float32 on the host."""
        return self.finish_download(self.start_download(clip))


class CudaExchange(HostExchange):
    """CUDA: host planes are staged in pinned memory and uploaded asynchronously on a dedicated
    stream, where they are also converted and resized; device planes (CuPy) arrive through DLPack
    without a copy; the worker's stream waits for the upload's event, whatever stream the caller
    was on; results come back on another stream. Safe to call from several threads at once."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__(device, dtype)
        self.upload_stream = torch.cuda.Stream(device)
        self.download_stream = torch.cuda.Stream(device)

    def upload(self, frames: Sequence[Frame], fmt: SampleFormat, size: int | None = None) -> Uploaded:
        staged = self._staged(frames) if isinstance(frames[0][0], np.ndarray) else None
        with torch.cuda.stream(self.upload_stream):  # DLPack makes CuPy's stream wait for this one
            if staged is None:
                batch = unit_range(frames, fmt, self.device)
            else:  # the allocator keeps the pinned block until its copy is done
                batch = staged.to(self.device, non_blocking=True).unsqueeze(0).float()
                if fmt.is_integer:
                    batch.mul_(1.0 / fmt.peak)
            batch = self._finished(batch, size)
            ready = torch.cuda.Event()
            ready.record(self.upload_stream)
        return Uploaded(batch, ready)

    @staticmethod
    def _staged(frames: Sequence[Frame]) -> torch.Tensor:
        """Host planes -> one pinned (3, T, H, W) block in their own sample type."""
        h, w = window_shape(frames)
        staging = torch.empty((3, len(frames), h, w), dtype=plane_tensor(frames[0][0]).dtype, pin_memory=True)
        for t, frame in enumerate(frames):
            for c, plane in enumerate(frame):
                staging[c, t].copy_(plane_tensor(plane))
        return staging

    def wait(self, uploaded: Uploaded) -> torch.Tensor:
        stream = torch.cuda.current_stream(self.device)
        stream.wait_event(uploaded.ready)
        uploaded.batch.record_stream(stream)
        return uploaded.batch

    def start_download(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.cuda.Event]:
        result = torch.empty(tuple(clip.shape), dtype=clip.dtype, pin_memory=True)
        self.download_stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.download_stream):
            result.copy_(clip, non_blocking=True)
            clip.record_stream(self.download_stream)
            done = torch.cuda.Event(blocking=True)  # the waiting caller sleeps instead of spinning a core
            done.record(self.download_stream)
        return result, done

    def finish_download(self, pending: tuple[torch.Tensor, torch.cuda.Event]) -> torch.Tensor:
        result, done = pending
        done.synchronize()
        return torch.empty(result.shape, dtype=torch.float32).copy_(result)  # pageable: pinned memory is scarce


def exchange_for(device: torch.device, dtype: torch.dtype) -> HostExchange:
    return CudaExchange(device, dtype) if device.type == "cuda" else HostExchange(device, dtype)


def tensor_to_planes(frame: torch.Tensor, fmt: SampleFormat, out: Frame | None = None) -> list[np.ndarray]:
    """(3, H, W) float in [0, 1] -> three planes of ``fmt`` (written into ``out`` when given)."""
    scaled = frame.clamp(0, 1)
    if fmt.is_integer:
        scaled = scaled.mul(fmt.peak).round_()
    converted = scaled.to(plane_tensor(np.empty(0, fmt.dtype)).dtype)
    if out is None:
        return [converted[c].numpy() for c in range(3)]
    for c in range(3):
        np.copyto(out[c], converted[c].numpy())
    return list(out)
