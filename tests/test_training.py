"""Both training stages run end to end on a tiny network, resume, export in the loader's layout,
and train identically on two CPU processes under torchrun (gloo)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import vs_stc
from vs_stc.media.video_io import write_video
from vs_stc.training.config import TrainConfig
from vs_stc.training.loop import train

NETWORK = """
[network]
base_channels = 8
channel_multipliers = [1, 2, 2, 4]
latent_channels = 16
codebook_size = 32
resolution = 64
norm_groups = 4
temporal_norm_groups = 4
transformer_layers = 2
transformer_heads = 2
transformer_ffn = 32
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("train-data")
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (80, 160, 3), dtype=np.uint8)
    write_video(np.stack([base[:, t:t + 80] for t in range(12)]), folder / "pan.mkv")
    return folder


def write_config(folder: Path, data: Path, steps: int, extra: str = "") -> Path:
    path = folder / "run.toml"
    path.write_text(f'task = "bfvr"\ndata = ["{data}"]\noutput = "out"\nsteps = {steps}\nbatch_size = 1\n'
                    f"clip_length = 4\ncheckpoint_every = 2\n{extra}{NETWORK}")
    return path


def test_stage_one_then_stage_two_export_loadable_models(tmp_path, data):
    (tmp_path / "s1").mkdir()
    stage1 = TrainConfig.load(write_config(tmp_path / "s1", data, steps=3))
    exported = train("stage1", stage1, progress=False)
    assert vs_stc.load_model(exported).config == stage1.network

    (tmp_path / "s2").mkdir()
    stage2 = TrainConfig.load(write_config(tmp_path / "s2", data, 2, f'stage1_checkpoint = "{exported}"\n'
                                                                     "degradation_resolution = 96\n"))
    student = train("stage2", stage2, progress=False)
    first, second = vs_stc.load_model(exported), vs_stc.load_model(student)
    # Stage II leaves the codebooks and the generator untouched, and changes the encoder.
    assert torch.equal(first.quantize.embedding_s.weight, second.quantize.embedding_s.weight)
    assert torch.equal(first.generator.blocks[0].weight, second.generator.blocks[0].weight)
    assert not torch.equal(first.encoder.blocks[0].weight, second.encoder.blocks[0].weight)
    clip = torch.rand(1, 3, 4, 64, 64)
    assert second(clip).shape == clip.shape


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, data):
    # Codeword restarts every 3 steps, so the resumed run must also carry the usage statistics.
    config_path = write_config(tmp_path, data, steps=4, extra="restart_every = 3\n")
    straight = train("stage1", TrainConfig.load(config_path), progress=False)
    reference = vs_stc.load_model(straight).state_dict()

    resumed_dir = tmp_path / "again"
    resumed_dir.mkdir()
    half = TrainConfig.load(write_config(resumed_dir, data, steps=2, extra="restart_every = 3\n"))
    train("stage1", half, progress=False)
    whole = TrainConfig.load(write_config(resumed_dir, data, steps=4, extra="restart_every = 3\n"))
    resumed = vs_stc.load_model(train("stage1", whole, progress=False)).state_dict()
    worst = max((resumed[k] - reference[k]).abs().max().item() for k in reference)
    assert worst < 1e-6, worst


def test_the_exported_average_keeps_redrawn_codewords_where_they_were_drawn(tmp_path, data):
    # Step 0 draws both codebooks from the data and restarts unused codewords at its end. Without
    # copying them, the averaged weights would still hold the random initial codebooks.
    config = TrainConfig.load(write_config(tmp_path, data, steps=1, extra="restart_every = 1\n"))
    train("stage1", config, progress=False)
    saved = torch.load(config.output / "stage1-checkpoint.pt", weights_only=True)
    for key in ("quantize.embedding_s.weight", "quantize.embedding_t.weight"):
        gap = (saved["ema"][key] - saved["model"][key]).abs().max().item()
        assert gap < 10 * config.learning_rate, (key, gap)


def test_losses_that_need_downloads_are_refused_clearly(tmp_path, data):
    with pytest.raises(vs_stc.STCError, match="pretrained backbones"):
        TrainConfig.load(write_config(tmp_path, data, 1, "perceptual_weight = 1.0\n"))


def test_stage_two_degrades_at_the_crop_size_and_trains_at_the_networks(tmp_path, data):
    from vs_stc.training.data import ClipSampler, load_clips

    with pytest.raises(vs_stc.STCError, match="at least the network's resolution"):
        TrainConfig.load(write_config(tmp_path, data, 1, "degradation_resolution = 32\n"))
    config = TrainConfig.load(write_config(tmp_path, data, 1, "degradation_resolution = 128\n"))
    clips = load_clips(config.data, config.degradation_resolution, config.clip_length)
    assert clips[0].shape[1:] == (128, 128, 3)
    sampler = ClipSampler(clips, config.clip_length, "bfvr", config.seed, config.network.resolution)
    clean, degraded = sampler.batch(step=0, rank=0, size=2)
    assert clean.shape == degraded.shape == (2, 3, 4, 64, 64)
    assert not torch.equal(clean, degraded)


def test_two_processes_under_torchrun_hold_identical_weights(tmp_path, data):
    config = write_config(tmp_path, data, steps=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "vs_stc.cli", "train", "stage1", "--config", str(config), "--quiet"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    digests = dict(re.findall(r"rank (\d) of 2: parameters sha256 (\w+)", result.stdout))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]


def test_dead_leaves_scenes_are_seeded_and_have_edges_at_many_scales():
    from vs_stc.training.synthetic import dead_leaves

    first, again, other = (dead_leaves(np.random.default_rng(seed), side=256) for seed in (0, 0, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    grey = first.mean(axis=2)
    for scale in (1, 4, 16):  # neighbouring pixels differ at the finest and the coarser scales
        small = grey[::scale, ::scale]
        assert np.abs(np.diff(small, axis=1)).mean() > 2


def test_portrait_clips_keep_the_held_out_identity_apart(tmp_path):
    from vs_stc.media.video_io import read_video
    from vs_stc.training.portraits import write_dataset

    paths = write_dataset(tmp_path, clips=1, scenes=2, frames=6, size=32)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        "heldout/hopper-00.mkv", "train/astronaut-00.mkv", "train/cameraman-00.mkv", "train/chelsea-00.mkv",
        "train/coffee-00.mkv", "train/leaves-00.mkv", "train/leaves-01.mkv", "train/rocket-00.mkv"]
    clip = read_video(tmp_path / "train" / "astronaut-00.mkv")[0]
    assert clip.shape == (6, 32, 32, 3) and not np.array_equal(clip[0], clip[-1])  # it moves


@pytest.mark.parametrize("name", ["tiny-bfvr", "tiny-deflicker"])
def test_the_bundled_models_recipes_describe_the_shipped_files(name):
    from vs_stc.weights import bundled_path

    weights_folder = Path(__file__).resolve().parents[1] / "weights"
    stage2 = TrainConfig.load(weights_folder / f"{name}.toml")
    stage1 = TrainConfig.load(weights_folder / f"{name}-stage1.toml")
    assert stage2.stage1_checkpoint.parent == stage1.output
    assert stage1.network == stage2.network == vs_stc.load_model(bundled_path(name)).config
