"""Finding the face detectors (pluggy + entry points), choosing one, and running it on frames.

Detectors are plugins (hooks.py). The registry holds vs-stc's own two, registered directly (so
they work in a checkout that was never reinstalled) under the same names as their entry points
(so loading the entry points does not register them twice), plus whatever the installed
packages declare in the ``vs_stc.detectors`` group. A plugin that fails to import is reported
when someone asks for it, and does not break the others.

``detector="auto"`` takes the highest-ranked detector that is ready offline: RetinaFace-ResNet50
(rank 20) when its weights are in the cache, else the bundled RetinaFace-MobileNet0.25 (rank 10).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np
import pluggy

from ..errors import OptionError
from .hooks import ENTRY_POINT_GROUP, PROJECT, DetectorSpec
from .plausibility import confirmed
from .types import Detector, DetectorInfo, Face

BUILTIN_PLUGINS = {  # entry point name -> module; the same lines are declared in pyproject.toml
    "retinaface-resnet50": "vs_stc.faces.facexlib_detector",
    "retinaface-mobile": "vs_stc.faces.retinaface_onnx",
}
AUTO = "auto"


@dataclass
class DetectorRegistry:
    """The plugin manager and what loading the plugins found."""

    manager: pluggy.PluginManager
    broken: dict[str, str] = field(default_factory=dict)  # entry point name -> why it failed to load

    def detectors(self) -> dict[str, DetectorInfo]:
        """Every offered detector by name; the first plugin to offer a name wins."""
        found: dict[str, DetectorInfo] = {}
        for offered in reversed(self.manager.hook.stc_face_detectors()):  # pluggy calls last-registered first
            for info in offered:
                found.setdefault(info.name, info)
        return found


def new_registry(*, entry_point_group: str | None = ENTRY_POINT_GROUP, builtins: bool = True) -> DetectorRegistry:
    """A fresh registry: our own detectors (``builtins``) and the plugins of ``entry_point_group``."""
    import importlib

    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(DetectorSpec)
    registry = DetectorRegistry(manager)
    if builtins:
        for name, module in BUILTIN_PLUGINS.items():
            manager.register(importlib.import_module(module), name=name)
    if entry_point_group:
        for point in entry_points(group=entry_point_group):
            if manager.get_plugin(point.name) is not None or manager.is_blocked(point.name):
                continue
            try:
                manager.register(point.load(), name=point.name)
            except Exception as error:  # a broken plugin must not take the others down
                registry.broken[point.name] = f"{type(error).__name__}: {error}"
    return registry


@functools.cache
def default_registry() -> DetectorRegistry:
    """The registry of this process, built on first use (never at import)."""
    return new_registry()


def describe(registry: DetectorRegistry | None = None) -> list[tuple[str, str, str]]:
    """(name, description, status text) of every detector, best first: for `stc` to list them."""
    registry = registry or default_registry()
    rows = []
    for info in sorted(registry.detectors().values(), key=lambda i: -i.rank):
        reason = info.status()
        state = "ready" if reason is None else reason + ("; fetched on first use" if info.fetchable else "")
        rows.append((info.name, info.description, state))
    rows.extend((name, "plugin failed to load", why) for name, why in registry.broken.items())
    return rows


@dataclass(frozen=True)
class Choice:
    """The detector chosen, and a sentence saying which and why (for logs and frame props)."""

    info: DetectorInfo
    reason: str


def choose_detector(name: str = AUTO, registry: DetectorRegistry | None = None) -> Choice:
    """Resolves ``detector=name`` without loading anything. Raises ``OptionError('detector')``."""
    registry = registry or default_registry()
    detectors = registry.detectors()
    if name != AUTO:
        if name in detectors:
            info = detectors[name]
            reason = info.status()
            if reason is not None and not info.fetchable:
                raise OptionError("detector", f"is {name!r}, which cannot run here: {reason}")
            missing = f"; fetching what is missing: {reason}" if reason else ""
            return Choice(info, f"face detector {name} (as asked){missing}")
        if name in registry.broken:
            raise OptionError("detector", f"is {name!r}, whose plugin failed to load: {registry.broken[name]}")
        raise OptionError("detector", f"must be auto or one of {', '.join(detectors)}, not {name!r}")
    ranked = sorted(detectors.values(), key=lambda i: -i.rank)
    skipped = []
    for info in ranked:
        reason = info.status()
        if reason is None:
            why = f"face detector {info.name} (auto)"
            if skipped:
                why += "; not " + "; not ".join(skipped)
            return Choice(info, why)
        skipped.append(f"{info.name}: {reason}" + (f" (detector={info.name!r} fetches them)" if info.fetchable else ""))
    raise OptionError("detector", "is auto, but no face detector can run here: " + "; ".join(skipped))


def load_detector(name: str = AUTO, device: str = "cpu",
                  registry: DetectorRegistry | None = None) -> tuple[Detector, str]:
    """The loaded detector named (or chosen by auto) and the sentence saying which and why."""
    choice = choose_detector(name, registry)
    return choice.info.load(device), choice.reason


# Running a detector on video frames ---------------------------------------------------------

DETECT_MAX_SIDE = 1920
"""Frames are detected at most this large (longer side): 4K frames at half size. RetinaFace finds
faces down to about 16 px boxes, so a face of the default ``min_face`` (64 px crop, about a 40 px
box) is still found at half size; full-size 4K detection would quadruple its cost for nothing."""


def detection_image(frame: np.ndarray, peak: float | None = None, max_side: int | None = DETECT_MAX_SIDE
                    ) -> tuple[np.ndarray, float]:
    """An RGB frame (H, W, 3) of any sample type -> (RGB uint8 image to detect on, factor from its
    coordinates to the frame's). Integers scale by ``peak`` (default: their full range), floats
    are taken as [0, 1]. Shrinks with area averaging so small faces keep their shape."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frames must be RGB arrays of shape (H, W, 3), not {frame.shape}")
    image = to_uint8(frame, peak)
    height, width = image.shape[:2]
    factor = 1.0
    if max_side and max(height, width) > max_side:
        factor = max(height, width) / max_side
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        factor = width / size[0]
    return image, factor


def to_uint8(frame: np.ndarray, peak: float | None = None) -> np.ndarray:
    if frame.dtype == np.uint8 and peak in (None, 255):
        return np.ascontiguousarray(frame)
    if frame.dtype.kind == "u":
        scale = 255.0 / (peak or np.iinfo(frame.dtype).max)
    elif frame.dtype.kind == "f":
        scale = 255.0 * (1.0 if peak is None else 1.0 / peak)
    else:
        raise ValueError(f"unsupported sample type {frame.dtype}: use uint8, uint16, float16 or float32")
    return np.clip(np.rint(frame.astype(np.float32) * scale), 0, 255).astype(np.uint8)


def detect_frames(detector: Detector, frames: Iterable[np.ndarray], *, peak: float | None = None,
                  max_side: int | None = DETECT_MAX_SIDE, batch: int = 4, confirm: bool = False
                  ) -> Iterator[list[Face]]:
    """The faces of each frame, in frame coordinates, in order. Reads frames one at a time and
    keeps only small detection images (``batch`` of them), so a long 4K block costs little memory.
    ``confirm``: score each face the lowest of its score and its second looks'
    (``plausibility.confirmed``), as face mode does; else as the detector reports them."""
    pending: list[np.ndarray] = []
    factor = 1.0
    for frame in frames:
        image, factor = detection_image(frame, peak, max_side)
        pending.append(image)
        if len(pending) == batch:
            yield from _run(detector, pending, factor, confirm)
            pending = []
    if pending:
        yield from _run(detector, pending, factor, confirm)


def _run(detector: Detector, images: Sequence[np.ndarray], factor: float, confirm: bool) -> list[list[Face]]:
    found = detector.detect(images)
    if len(found) != len(images):
        raise RuntimeError(f"detector {detector.name} returned {len(found)} results for {len(images)} images")
    if confirm:
        found = [confirmed(detector, image, faces) for image, faces in zip(images, found)]
    return [[face.scaled(factor) if factor != 1.0 else face for face in faces] for faces in found]
