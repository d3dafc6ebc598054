"""The quality detector: RetinaFace-ResNet50, the network facexlib defines (and GFPGAN, CodeFormer,
KEEP and DicFace detect with), run on our own decoder.

facexlib ships no weights: its loader downloads ``detection_Resnet50_Final.pth`` (109 MB) from its
GitHub release into its own package folder and checks nothing. We keep the file in vs-stc's cache
(``vs_stc.weights.cache_dir()``, ``$STC_WEIGHTS_MIRROR`` honoured like the checkpoints), fetch it
with the checkpoints' resumable, atomic download, and check it against the SHA-256 pinned here,
both after download and at every load. We take from facexlib only the network definition (its
``RetinaFace`` module); its detect functions resize, sort and threshold in ways we do not want,
and its output goes through retinaface_decode.py like the ONNX detector's.

Registered as ``retinaface-resnet50`` (entry point group ``vs_stc.detectors``), rank 20: chosen by
``detector="auto"`` whenever its weights are in the cache; naming it explicitly downloads them.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import CheckpointError, DownloadError
from .hooks import hookimpl
from .retinaface_decode import decode, network_input
from .types import DetectorInfo, Face

NAME = "retinaface-resnet50"
DEFAULT_THRESHOLD = 0.8


@dataclass(frozen=True)
class WeightsFile:
    """A detector weights file: where it is published and what it must hash to."""

    filename: str
    url: str
    sha256: str
    size: int

    @property
    def download_url(self) -> str:
        """The release asset, or the same file name under ``$STC_WEIGHTS_MIRROR`` when set."""
        mirror = os.environ.get("STC_WEIGHTS_MIRROR")
        return f"{mirror.rstrip('/')}/{self.filename}" if mirror else self.url

    def path(self) -> Path:
        from ..weights import cache_dir

        return cache_dir() / self.filename


RESNET50 = WeightsFile(
    "detection_Resnet50_Final.pth",
    "https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_Resnet50_Final.pth",
    "6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d",
    109497761,
)


def weights_status(spec: WeightsFile = RESNET50) -> str | None:
    """None when the weights are in the cache (by size: cheap; the hash is checked at load)."""
    path = spec.path()
    if path.is_file() and path.stat().st_size == spec.size:
        return None
    return f"its weights ({spec.size / 1e6:.0f} MB) are not in {path.parent}"


def fetch(spec: WeightsFile = RESNET50, *, progress: bool = True) -> Path:
    """The verified weights file, downloaded first when missing. A file that does not hash to the
    pinned SHA-256 is deleted (a damaged or substituted download) and the error says so."""
    from ..weights import FileRecord, download, record_path

    path = spec.path()
    if path.is_file():
        record = FileRecord.of(path)
    else:
        record = download(spec.download_url, path, progress=progress)
    if record.sha256 != spec.sha256 or record.size != spec.size:
        path.unlink(missing_ok=True)
        record_path(path).unlink(missing_ok=True)
        raise DownloadError(
            f"{spec.filename} from {spec.download_url} is not the expected file ({record.size} bytes, sha256 "
            f"{record.sha256[:12]}...; expected {spec.size} bytes, sha256 {spec.sha256[:12]}...); it was deleted: "
            "run again to download it anew"
        )
    return path


class FacexlibRetinaFace:
    """RetinaFace (facexlib's network) with weights from ``path``. ``network``: resnet50 (the
    released weights) or mobile0.25 (facexlib's small variant); ``half``: fp16 on CUDA."""

    name = NAME

    def __init__(self, path: Path | str, *, network: str = "resnet50", device: str = "cpu",
                 threshold: float = DEFAULT_THRESHOLD, nms_iou: float = 0.4, batch: int = 4,
                 half: bool = False) -> None:
        self.path, self.network, self.device = Path(path), network, device
        self.threshold, self.nms_iou, self.batch, self.half = threshold, nms_iou, batch, half

    @cached_property
    def net(self):
        import torch
        from facexlib.detection.retinaface import RetinaFace

        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise CheckpointError(f"{self.path} is not a loadable RetinaFace weights file: {error}") from error
        state = {k.removeprefix("module."): v for k, v in state.items()}
        with warnings.catch_warnings():  # torchvision's note on resnet50(pretrained=False)
            warnings.simplefilter("ignore")
            net = RetinaFace(network_name=self.network, half=False, device=torch.device("cpu"))
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise CheckpointError(f"{self.path} does not fit RetinaFace-{self.network}: {error}") from error
        net = net.to(self.device).eval()
        return net.half() if self.half else net

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        import torch

        results: list[list[Face]] = []
        for first in range(0, len(images), self.batch):
            batch = np.stack(images[first:first + self.batch])
            height, width = batch.shape[1:3]
            x = torch.from_numpy(network_input(batch)).to(self.device)
            with torch.inference_mode():
                loc, conf, landmarks = self.net(x.half() if self.half else x)
            loc, conf, landmarks = (t.float().cpu().numpy() for t in (loc, conf, landmarks))
            results.extend(decode(loc[i], conf[i, :, 1], landmarks[i], height, width, self.threshold, self.nms_iou)
                           for i in range(len(batch)))
        return results


def load(device: str = "cpu", spec: WeightsFile = RESNET50) -> FacexlibRetinaFace:
    detector = FacexlibRetinaFace(fetch(spec), device=device)
    detector.net  # fail here, with the reason, rather than on the first frame
    return detector


def status() -> str | None:
    from importlib.util import find_spec

    if find_spec("facexlib") is None:  # importing it would take seconds: only look
        return "facexlib is not installed (pip install facexlib)"
    return weights_status()


INFO = DetectorInfo(NAME, f"RetinaFace-ResNet50 (facexlib's network; {RESNET50.size / 1e6:.0f} MB of weights, "
                          "downloaded once)",
                    load=load, status=status, rank=20, fetchable=True)


@hookimpl
def stc_face_detectors() -> list[DetectorInfo]:
    return [INFO]
