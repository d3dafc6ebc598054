"""Importing vs_stc changes nothing in the process, and what a render takes (the engine's device
threads, PyTorch's thread count, a Ctrl-C handler) is given back when its runtime closes: the batch
render's and the pipe's ``main``, and a VapourSynth render inside ``with vs_stc.runtime()``."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import warnings
from types import SimpleNamespace

import numpy as np
import torch
import vapoursynth as vs

import vs_stc
from ffmpeg_filter.cli import main as stc_ffmpeg
from vs_stc.cli import main as stc
from vs_stc.engine import EngineOptions, SampleFormat, WindowRunner, device
from vs_stc.engine.memory import is_large_run
from vs_stc.loading import load_model
from vs_stc.models import heap
from vs_stc.models.config import BFVR
from vs_stc.models.network import STCNet
from vs_stc.media.video_io import write_video
from vs_stc.media.portraits import held_out_clip


def process_state() -> tuple:
    ours = sorted(t.name for t in threading.enumerate() if t.name.startswith("stc-"))
    return torch.get_num_threads(), signal.getsignal(signal.SIGINT), list(warnings.filters), ours


def test_importing_vs_stc_changes_nothing():
    probe = ("import signal, threading, warnings, torch; before = (torch.get_num_threads(), "
             "signal.getsignal(signal.SIGINT), list(warnings.filters), threading.active_count()); import vs_stc; "
             "after = (torch.get_num_threads(), signal.getsignal(signal.SIGINT), list(warnings.filters), "
             "threading.active_count()); print(before == after)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True", result.stderr


def render_on_every_surface(folder, model: str) -> None:
    aligned = ["--model", model, "--faces", "aligned", "--window", "4", "--overlap", "2", "--quiet"]
    assert stc(["restore", str(folder / "clip.mkv"), "-o", str(folder / "out.mkv"), "--overwrite", *aligned]) == 0
    assert stc_ffmpeg(["restore", "--window", "3", "--model", model]) == 2  # refused before any input is read
    blank = vs.core.std.BlankClip(format=vs.RGB24, width=64, height=64, length=6)
    with vs_stc.runtime():
        frames = list(vs_stc.restore(blank, model=model, faces="aligned", window=4, overlap=2).frames())
        assert any(t.name.startswith("stc-") for t in threading.enumerate())  # the engine's worker ran
    assert len(frames) == 6


def test_renders_give_back_what_they_took(tmp_path, bundled_bfvr):
    write_video(held_out_clip(seed=2, frames=6, size=64), tmp_path / "clip.mkv")
    render_on_every_surface(tmp_path, bundled_bfvr)  # third-party modules import lazily (scipy's, sympy's filters)
    before = process_state()
    render_on_every_surface(tmp_path, bundled_bfvr)
    assert process_state() == before


def test_the_heap_setting_is_for_large_runs_and_lasts_as_long_as_the_runtime(tmp_path, bundled_bfvr, monkeypatch):
    """glibc's mmap threshold is set once when the engine starts a large run on the CPU (the
    released network's) and put back to what a process starts with when the runtime closes (glibc
    cannot report the old one: models/heap.py). The bundled models' small runs leave it alone."""
    write_video(held_out_clip(seed=2, frames=6, size=64), tmp_path / "clip.mkv")
    device.release()  # an engine left running by a test before this one
    calls = []
    monkeypatch.setattr(heap, "_LIBC", SimpleNamespace(mallopt=lambda *args: calls.append(args),
                                                       malloc_trim=lambda pad: None))
    monkeypatch.delenv(heap.ENVIRONMENT_SETTING, raising=False)
    render_on_every_surface(tmp_path, bundled_bfvr)
    assert calls == []
    released = STCNet(BFVR)
    assert is_large_run(released, 8) and not is_large_run(load_model(bundled_bfvr), 48)
    with vs_stc.runtime():
        for _ in range(2):
            WindowRunner(released, SampleFormat.of(np.uint8), EngineOptions(window=8, overlap=4))
    assert calls == [(heap.M_MMAP_THRESHOLD, heap.SMALL_BLOCK), (heap.M_MMAP_THRESHOLD, heap.GLIBC_DEFAULT_THRESHOLD)]


def test_vapoursynth_gives_back_when_its_core_is_freed(bundled_bfvr):
    script = f"""
import threading, vapoursynth as vs
clip = vs.core.std.BlankClip(format=vs.RGB24, width=64, height=64, length=6)
out = vs.core.stc.Restore(clip, model={bundled_bfvr!r}, faces="aligned", window=4, overlap=2)
assert len(list(out.frames())) == 6
assert any(t.name.startswith("stc-") for t in threading.enumerate())
# called after the plugin's own callback, registered when the filter was built
vs.register_on_destroy(lambda: print("left:", [t.name for t in threading.enumerate() if t.name.startswith("stc-")]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "left: []"


def test_the_command_lines_answer_help_and_listings_without_pytorch():
    """``stc --help``, ``stc weights list`` and ``stc-ffmpeg --help`` stay instant: nothing they do loads
    PyTorch (about 1.2 s and 0.7 GiB)."""
    probe = ("import contextlib, io, sys\n"
             "from vs_stc.cli import main as stc\n"
             "from ffmpeg_filter.cli import main as stc_ffmpeg\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    codes = [stc(['--help']), stc(['weights', 'list']), stc(['restore', '--help']), stc_ffmpeg(['--help'])]\n"
             "print(codes, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[0, 0, 0, 0] False", result.stderr
