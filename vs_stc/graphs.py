"""ONNX graphs of our models for the onnxruntime backend: exported on first use and cached beside the
weights cache, one file per model file (by SHA-256), window, resolution and precision, the way
vs-mlrt names its engines; or an exported file the user names as the model."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import weights
from .errors import CheckpointError, OptionError
from .file_lock import held_exclusively
from .model_files import ModelDefaults, read_model_config, read_model_defaults
from .models.config import BFVR, STCConfig

if TYPE_CHECKING:
    from .models.export import GraphInfo

GRAPH_SUFFIX = ".onnx"


def is_graph_file(model: str) -> bool:
    return Path(model).suffix.lower() == GRAPH_SUFFIX


def graph_dir() -> Path:
    return weights.cache_dir() / "onnx"


def model_file(model: str) -> tuple[Path, str]:
    """The model file ``model`` names (downloaded first when needed) and its SHA-256; a download's is
    the one recorded when it was fetched and checked."""
    from .loading import checkpoint_file

    path, _ = checkpoint_file(model)
    record = weights.read_record(path) or weights.FileRecord.of(path)
    return path, record.sha256


def cached_graph_path(model: str, window: int, precision: str) -> tuple[Path, str, Path]:
    """(the model file, its SHA-256, where its graph for ``window`` and ``precision`` is cached)."""
    path, sha256 = model_file(model)
    resolution = (read_model_config(path) or _registry_config(model) or BFVR).resolution
    return path, sha256, graph_dir() / f"{path.stem}-{sha256[:16]}-T{window}-R{resolution}-{precision}{GRAPH_SUFFIX}"


def graph_for(model: str, window: int, precision: str) -> tuple[Path, GraphInfo]:
    """The graph that runs ``model`` over windows of ``window`` frames in ``precision``: a graph file
    named as the model must be exported for that window and precision; otherwise the cached graph of
    the model file, exported now when there is none (or when the cached one is not what its name says,
    or came from another form of the export)."""
    if is_graph_file(model):
        return _given_graph(Path(model).expanduser(), window, precision)
    path, sha256, graph = cached_graph_path(model, window, precision)
    if (info := _current_graph_info(graph, sha256, window, precision)) is not None:
        return graph, info
    graph.parent.mkdir(parents=True, exist_ok=True)
    with held_exclusively(graph.with_name(graph.name + ".lock"),
                          f"another process is exporting {graph.name}; waiting for it"):
        if (info := _current_graph_info(graph, sha256, window, precision)) is not None:
            return graph, info  # the one we waited for exported it
        return graph, _export(model, path, sha256, graph, window, precision)


def _current_graph_info(graph: Path, sha256: str, window: int, precision: str) -> GraphInfo | None:
    """The cached graph's description when it is the graph its name says, from this form of the
    export; None when there is none, it is damaged or it is another."""
    from .engine.onnx_runtime import read_graph_info
    from .models.export import EXPORT_REVISION

    if not graph.is_file():
        return None
    try:
        info = read_graph_info(graph)
    except CheckpointError:
        return None
    current = (info.model_sha256, info.window, info.precision, info.revision) == (sha256, window, precision,
                                                                                  EXPORT_REVISION)
    return info if current else None


def _registry_config(model: str) -> STCConfig | None:
    spec = weights.REGISTRY.get(model)
    return spec.config if spec else None


def export_graph(model: str, target: Path, window: int, precision: str) -> GraphInfo:
    """``stc export onnx``: the graph of ``model`` for ``window`` and ``precision``, written to ``target``."""
    path, sha256 = model_file(model)
    return _export(model, path, sha256, target, window, precision)


def _export(model: str, path: Path, sha256: str, graph: Path, window: int, precision: str) -> GraphInfo:
    from .loading import load_model
    from .models.export import GraphInfo, export_onnx

    network = load_model(path, config=_registry_config(model))
    info = GraphInfo(network.config, read_model_defaults(path).to_json(), window, precision, sha256, path.name)
    print(f"exporting {path.name} to ONNX for windows of {window} frames in {precision} ({graph})",
          file=sys.stderr)
    started = time.monotonic()
    graph.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(network, graph, info)
    print(f"exported in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return info


def _given_graph(path: Path, window: int, precision: str) -> tuple[Path, GraphInfo]:
    from .engine.onnx_runtime import read_graph_info

    if not path.is_file():
        raise OptionError("model", f"{str(path)!r} is not a file")
    info = read_graph_info(path)
    if info.window != window:
        raise OptionError("window", f"is {window}, but {path.name} was exported for windows of {info.window} frames: "
                                    f"run it with window {info.window}, or export the model again with --window "
                                    f"{window}")
    if info.precision != precision:
        raise OptionError("precision", f"is {precision}, but {path.name} was exported in {info.precision}: run it in "
                                       f"{info.precision}, or export the model again with --precision {precision}")
    return path, info


def graph_defaults(path: Path) -> ModelDefaults:
    """The run defaults an exported graph carries, its window in place of the model's."""
    from .engine.onnx_runtime import read_graph_info

    info = read_graph_info(path)
    defaults = ModelDefaults(**json.loads(info.defaults))
    overlap = defaults.overlap if defaults.overlap < info.window else info.window // 3 // 2 * 2
    return dataclasses.replace(defaults, window=info.window, overlap=overlap)
