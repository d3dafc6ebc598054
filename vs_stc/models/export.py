"""The network as an ONNX graph for one window length: what ONNX Runtime runs (and, through its
execution providers, TensorRT, DirectML, OpenVINO, CoreML, MIGraphX).

The graph maps ``clip`` (1, 3, T, R, R) float32 in [0, 1] to ``restored`` (the same shape, float32,
all NaN when the latent overflowed, as ``STCNet.forward``) and the argmax code indices
``spatial_indices`` and ``temporal_indices`` (1, T / 2, R / 8, R / 8). An fp16 graph computes in
fp16 between a cast after its input and one before its output, so every graph is fed and read the
same way. The argmax reduces the last axis of the lookup transformers' rank-3 logits (TensorRT
needs it there); the training-only nearest-codebook search is not part of inference, so it never
reaches the graph.

The file describes itself in its metadata (``GraphInfo``): the network's config, the model's run
defaults (window, overlap, blend), the window, resolution and precision it was exported for, the
SHA-256 of the model file it came from and the revision of the export that wrote it.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from ..atomic import replaced_atomically
from . import attention
from .config import STCConfig
from .network import STCNet

OPSET = 18
INPUT = "clip"
OUTPUTS = ("restored", "spatial_indices", "temporal_indices")
GRAPH_PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16}
METADATA_PREFIX = "stc_"
# Bumped when the graph changes for the same model file, window and precision, so cached graphs
# from before are exported again. 2: the attention in query chunks (bounded memory).
EXPORT_REVISION = 2


@dataclass(frozen=True)
class GraphInfo:
    """What an exported graph says about itself (its metadata, every value text)."""

    config: STCConfig
    defaults: str  # model_files.ModelDefaults as JSON
    window: int
    precision: str
    model_sha256: str
    model: str  # the model's name or file name, for messages
    revision: int = EXPORT_REVISION  # graphs without the entry are revision 1

    @property
    def resolution(self) -> int:
        return self.config.resolution

    def metadata(self) -> dict[str, str]:
        return {f"{METADATA_PREFIX}config": json.dumps(self.config.to_dict()),
                f"{METADATA_PREFIX}defaults": self.defaults,
                f"{METADATA_PREFIX}window": str(self.window),
                f"{METADATA_PREFIX}resolution": str(self.resolution),
                f"{METADATA_PREFIX}precision": self.precision,
                f"{METADATA_PREFIX}model_sha256": self.model_sha256,
                f"{METADATA_PREFIX}model": self.model,
                f"{METADATA_PREFIX}export_revision": str(self.revision)}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> "GraphInfo":
        """Raises KeyError or ValueError when the metadata is not a complete, well-formed set."""
        value = {key[len(METADATA_PREFIX):]: text for key, text in metadata.items() if key.startswith(METADATA_PREFIX)}
        info = cls(STCConfig.from_dict(json.loads(value["config"])), value["defaults"], int(value["window"]),
                   value["precision"], value["model_sha256"], value["model"],
                   int(value.get("export_revision", "1")))
        if int(value["resolution"]) != info.resolution or info.precision not in GRAPH_PRECISIONS:
            raise ValueError("resolution or precision does not match the config")
        return info


class WindowGraph(nn.Module):
    """What is exported: a float32 clip in, the restored clip (float32) and the code indices out."""

    def __init__(self, network: STCNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        restored, indices = self.network.restore_with_indices(clip.to(next(self.network.parameters()).dtype))
        return restored.float(), indices.spatial, indices.temporal


def export_onnx(network: STCNet, target: Path, info: GraphInfo) -> Path:
    """Writes ``network`` (fp32, on the CPU) as the graph ``info`` describes to ``target``,
    atomically, and checks it with ``onnx.checker`` (full check)."""
    import onnx

    if info.config != network.config:
        raise ValueError("the graph's description names another config than the network's")
    graph_network = network.to(GRAPH_PRECISIONS[info.precision])
    clip = torch.zeros(1, network.config.in_channels, info.window, info.resolution, info.resolution)
    with _whole_clip(graph_network), attention.for_export(), _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(WindowGraph(graph_network).eval(), (clip,), dynamo=True, opset_version=OPSET,
                                    input_names=[INPUT], output_names=list(OUTPUTS), external_data=False,
                                    verbose=False)
    proto = program.model_proto
    for key, value in info.metadata().items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    with replaced_atomically(Path(target), suffix=".onnx") as partial:
        onnx.save(proto, str(partial))
    return Path(target)


@contextmanager
def _whole_clip(network: STCNet) -> Iterator[None]:
    """The graph runs every level over the whole window at once: the chunked levels are a loop of
    Python-side kernel calls that would unroll into thousands of nodes."""
    chunk = network.temporal_chunk
    network.temporal_chunk = None
    try:
        yield
    finally:
        network.temporal_chunk = chunk


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter reports each of its steps (and every constant it folds) through logging."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "torch.export")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
