"""The engine owns the device: one worker thread per device lane runs every model call, intra-op
threads follow the cores this process may use, and precision="auto" picks by device."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from vs_stc.engine import EngineOptions, RandomAccessRestorer, SampleFormat, WindowRunner
from vs_stc.engine.device import (
    THREAD_VARIABLES,
    DeviceWorker,
    auto_precision,
    configure_threads,
    cpu_lanes,
    release,
    usable_cores,
    worker_for,
)
from vs_stc.engine.memory import HEADROOM, available_bytes, check_window_fits, window_bytes
from vs_stc.errors import OptionError
from vs_stc.models import BFVR
from vs_stc.models.deterministic import deterministic_network
from vs_stc.models.network import STCNet
from vs_stc.options import resolve

from conftest import TINY


def test_model_runs_from_many_threads_all_happen_on_the_device_worker():
    network = deterministic_network(TINY)
    ran_on: list[str] = []
    network.register_forward_hook(lambda *_: ran_on.append(threading.current_thread().name))
    rng = np.random.default_rng(0)
    clip = [[rng.integers(0, 256, (TINY.resolution,) * 2, dtype=np.uint8) for _ in range(3)] for _ in range(14)]
    runner = WindowRunner(network, SampleFormat.of(np.uint8), EngineOptions(window=4, overlap=2))
    restorer = RandomAccessRestorer(runner, len(clip), (TINY.resolution,) * 2, lambda ix: [clip[i] for i in ix])
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="caller") as pool:
        list(pool.map(restorer.frame, range(len(clip))))
    assert len(ran_on) == restorer.cache.computed > 1
    assert set(ran_on) == {"stc-cpu"}


def test_a_worker_hands_errors_back_and_keeps_serving():
    worker = DeviceWorker("test")
    with pytest.raises(ZeroDivisionError):
        worker.run(lambda: 1 / 0)
    assert worker.run(lambda a, b: a + b, 2, 3) == 5
    assert worker.run(lambda: worker.run(lambda: "nested")) == "nested"  # from the worker itself: no deadlock


def test_one_worker_per_device():
    assert worker_for(torch.device("cpu")) is worker_for(torch.device("cpu"))


def threads_in_subprocess(code: str, **environment: str) -> tuple[int, int]:
    """(PyTorch's own thread count, the engine's) in a fresh process without the thread variables
    of this one (the suite's workers set OMP_NUM_THREADS: conftest.py), plus ``environment``."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    result = subprocess.run([sys.executable, "-c", code + "\nimport torch; own = torch.get_num_threads()\n"
                             "from vs_stc.engine.device import configure_threads\nprint(own, configure_threads())"],
                            capture_output=True, text=True, env=env | environment, timeout=120)
    assert result.returncode == 0, result.stderr
    own, engine = result.stdout.split()[-2:]
    return int(own), int(engine)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or usable_cores() < 2, reason="needs 2 cores and affinity")
def test_intra_op_threads_follow_the_cores_this_process_may_use_and_an_explicit_setting():
    one_core = f"import os; os.sched_setaffinity(0, {{{min(os.sched_getaffinity(0))}}})"
    assert threads_in_subprocess(one_core)[1] == 1  # PyTorch alone would count the machine's cores
    assert threads_in_subprocess("import torch; torch.set_num_threads(1)")[1] == 1
    assert threads_in_subprocess("", OMP_NUM_THREADS="1")[1] == 1
    own, engine = threads_in_subprocess("")
    assert engine == min(usable_cores(), own)


@pytest.mark.skipif(usable_cores() < 2, reason="needs 2 cores")
def test_windows_side_by_side_run_on_lanes_with_their_share_of_the_threads_and_change_no_output(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    network = deterministic_network(TINY)
    seen: list[tuple[str, int]] = []
    network.register_forward_hook(lambda *_: seen.append((threading.current_thread().name, torch.get_num_threads())))
    rng = np.random.default_rng(1)
    windows = [([[rng.integers(0, 256, (TINY.resolution,) * 2, dtype=np.uint8) for _ in range(3)] for _ in range(4)],
                4 * i) for i in range(6)]
    options = EngineOptions(window=4, overlap=2)
    release()  # the engine starts afresh, from every usable core (the suite's workers run one thread)
    before = torch.get_num_threads()
    torch.set_num_threads(usable_cores())
    try:
        engine_threads = configure_threads()
        side_by_side = WindowRunner(network, SampleFormat.of(np.uint8), options, lanes=2).run_many(windows)
        on_lanes = set(seen)
        one_at_a_time = [WindowRunner(network, SampleFormat.of(np.uint8), options, lanes=2).run(frames, first, lane=i % 2)
                         for i, (frames, first) in enumerate(windows)]
        seen.clear()
        WindowRunner(network, SampleFormat.of(np.uint8), options).run(windows[0][0])
        one_lane = seen[-1][1]
    finally:
        release()
        torch.set_num_threads(before)
    assert on_lanes == {("stc-cpu", engine_threads // 2), ("stc-cpu-1", engine_threads // 2)}
    assert one_lane == engine_threads == usable_cores()
    assert all(torch.equal(a, b) for a, b in zip(side_by_side, one_at_a_time))


def test_lanes_are_as_many_as_threads_and_memory_allow_and_one_with_a_thread_setting(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    release()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert cpu_lanes(window_bytes=10, free_bytes=None) == configure_threads() == 2
        assert cpu_lanes(window_bytes=10, free_bytes=15) == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert cpu_lanes(window_bytes=10, free_bytes=None) == 1
    finally:
        release()
        torch.set_num_threads(before)


def test_auto_precision_picks_by_device_and_fp32_stays_selectable():
    assert auto_precision("cuda:0") == "fp16"
    assert auto_precision("cpu") == "fp32"  # no CPU mode meets the floors (test_mixed_precision.py)
    assert resolve("restore", model="tiny-bfvr", precision="auto").precision == auto_precision("cpu")
    assert resolve("restore", model="tiny-bfvr", precision="fp32").precision == "fp32"


def test_a_window_too_long_for_free_memory_is_refused_naming_the_longest_that_fits():
    """The released architecture (untrained: only its size matters) and this machine's free memory."""
    network = STCNet(BFVR).eval()
    free = available_bytes(torch.device("cpu"))
    window = 2 * int(free / window_bytes(network, 2)) + 200  # far past what fits
    with pytest.raises(OptionError, match=f"of {window} frames needs about .* GiB at 512 x 512, but only") as error:
        check_window_fits(network, window)
    said = re.search(r"only ([\d.]+) GiB are free on cpu; use a window of at most (\d+)$", str(error.value))
    # The free memory as the check saw it: another test may hold more or less of it by now.
    free_then, longest = float(said.group(1)) * 2**30, int(said.group(2))
    assert 2 <= longest < window and longest % 2 == 0
    rounding = 0.05 * 2**30  # the message's one decimal
    assert window_bytes(network, longest) <= (free_then + rounding) * HEADROOM
    assert window_bytes(network, longest + 4) > (free_then - rounding) * HEADROOM
