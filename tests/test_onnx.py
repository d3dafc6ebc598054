"""The ONNX export and the onnxruntime backend, on the bundled (trained) models and real frames:
the graph's form (checker, argmax axes, self-description), ONNX Runtime against PyTorch, a whole
render through ``--backend onnxruntime`` against the torch render, the graph cache, and the errors."""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import subprocess
from contextlib import redirect_stderr
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from vs_stc.errors import CheckpointError, OptionError
from vs_stc.file_lock import held_exclusively
from vs_stc.media.degrade import degrade
from vs_stc.graphs import cached_graph_path, graph_for
from vs_stc.loading import load_model
from vs_stc.metrics import psnr
from vs_stc.engine.onnx_runtime import memory_device, provider_entry, read_graph_info
from vs_stc.models import attention
from vs_stc.models.export import EXPORT_REVISION, GraphInfo, export_onnx
from vs_stc.options import resolve
from vs_stc.media.portraits import held_out_clip

from commands import stc
from conftest import printed_to_stderr
from media import write_yuv420

WINDOW = 4  # the bundled models' own window


@pytest.fixture(scope="session")
def graph_cache(tmp_path_factory) -> Path:
    """A weights cache of this test run's own, shared by its xdist workers (each worker's temporary
    folder sits in the run's): graphs are exported there once per run."""
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "onnx-graph-cache"
    cache.mkdir(exist_ok=True)
    previous = os.environ.get("STC_WEIGHTS_DIR")
    os.environ["STC_WEIGHTS_DIR"] = str(cache)
    yield cache
    if previous is None:
        del os.environ["STC_WEIGHTS_DIR"]
    else:
        os.environ["STC_WEIGHTS_DIR"] = previous


@dataclass
class Exports:
    """The run's graphs, each exported once: ``graphs`` (model, precision) -> file; how the cache
    met an entry that names another model file; the ``stc export onnx`` run that wrote one."""

    graphs: dict[tuple[str, str], Path]
    stale_export_message: str
    command: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def exports(graph_cache) -> Exports:
    """Made by the first worker to ask (the others wait for it and read what it recorded)."""
    record = graph_cache / "exports.json"
    with open(graph_cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            record.write_text(json.dumps(_export_graphs(graph_cache)))
        made = json.loads(record.read_text())
    graphs = {tuple(key.split("/")): Path(path) for key, path in made["graphs"].items()}
    command = subprocess.CompletedProcess(made["command"]["args"], made["command"]["returncode"],
                                          made["command"]["stdout"], made["command"]["stderr"])
    return Exports(graphs, made["stale_export_message"], command)


def _export_graphs(cache: Path) -> dict:
    graphs = {("tiny-bfvr", "fp32"): graph_for("tiny-bfvr", WINDOW, "fp32")[0]}
    # A cache entry that names another model file (replaced by hand, half-overwritten) is not trusted.
    stale = cached_graph_path("tiny-deflicker", WINDOW, "fp32")[2]
    shutil.copyfile(graphs["tiny-bfvr", "fp32"], stale)
    messages = io.StringIO()
    with redirect_stderr(messages):
        graphs["tiny-deflicker", "fp32"], info = graph_for("tiny-deflicker", WINDOW, "fp32")
    assert info.model == "tiny-deflicker.safetensors"
    graphs["tiny-bfvr", "fp16"] = cache / "tiny-bfvr-fp16.onnx"
    command = stc("export", "onnx", "--model", "tiny-bfvr", "-o", str(graphs["tiny-bfvr", "fp16"]),
                  "--precision", "fp16")
    return {"graphs": {"/".join(key): str(path) for key, path in graphs.items()},
            "stale_export_message": messages.getvalue(),
            "command": {"args": command.args, "returncode": command.returncode, "stdout": command.stdout,
                        "stderr": command.stderr}}


@pytest.fixture(scope="session")
def graphs(exports) -> dict[tuple[str, str], Path]:
    return exports.graphs


def degraded_faces(task: str, seed: int = 3, frames: int = WINDOW) -> np.ndarray:
    """A real face (the held-out portrait) on a camera path, degraded as each task expects: uint8."""
    clean = held_out_clip(seed=seed, frames=frames, size=64)
    return degrade(clean, "bfvr" if task == "tiny-bfvr" else "brightness", seed=seed)


def as_batch(clip: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(clip).permute(3, 0, 1, 2).unsqueeze(0).float().div(255).contiguous()


def session(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_the_graph_passes_the_full_check_has_no_custom_ops_and_argmaxes_a_last_axis(graphs):
    for path in graphs.values():
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        assert {node.domain for node in model.graph.node} <= {"", "ai.onnx"}
        inferred = onnx.shape_inference.infer_shapes(model)
        ranks = {value.name: len(value.type.tensor_type.shape.dim)
                 for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
        reductions = [node for node in model.graph.node if node.op_type in ("ArgMax", "ArgMin")]
        assert len(reductions) == 2  # the spatial and the temporal lookup transformer
        for node in reductions:
            rank = ranks[node.input[0]]
            axis = next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "axis")
            assert rank <= 4 and axis in (-1, rank - 1), (node.name, rank, axis)
        assert not {node.op_type for node in model.graph.node} & {"RandomNormal", "RandomUniform", "Multinomial",
                                                                   "RandomNormalLike", "RandomUniformLike"}


def test_the_graph_describes_itself(graphs):
    network = load_model("tiny-bfvr")
    model = onnx.load(str(graphs["tiny-bfvr", "fp32"]), load_external_data=False)
    info = GraphInfo.from_metadata({entry.key: entry.value for entry in model.metadata_props})
    assert (info.config, info.window, info.precision, info.model) == (network.config, WINDOW, "fp32",
                                                                      "tiny-bfvr.safetensors")
    from vs_stc.weights import model_defaults

    assert info.defaults == model_defaults("tiny-bfvr").to_json()
    assert [i.name for i in model.graph.input] == ["clip"]
    assert [o.name for o in model.graph.output] == ["restored", "spatial_indices", "temporal_indices"]


@pytest.mark.parametrize("model", ["tiny-bfvr", "tiny-deflicker"])
def test_onnx_runtime_matches_pytorch_in_fp32(graphs, model):
    network = load_model(model)
    clip = as_batch(degraded_faces(model))
    with torch.inference_mode():
        expected, indices = network.restore_with_indices(clip)
    restored, spatial, temporal = session(graphs[model, "fp32"]).run(None, {"clip": clip.numpy()})
    same = np.concatenate([(spatial == indices.spatial.numpy()).ravel(), (temporal == indices.temporal.numpy()).ravel()])
    assert same.mean() >= 0.999
    assert np.abs(restored - expected.numpy()).max() <= 1e-4


def test_the_fp16_graph_restores_as_well_as_fp32(graphs):
    """fp16 exports of face restorers are known to collapse to flat colour: this one keeps the
    restoration's PSNR against the clean clip within 0.5 dB of fp32's."""
    clean = held_out_clip(seed=5, frames=WINDOW, size=64)
    clip = as_batch(degrade(clean, "bfvr", seed=5)).numpy()
    reference = as_batch(clean).numpy()
    full = session(graphs["tiny-bfvr", "fp32"]).run(["restored"], {"clip": clip})[0]
    half = session(graphs["tiny-bfvr", "fp16"]).run(["restored"], {"clip": clip})[0]
    full, half, reference = full * 255, half * 255, reference * 255  # psnr takes 8-bit levels
    assert abs(psnr(half, reference) - psnr(full, reference)) <= 0.5
    assert psnr(half, full) >= 35
    assert half.std() > 0.05  # not a flat colour


def read_rgb(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def test_a_render_through_onnx_runtime_matches_the_torch_render(graph_cache, tmp_path):
    frames = degraded_faces("tiny-bfvr", seed=7, frames=10)
    source = write_yuv420(tmp_path / "faces.mkv", list(np.repeat(np.repeat(frames, 2, 1), 2, 2)), "ffv1")
    outputs = {}
    for backend in ("torch", "onnxruntime"):
        outputs[backend] = tmp_path / f"{backend}.mkv"
        run = stc("restore", str(source), "-o", str(outputs[backend]), "--model", "tiny-bfvr", "--faces", "aligned",
                  "--codec", "ffv1", "--backend", backend, "--quiet")
        assert run.returncode == 0, run.stderr
        assert f"on {'CPU' if backend == 'onnxruntime' else 'cpu'}, fp32, {backend}" in run.stdout.splitlines()[-1]
    torch_frames, onnx_frames = read_rgb(outputs["torch"]), read_rgb(outputs["onnxruntime"])
    assert torch_frames.shape == onnx_frames.shape == (10, 128, 128, 3)
    assert np.abs(torch_frames.astype(int) - onnx_frames.astype(int)).max() <= 1
    assert not np.array_equal(torch_frames, read_rgb(source))  # the model ran


def test_a_cached_graph_is_reused_and_a_stale_one_exported_again(exports, capsys):
    path = exports.graphs["tiny-bfvr", "fp32"]
    before = path.stat().st_mtime_ns
    assert graph_for("tiny-bfvr", WINDOW, "fp32")[0] == path
    assert path.stat().st_mtime_ns == before and "exporting" not in capsys.readouterr().err
    assert "exporting tiny-deflicker.safetensors to ONNX" in exports.stale_export_message


def test_the_graph_attends_in_chunks_under_the_map_budget_and_still_matches(graphs, monkeypatch, tmp_path):
    """The exported attention holds at most EXPORTED_MAP_BYTES of map at a time (here made small so
    the bundled model's attention splits): every Softmax's input stays under it, and ONNX Runtime
    still matches PyTorch."""
    budget = 4 * 2**20  # the latent and the transformers' maps (16 and 32 MiB) in 8 chunks each
    monkeypatch.setattr(attention, "EXPORTED_MAP_BYTES", budget)
    network = load_model("tiny-bfvr")
    info = read_graph_info(graphs["tiny-bfvr", "fp32"])
    chunked = export_onnx(network, tmp_path / "chunked.onnx", info)
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(chunked)))
    shapes = {value.name: [dim.dim_value for dim in value.type.tensor_type.shape.dim]
              for value in inferred.graph.value_info}
    maps = [shapes[node.input[0]] for node in inferred.graph.node if node.op_type == "Softmax"]
    whole = onnx.load(str(graphs["tiny-bfvr", "fp32"]))
    assert len(maps) > sum(node.op_type == "Softmax" for node in whole.graph.node)
    assert all(0 < np.prod(shape) * 4 <= budget for shape in maps), maps
    clip = as_batch(degraded_faces("tiny-bfvr", seed=11))
    with torch.inference_mode():
        expected, indices = network.restore_with_indices(clip)
    restored, spatial, temporal = session(chunked).run(None, {"clip": clip.numpy()})
    assert np.array_equal(spatial, indices.spatial.numpy()) and np.array_equal(temporal, indices.temporal.numpy())
    assert np.abs(restored - expected.numpy()).max() <= 1e-4


def _as_cached_for_window(graphs, window: int, revision_entry: bool) -> onnx.ModelProto:
    """The session's tiny-bfvr graph described as the cache entry for ``window``, with or without
    the export's revision (without: 1, the first form of the export)."""
    model = onnx.load(str(graphs["tiny-bfvr", "fp32"]))
    described = {entry.key: entry.value for entry in model.metadata_props}
    described["stc_window"] = str(window)
    if not revision_entry:
        del described["stc_export_revision"]
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, described)
    return model


def test_a_cached_graph_of_an_earlier_export_is_exported_again(graphs, capsys):
    """A cache entry that is right in all but the export's revision."""
    cached = cached_graph_path("tiny-bfvr", 2, "fp32")[2]
    onnx.save(_as_cached_for_window(graphs, 2, revision_entry=False), str(cached))
    assert read_graph_info(cached).revision == 1
    capsys.readouterr()
    assert graph_for("tiny-bfvr", 2, "fp32") == (cached, read_graph_info(cached))
    assert "exporting tiny-bfvr.safetensors to ONNX" in capsys.readouterr().err
    assert read_graph_info(cached).revision == EXPORT_REVISION


def test_a_graph_another_process_is_exporting_is_waited_for_and_taken(graphs, capsys):
    cached = cached_graph_path("tiny-bfvr", 6, "fp32")[2]
    capsys.readouterr()
    with ThreadPoolExecutor(1) as pool:
        with held_exclusively(cached.with_name(cached.name + ".lock"), None):  # another's export
            waiting = pool.submit(graph_for, "tiny-bfvr", 6, "fp32")
            printed = printed_to_stderr(capsys, "waiting for it")
            assert not waiting.done()
            onnx.save(_as_cached_for_window(graphs, 6, revision_entry=True), str(cached))  # what it exported
        assert waiting.result(timeout=60) == (cached, read_graph_info(cached))
    assert f"another process is exporting {cached.name}; waiting for it" in printed
    assert "exporting tiny-bfvr.safetensors to ONNX" not in printed + capsys.readouterr().err


def test_a_graph_file_runs_as_the_model_and_must_match_the_window(graphs, tmp_path):
    path = graphs["tiny-bfvr", "fp32"]
    options = resolve("restore", model=str(path), faces="aligned")
    assert (options.backend, options.window, options.precision) == ("onnxruntime", WINDOW, "fp32")
    with pytest.raises(OptionError, match=f"exported for windows of {WINDOW} frames.*--window 8"):
        graph_for(str(path), 8, "fp32")
    with pytest.raises(OptionError, match="exported in fp32"):
        graph_for(str(path), WINDOW, "fp16")
    foreign = tmp_path / "foreign.onnx"
    onnx.save(onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])), str(foreign))
    with pytest.raises(CheckpointError, match="without vs-stc's description.*stc export onnx"):
        graph_for(str(foreign), WINDOW, "fp32")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_text("not a graph")
    with pytest.raises(CheckpointError, match="not a readable ONNX file"):
        resolve("restore", model=str(garbage))
    # A graph runs in the precision it was exported in: an fp16 one needs a GPU provider.
    with pytest.raises(OptionError, match="fp16 needs a GPU provider"):
        resolve("restore", model=str(graphs["tiny-bfvr", "fp16"]), faces="aligned")


@pytest.mark.parametrize("given, option, message", [
    ({"provider": "tensorrt"}, "provider", "'tensorrt' is not installed; this ONNX Runtime has cpu"),
    ({"provider": "NoSuchExecutionProvider"}, "provider", "not a provider name ONNX Runtime knows"),
    ({"precision": "fp16"}, "precision", "fp16 needs a GPU provider"),
    ({"precision": "bf16"}, "precision", "ONNX Runtime runs fp32 or fp16 graphs"),
])
def test_onnx_runtime_options_are_refused_in_one_line(given, option, message):
    with pytest.raises(OptionError, match=message) as error:
        resolve("restore", model="tiny-bfvr", backend="onnxruntime", **given)
    assert error.value.argument == option and "\n" not in str(error.value)


def test_a_gpu_provider_runs_on_the_card_the_device_names():
    assert provider_entry("CUDAExecutionProvider", "cuda:1") == ("CUDAExecutionProvider", {"device_id": "1"})
    assert provider_entry("TensorrtExecutionProvider", "cuda") == ("TensorrtExecutionProvider", {"device_id": "0"})
    assert provider_entry("CPUExecutionProvider", "cpu") == "CPUExecutionProvider"
    assert memory_device("CPUExecutionProvider", "cuda:1") == torch.device("cpu")
    on_card = torch.device("cuda", 1) if torch.cuda.is_available() else torch.device("cpu")
    assert memory_device("CUDAExecutionProvider", "cuda:1") == on_card


def test_the_device_is_cuda_when_pytorch_sees_one_else_the_cpu():
    assert resolve("restore", model="tiny-bfvr").device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_options_for_the_other_backend_are_refused():
    with pytest.raises(OptionError, match="applies to .* onnxruntime only"):
        resolve("restore", model="tiny-bfvr", provider="cpu")
    with pytest.raises(OptionError, match="is an ONNX graph: use onnxruntime"):
        resolve("restore", model="model.onnx", backend="torch")


def test_stc_export_onnx_writes_a_graph_onnx_runtime_runs(exports):
    target = exports.graphs["tiny-bfvr", "fp16"]
    assert exports.command.returncode == 0, exports.command.stderr
    assert f"{target}" in exports.command.stdout and "windows of 4 frames at 64 x 64, fp16" in exports.command.stdout
    again = stc("export", "onnx", "--model", "tiny-bfvr", "-o", str(target))
    assert again.returncode == 2 and "exists; pass --overwrite" in again.stderr


def test_vapoursynth_runs_the_onnx_backend_like_torch(graphs):
    import vapoursynth as vs

    from vs_test_clips import moving_rgb

    core = vs.core
    clip = moving_rgb(core, 64, 10)
    rendered = {backend: core.stc.Restore(clip, model="tiny-bfvr", faces="aligned", backend=backend)
                for backend in ("torch", "onnxruntime")}
    for n in range(clip.num_frames):
        torch_frame, onnx_frame = (np.stack([np.asarray(f[p]) for p in range(3)]).astype(int)
                                   for f in (rendered["torch"].get_frame(n), rendered["onnxruntime"].get_frame(n)))
        assert np.abs(torch_frame - onnx_frame).max() <= 1
    assert rendered["onnxruntime"].get_frame(0).props["STCBackend"] == "onnxruntime"
