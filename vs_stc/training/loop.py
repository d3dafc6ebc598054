"""The training loop shared by both stages: PyTorch DDP when launched by torchrun, EMA weights,
periodic atomic checkpoints, resume after interruption, and a final export in the layout the
loader reads ({"params_ema": ...} .pth, and safetensors carrying the config), named after the
stage so both stages can share one output folder."""

from __future__ import annotations

import copy
import hashlib
import math
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..atomic import replaced_atomically
from ..checkpoints import load_into, read_checkpoint, save_model
from ..model_files import ModelDefaults
from ..errors import ConfigError
from ..models import STCNet
from .config import TrainConfig
from .data import ClipSampler, load_clips
from .quantization import initialise_codebooks, restart_unused_codes
from .stages import stage1_losses, stage1_trainable, stage2_losses, stage2_trainable

STAGES = ("stage1", "stage2")
CODEBOOK_KEYS = ("quantize.embedding_s.weight", "quantize.embedding_t.weight")


class StageObjective(nn.Module):
    """One stage's loss as a module, so DistributedDataParallel can wrap its forward."""

    def __init__(self, stage: str, model: STCNet, config: TrainConfig) -> None:
        super().__init__()
        self.stage, self.model, self.config = stage, model, config
        self.teacher = copy.deepcopy(model.encoder).requires_grad_(False).eval() if stage == "stage2" else None

    def forward(self, clean: torch.Tensor, degraded: torch.Tensor, quantized: bool = True) -> dict[str, torch.Tensor]:
        if self.stage == "stage1":
            return stage1_losses(self.model, clean, degraded, self.config, quantized)
        return stage2_losses(self.model, self.teacher, clean, degraded, self.config)


def codebook_usage(codes: torch.Tensor, size: int) -> tuple[float, float]:
    """(perplexity, fraction of codewords used) of a batch's indices."""
    p = torch.bincount(codes.flatten(), minlength=size).float()
    p /= p.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return math.exp(entropy), float((p > 0).float().mean())


def parameters_digest(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _build(stage: str, config: TrainConfig) -> STCNet:
    torch.manual_seed(config.seed)  # every rank starts from the same weights
    model = STCNet(config.network)
    if stage == "stage2":
        if config.stage1_checkpoint is None:
            raise ConfigError("stage II needs 'stage1_checkpoint': the exported stage-I model")
        state, _ = read_checkpoint(config.stage1_checkpoint)
        load_into(model, state, config.stage1_checkpoint)
    trainable = {id(p) for p in (stage1_trainable(model) if stage == "stage1" else stage2_trainable(model))}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable)
    return model.train()


def _initialise_codebooks(model: STCNet, sampler: ClipSampler, config: TrainConfig, world: int) -> None:
    """Data-dependent codebook start (rank 0 draws it, the others receive it)."""
    clean, _ = sampler.batch(0, 0, config.batch_size)  # the first batch: the same whatever the run length
    with torch.no_grad():
        initialise_codebooks(model.quantize, model.encoder(clean), torch.Generator().manual_seed(config.seed))
    if world > 1:
        for book in (model.quantize.embedding_s.weight, model.quantize.embedding_t.weight):
            dist.broadcast(book.data, src=0)


def _track_usage(usage: torch.Tensor | None, codes: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """Exponential average of each codeword's share of the batch's codes, over ~restart_every steps."""
    size = config.network.codebook_size
    current = torch.stack([torch.bincount(c.flatten(), minlength=size).float() / c.numel() for c in codes])
    if usage is None:
        return current
    return usage.lerp_(current, 2.0 / (config.restart_every + 1))


def _restart_unused(model: STCNet, clean: torch.Tensor, usage: torch.Tensor, step: int, world: int,
                    ema: dict[str, torch.Tensor]) -> None:
    books = (model.quantize.embedding_s.weight, model.quantize.embedding_t.weight)
    before = [book.detach().clone() for book in books]
    with torch.no_grad():
        restart_unused_codes(model.quantize, model.encoder(clean), (usage[0], usage[1]),
                             torch.Generator().manual_seed(step))
    if world > 1:  # rank 0's batch decides, so every rank holds the same codebooks
        for book in books:
            dist.broadcast(book.data, src=0)
    for key, book, old in zip(CODEBOOK_KEYS, books, before):
        moved = (book.detach() != old).any(dim=1)
        ema[key][moved] = book.detach()[moved]


def _copy_codebooks(model: STCNet, ema: dict[str, torch.Tensor]) -> None:
    """A redrawn codeword replaces its average outright: blending its old and new positions would
    give the exported weights codewords that lie where no latent is."""
    for key in CODEBOOK_KEYS:
        ema[key].copy_(model.state_dict()[key])


def _save_atomically(obj: object, path: Path) -> None:
    with replaced_atomically(path) as temporary:
        torch.save(obj, temporary)


def export(model: STCNet, ema: dict[str, torch.Tensor], output: Path, stage: str, clip_length: int) -> Path:
    """Writes ``{stage}-model.pth`` ({"params_ema": ...}) and ``{stage}-model.safetensors``, which
    carries the config and runs by default at the training clip length, overlapping by half."""
    state = {k: v.contiguous() for k, v in ema.items()}
    _save_atomically({"params_ema": state}, output / f"{stage}-model.pth")
    defaults = ModelDefaults(window=clip_length, overlap=clip_length // 4 * 2)
    return save_model(state, output / f"{stage}-model.safetensors", model.config, defaults)


def train(stage: str, config: TrainConfig, progress: bool = True) -> Path:
    """Runs (or resumes) a stage; returns the exported safetensors file."""
    if stage not in STAGES:
        raise ConfigError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    rank, world = _distributed()
    model = _build(stage, config)
    objective = StageObjective(stage, model, config)
    runner = DistributedDataParallel(objective) if world > 1 else objective
    trainable = [p for p in model.parameters() if p.requires_grad]
    averaged = {name for name, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.Adam(trainable, lr=config.learning_rate, betas=(0.9, 0.99))
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    output = config.output
    output.mkdir(parents=True, exist_ok=True)
    checkpoint = output / f"{stage}-checkpoint.pt"
    start = 0
    usage: torch.Tensor | None = None  # recent usage shares of both codebooks (stage I)
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        ema, start, usage = saved["ema"], saved["step"], saved.get("usage")

    # Stage I sees clean clips only, so it never needs them larger than the network.
    clip_size = (config.degradation_resolution if stage == "stage2" else None) or config.network.resolution
    sampler = ClipSampler(load_clips(config.data, clip_size, config.clip_length), config.clip_length,
                          config.task if stage == "stage2" else None, config.seed, config.network.resolution)
    if stage == "stage1" and start == 0:
        _initialise_codebooks(model, sampler, config, world)
        _copy_codebooks(model, ema)
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc=stage,
               disable=not progress or rank != 0)
    for step in bar:
        if stage == "stage1" and step == config.quantize_from > 0:
            _initialise_codebooks(model, sampler, config, world)
            _copy_codebooks(model, ema)
        clean, degraded = sampler.batch(step, rank, config.batch_size)
        losses = runner(clean, degraded, step >= config.quantize_from)
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        optimizer.step()
        with torch.no_grad():
            for name, value in model.state_dict().items():
                if name in averaged:
                    ema[name].mul_(config.ema_decay).add_(value, alpha=1 - config.ema_decay)
                else:  # frozen: kept bit for bit
                    ema[name].copy_(value)
        shown = {k: f"{v.item():.4f}" for k, v in losses.items() if v.ndim == 0}
        if "codes" in losses:
            perplexity, used = codebook_usage(losses["codes"][0], config.network.codebook_size)
            shown.update(perplexity=f"{perplexity:.1f}", used=f"{used:.0%}")
            if config.restart_every:
                usage = _track_usage(usage, losses["codes"], config)
                if (step + 1) % config.restart_every == 0:
                    _restart_unused(model, clean, usage, step, world, ema)
        bar.set_postfix(shown)
        done = step + 1
        if rank == 0 and (done % config.checkpoint_every == 0 or done == config.steps):
            _save_atomically({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "ema": ema,
                              "step": done, "usage": usage}, checkpoint)
    bar.close()
    print(f"rank {rank} of {world}: parameters sha256 {parameters_digest(model)}", flush=True)
    target = export(model, ema, output, stage, config.clip_length) if rank == 0 else output / f"{stage}-model.safetensors"
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return target
