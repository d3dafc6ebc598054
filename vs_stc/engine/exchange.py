"""Moving frames between the caller's buffers and the model's device.

A frame is three planes (R, G, B), each a 2-D array of one sample type: numpy arrays in host
memory (possibly strided views straight over the caller's buffers, e.g. VapourSynth planes) or
CUDA arrays that speak DLPack (CuPy). Nothing is copied until the one conversion into the model's
(1, 3, T, H, W) layout and dtype.

Uploads and the end of downloads run on the calling thread, in parallel with other windows; the
model and the start of its download run on the device's worker (device.py). On CUDA, host frames
are staged in pinned memory (PyTorch's caching host allocator reuses it once its copy is done) and
uploaded on a dedicated stream, while the model computes on the worker's; the result is copied back
on a third stream into pinned memory in the model's dtype, so the worker can start the next window
while the previous one is still on its way down, and the caller converts it to float32.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

# Callers' planes are often read-only (VapourSynth input frames); we only ever read from them.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)

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
    """A zero-copy tensor view of a plane: numpy via from_numpy, device arrays via DLPack."""
    if isinstance(plane, np.ndarray):
        return torch.from_numpy(plane)
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


class HostExchange:
    """CPU: planes are read in place and converted once into the model's layout and dtype."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype

    def upload(self, frames: Sequence[Frame], fmt: SampleFormat) -> torch.Tensor:
        """Frames -> (1, 3, T, H, W) tensor in [0, 1] on the model's device and dtype."""
        h, w = window_shape(frames)
        batch = torch.empty((1, 3, len(frames), h, w), dtype=self.dtype, device=self.device)
        for t, frame in enumerate(frames):
            for c, plane in enumerate(frame):
                batch[0, c, t].copy_(plane_tensor(plane))  # the one conversion (sample type -> dtype)
        if fmt.is_integer:
            batch.mul_(1.0 / fmt.peak)
        return batch

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
    stream; device planes (CuPy) arrive through DLPack without a copy; results come back on another
    stream. Safe to call from several threads at once."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__(device, dtype)
        self.upload_stream = torch.cuda.Stream(device)
        self.download_stream = torch.cuda.Stream(device)

    def upload(self, frames: Sequence[Frame], fmt: SampleFormat) -> torch.Tensor:
        if not isinstance(frames[0][0], np.ndarray):
            return super().upload(frames, fmt)  # already on the device: DLPack views, one conversion
        h, w = window_shape(frames)
        sample_dtype = plane_tensor(frames[0][0]).dtype
        staging = torch.empty((3, len(frames), h, w), dtype=sample_dtype, pin_memory=True)
        for t, frame in enumerate(frames):
            for c, plane in enumerate(frame):
                staging[c, t].copy_(plane_tensor(plane))
        with torch.cuda.stream(self.upload_stream):
            on_device = staging.to(self.device, non_blocking=True)  # the allocator keeps staging until done
            batch = on_device.to(self.dtype).unsqueeze(0)
            if fmt.is_integer:
                batch.mul_(1.0 / fmt.peak)
        torch.cuda.current_stream(self.device).wait_stream(self.upload_stream)
        batch.record_stream(torch.cuda.current_stream(self.device))
        return batch

    def start_download(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.cuda.Event]:
        result = torch.empty(tuple(clip.shape), dtype=clip.dtype, pin_memory=True)
        self.download_stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.download_stream):
            result.copy_(clip, non_blocking=True)
            clip.record_stream(self.download_stream)
            done = torch.cuda.Event()
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
