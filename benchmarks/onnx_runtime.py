"""PyTorch against ONNX Runtime on this machine's CPU: seconds per frame, peak memory and agreement.

    .venv/bin/python benchmarks/onnx_runtime.py [--windows 8 24] [--repeats 1] [--provider cpu]

The released-size ``bfvr`` architecture with deterministic weights (512 x 512), one window of each
length T: exported to ONNX (fp32) in a temporary folder, then run in this one process through
PyTorch (the engine's default path: full-resolution levels in temporal chunks) and through ONNX
Runtime (the exported graph, every level over the whole window), alternately, each timed as the
median of ``--repeats`` calls after a warm-up. The input is the held-out face on a camera path.
Prints, per T: seconds per frame of each and their ratio, each one's peak resident memory above
the loaded model, the largest absolute difference of the outputs, the same after PyTorch's decoder
on ONNX Runtime's codes (the difference where no near-tied code flipped; these untrained weights'
logits are nearly tied) and the share of identical code indices. ``--provider cuda`` or ``tensorrt`` measures a GPU machine's providers against PyTorch on
CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from measure import measured
from vs_stc.engine.device import configure_threads
from vs_stc.engine.onnx_runtime import OnnxNetwork, choose_provider
from vs_stc.models import BFVR, heap
from vs_stc.models.network import CodeIndices
from vs_stc.models.deterministic import deterministic_network
from vs_stc.models.export import GraphInfo, export_onnx
from vs_stc.media.portraits import held_out_clip


def timed(call, repeats: int) -> tuple[float, float, object]:
    """(median seconds over ``repeats`` calls after a warm-up, or the first call's with none, peak GiB
    above the start, the first call's result)."""
    with measured() as memory:
        start = time.perf_counter()
        result = call()
        seconds = [time.perf_counter() - start] if repeats == 0 else []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), (memory.peak_bytes - memory.baseline_bytes) / 2**30, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--repeats", type=int, default=1, help="timed calls after a warm-up; 0: time the first")
    parser.add_argument("--provider", default="cpu")
    args = parser.parse_args()
    threads = configure_threads()
    heap.keep_small()  # as the engine's CPU worker runs models (vs_stc/models/heap.py)
    device = "cpu" if args.provider == "cpu" else "cuda"
    provider = choose_provider(args.provider, device)
    print(f"released-size bfvr, deterministic weights, 512 x 512, fp32; torch on {device} ({threads} threads) "
          f"against ONNX Runtime {provider}")
    print("   T | torch s/frame | onnxruntime s/frame | ort / torch | torch peak GiB | ort peak GiB | max abs diff "
          "| same codes diff | identical indices")
    for window in args.windows:
        network = deterministic_network(BFVR).to(device)
        clip = torch.from_numpy(held_out_clip(seed=2, frames=window, size=512)).permute(3, 0, 1, 2)
        clip = clip.unsqueeze(0).float().div(255).contiguous()
        with tempfile.TemporaryDirectory() as folder:
            graph = Path(folder) / "bfvr.onnx"
            info = GraphInfo(BFVR, '{"window": 24, "overlap": 8, "blend": null}', window, "fp32", "0" * 64,
                             "deterministic")
            export_onnx(deterministic_network(BFVR), graph, info)
            onnx_network = OnnxNetwork(graph, info, provider, threads, device)

            def through_torch() -> tuple[torch.Tensor, object]:
                with torch.inference_mode():
                    restored, indices = network.restore_with_indices(clip.to(device))
                return restored.cpu(), indices

            def through_onnx() -> list[np.ndarray]:
                return onnx_network.session.run(None, {"clip": clip.numpy()})

            torch_seconds, torch_peak, (expected, indices) = timed(through_torch, args.repeats)
            onnx_seconds, onnx_peak, (restored, spatial, temporal) = timed(through_onnx, args.repeats)
        # PyTorch's decoder on ONNX Runtime's codes: the difference without the flipped codes
        with torch.inference_mode():
            codes = CodeIndices(torch.from_numpy(spatial).to(device), torch.from_numpy(temporal).to(device))
            decoded = network.decode_indices(codes)
        same = np.concatenate([(spatial == indices.spatial.cpu().numpy()).ravel(),
                               (temporal == indices.temporal.cpu().numpy()).ravel()]).mean()
        print(f"{window:4d} | {torch_seconds / window:13.3f} | {onnx_seconds / window:19.3f} | "
              f"{onnx_seconds / torch_seconds:11.2f} | {torch_peak:14.2f} | {onnx_peak:12.2f} | "
              f"{np.abs(restored - expected.numpy()).max():12.2e} | {np.abs(restored - decoded.cpu().numpy()).max():15.2e} "
              f"| {same:17.2%}")


if __name__ == "__main__":
    main()
