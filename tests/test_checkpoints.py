"""Checkpoint files: every released wrapping loads, nothing unsafe is unpickled, and every kind of
bad file is refused with a message that names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import vs_stc
from vs_stc.checkpoints import convert_to_safetensors, read_checkpoint
from vs_stc.errors import CheckpointError, STCError
from vs_stc.models import BFVR, DEFLICKER

from conftest import TINY


def _save(obj, path: Path) -> Path:
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("wrap", ["params_ema", "params", None])
def test_released_wrappings_load_and_training_tensors_are_dropped(tmp_path, tiny_state, wrap):
    state = dict(tiny_state)
    state["fuse_convs_dict.32.scale.0.weight"] = torch.zeros(3)
    state["s_feat_emb.weight"] = torch.zeros(2, 2)
    path = _save({wrap: state} if wrap else state, tmp_path / "tiny.pth")
    model = vs_stc.load_model(path, config=TINY)
    loaded = model.state_dict()
    assert set(loaded) == set(tiny_state)
    assert all(torch.equal(loaded[k], tiny_state[k]) for k in tiny_state)
    assert not any(p.requires_grad for p in model.parameters()) and not model.training


def test_missing_and_misshaped_tensors_are_listed(tmp_path, tiny_state):
    state = dict(tiny_state)
    del state["quantize.embedding_t.weight"]
    state["position_emb_s"] = torch.zeros(5, 5)
    path = _save({"params_ema": state}, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError) as error:
        vs_stc.load_model(path, config=TINY)
    message = str(error.value)
    assert "1 missing: quantize.embedding_t.weight" in message
    assert "1 wrong shape: position_emb_s (5, 5) (network wants (64, 16))" in message


def test_wrong_model_is_refused(tmp_path, parity_checkpoints):
    # The deflicker file has 6 transformer layers; the bfvr network wants 9.
    with pytest.raises(CheckpointError, match=r"72 missing: s_ft_layers\.6\."):
        vs_stc.load_model(parity_checkpoints["deflicker"], config=BFVR)


def test_html_page_saved_as_checkpoint_is_refused(tmp_path):
    path = tmp_path / "ckpt-bfvr.pth"
    path.write_text("<!DOCTYPE html><html><body>Rate limit exceeded</body></html>")
    with pytest.raises(CheckpointError, match="web page"):
        vs_stc.load_model(path)


def test_truncated_file_is_refused(tmp_path, tiny_state):
    whole = _save({"params_ema": tiny_state}, tmp_path / "whole.pth").read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        vs_stc.load_model(path, config=TINY)


class Payload:
    """An object whose unpickling would run code: loading must refuse it."""

    def __reduce__(self):
        return (print, ("unpickled!",))


def test_arbitrary_objects_are_never_unpickled(tmp_path, tiny_state, capsys):
    path = _save({"params_ema": tiny_state, "extra": Payload()}, tmp_path / "unsafe.pth")
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        vs_stc.load_model(path, config=TINY)
    assert "unpickled!" not in capsys.readouterr().out


def test_not_a_state_dict_is_refused(tmp_path):
    path = _save({"params_ema": [1, 2, 3]}, tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="not an STC checkpoint"):
        read_checkpoint(path)


def test_safetensors_conversion_keeps_config_and_weights(tmp_path, tiny_state):
    source = _save({"params_ema": {**tiny_state, "t_feat_emb.bias": torch.zeros(4)}}, tmp_path / "tiny.pth")
    target = convert_to_safetensors(source, tmp_path / "tiny.safetensors", TINY)
    state, config = read_checkpoint(target)
    assert config == TINY
    assert set(state) == set(tiny_state)  # the training-only tensor is gone
    model = vs_stc.load_model(target)  # no config needed: it travels in the file
    clip = torch.rand(1, 3, 2, TINY.resolution, TINY.resolution, generator=torch.Generator().manual_seed(2))
    assert torch.equal(model(clip), vs_stc.load_model(source, config=TINY)(clip))


def test_released_checkpoints_are_recognised_by_depth(parity_checkpoints):
    assert vs_stc.load_model(parity_checkpoints["deflicker"]).config == DEFLICKER


@pytest.mark.parametrize(
    ("precision", "device", "message"),
    [("fp16", "cpu", "fp16 runs on CUDA only"), ("int8", "cpu", "must be one of fp32, bf16, fp16")],
)
def test_unsupported_precisions_are_refused(tmp_path, tiny_state, precision, device, message):
    path = _save(tiny_state, tmp_path / "tiny.pth")
    with pytest.raises(STCError, match=message):
        vs_stc.load_model(path, device=device, precision=precision, config=TINY)


def test_bf16_on_cpu_stays_close_to_fp32(tmp_path, tiny_state):
    # Random weights leave argmax margins tiny, so compare the continuous stages: encoder features,
    # and the decoder fed the same indices.
    path = _save(tiny_state, tmp_path / "tiny.pth")
    clip = torch.rand(1, 3, 2, TINY.resolution, TINY.resolution, generator=torch.Generator().manual_seed(2))
    fp32 = vs_stc.load_model(path, config=TINY)
    bf16 = vs_stc.load_model(path, precision="bf16", config=TINY)
    with torch.inference_mode():
        features, indices = fp32.encode_indices(clip)
        features_bf16, _ = bf16.encode_indices(clip.bfloat16())
        decoded, decoded_bf16 = fp32.decode_indices(indices), bf16.decode_indices(indices)
    assert features_bf16.dtype == decoded_bf16.dtype == torch.bfloat16
    assert (features_bf16.float() - features).norm() / features.norm() < 0.05
    error = (decoded_bf16.float() - decoded).abs()
    assert error.mean() < 0.005 and error.max() < 0.05, (error.mean(), error.max())
