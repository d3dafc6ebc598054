"""The engine owns the devices: every model run on a device goes through one of that device's worker
threads (one per lane: on the CPU, face mode runs windows on several lanes side by side, each with
its share of the threads; everything else, and every GPU, has one lane), in the order the runs were
asked for, and PyTorch's intra-op threads are set once, from the
cores this process may use (and glibc's mmap threshold, by the runner of a large network:
models/heap.py); ``release`` (what ``vs_stc.runtime()`` does on exit) ends the threads and gives
both settings back.

Why a thread and not only a lock: PyTorch's CPU kernels run on an OpenMP team that belongs to the
OS thread calling them, with its own per-thread scratch state. Model runs called from several
VapourSynth threads, even one at a time under a lock, start one team per calling thread, and the
teams compete for the cores (OpenMP threads spin a while after each parallel region), which costs
model time (benchmarks/README.md, "Figures moved from docstrings"). The callers keep the cheap work
(reading planes, conversion, resizing, crossfades) and do it in parallel around the worker.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import torch

from ..models import heap

T = TypeVar("T")

# An explicit thread setting in the environment is the user's; PyTorch already follows it.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which taskset and cpusets narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def intra_op_threads() -> int:
    """The intra-op thread count the engine runs with: PyTorch's own (the physical cores, or what
    the user gave torch.set_num_threads) capped at the usable cores, since PyTorch counts the
    machine's cores, not the ones this process may use."""
    return max(1, min(torch.get_num_threads(), usable_cores()))


_configured: int | None = None  # PyTorch's thread count before the engine set it; None: not set
_engine_threads = 1  # what configure_threads set
_configure_lock = threading.Lock()


def configure_threads() -> int:
    """Sets PyTorch's intra-op threads once (until ``release``; see ``intra_op_threads``) and returns
    them. With OMP_NUM_THREADS or MKL_NUM_THREADS set, PyTorch already follows them: nothing changes."""
    global _configured, _engine_threads
    with _configure_lock:
        if _configured is None:
            _configured = torch.get_num_threads()
            if not _threads_from_environment():
                torch.set_num_threads(intra_op_threads())
            _engine_threads = torch.get_num_threads()
        return torch.get_num_threads()


def _threads_from_environment() -> bool:
    return any(os.environ.get(name) for name in THREAD_VARIABLES)


def lane_threads(lanes: int) -> int:
    """PyTorch's intra-op threads for each of ``lanes`` model runs side by side on the CPU: an equal
    share of the engine's (at least one). Runs side by side in one OpenMP team each, rather than one
    after another in a team as large as the machine, keep every core busy while the work beside them
    (face mode's detection and paste-back) comes and goes: a team one of whose threads another busy
    thread has pre-empted waits for it at the end of every parallel region (benchmarks/README.md,
    "Face mode's model lanes")."""
    with _configure_lock:
        return max(1, _engine_threads // max(lanes, 1))


def use_threads(threads: int) -> None:
    """On a CPU worker, before a model run: PyTorch's intra-op threads on this thread are ``threads``,
    unless the engine has not set them or the environment gives a thread count (the user's)."""
    with _configure_lock:
        if _configured is None or _threads_from_environment():
            return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def cpu_lanes(window_bytes: int, free_bytes: float | None) -> int:
    """How many model runs may go side by side on the CPU: one per engine thread, as many as the free
    memory holds, at least one; one where the environment gives a thread count (the user's team)."""
    threads = configure_threads()
    if _threads_from_environment():
        return 1
    if free_bytes is not None and window_bytes > 0:
        threads = min(threads, int(free_bytes // window_bytes))
    return max(1, threads)


class DeviceWorker:
    """One daemon thread that runs every call given to it, one at a time, in the order given."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future, Callable, tuple] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"stc-{name}", daemon=True)
        self._thread.start()

    def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` on the worker thread; waits for it and returns its result or raises
        its error. Called from the worker itself, it runs at once (no deadlock)."""
        if threading.current_thread() is self._thread:
            return function(*args)
        future: Future = Future()
        self._queue.put((future, function, args))
        return future.result()

    def stop(self) -> None:
        """Ends the thread once the calls given before have run."""
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            future, function, args = item
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to the caller, who raises it
                future.set_exception(error)


_workers: dict[tuple[torch.device, int], DeviceWorker] = {}
_workers_lock = threading.Lock()


def worker_for(device: torch.device, lane: int = 0) -> DeviceWorker:
    """The worker of ``device``'s ``lane`` (cuda means the current CUDA device), started on first use."""
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    with _workers_lock:
        worker = _workers.get((device, lane))
        if worker is None:
            if device.type == "cpu":
                configure_threads()
            worker = _workers[device, lane] = DeviceWorker(f"{device}-{lane}" if lane else str(device))
        return worker


def release() -> None:
    """Gives back what the engine took from the process: every device worker thread ends, PyTorch's
    thread count is what it was before the engine set it, and glibc's mmap threshold what a process
    starts with (models/heap.py). A later model run starts over."""
    global _configured
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.stop()
    with _configure_lock:
        if _configured is not None:
            torch.set_num_threads(_configured)
            _configured = None
    heap.give_back()


@contextmanager
def exact_float32(batch: torch.Tensor) -> Iterator[None]:
    """Turns TF32 off while an fp32 ``batch`` runs on CUDA: cuDNN would otherwise run fp32
    convolutions with 10-bit mantissas on Ampere and later, and code indices could differ from the
    CPU's fp32. fp16 and bf16 runs, and the CPU, are left as they are. Only the device's worker
    thread runs models, so the process-wide flags change only around that thread's fp32 windows."""
    if batch.device.type != "cuda" or batch.dtype != torch.float32:
        yield
        return
    cudnn, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = cudnn, matmul


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX) and oneDNN may use it (no
    ONEDNN_MAX_CPU_ISA below AVX512_CORE_BF16): only there is bf16 faster than fp32; elsewhere oneDNN
    emulates it, slower than fp32."""
    # oneDNN's instruction sets without bf16 arithmetic: capped at one of them, it emulates bf16.
    without_bf16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    if cap.strip().upper() in without_bf16 or not torch.backends.mkldnn.is_available():
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return bool({"avx512_bf16", "amx_bf16"} & set(line.split()))
    except OSError:
        pass
    return False


def auto_precision(device: str | torch.device) -> str:
    """What ``precision="auto"`` picks: fp16 on CUDA, fp32 on the CPU. On the CPU no lower precision
    meets the floors auto asks of it, even where bf16 is native (benchmarks/README.md, "Mixed
    precision on a CPU with native bf16"): whole-network bf16 flips code indices whose two best
    logits are nearly tied, and mixed precision, which keeps them, leaves the larger part of the
    time in float32; both stay available by name."""
    return "fp16" if torch.device(device).type == "cuda" else "fp32"
