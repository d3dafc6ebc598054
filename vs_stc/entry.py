"""The installed commands' entry points. Ctrl-C at any moment, even while PyTorch and the rest load,
ends a command with exit code 130 and one line, never a traceback."""

from __future__ import annotations

import os
import signal
import sys
import threading
from importlib import import_module
from types import FrameType

INTERRUPTED = 130
RETRY_SECONDS = 0.05
_requested = threading.Event()  # Ctrl-C came: whatever ends the command now, it was interrupted


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib._bootstrap"):
            return True
        frame = frame.f_back
    return False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Python's KeyboardInterrupt, held back while a module is being imported: compiled modules
    (PyTorch's) call Python from C++ as they initialise, where an exception aborts the process
    (``terminate called after throwing ... KeyboardInterrupt``, exit -6). The signal is sent
    again a moment later, until it lands outside an import."""
    _requested.set()
    if _importing(frame):
        threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signum)).start()
        return
    raise KeyboardInterrupt


def _run(program: str, module: str) -> int:
    _requested.clear()
    signal.signal(signal.SIGINT, _interrupt)
    try:
        return import_module(module).main()
    except BaseException as error:
        # Compiled code that calls Python can turn the KeyboardInterrupt into its own error
        # (safetensors' loader: "ValueError: could not determine the shape of object type").
        if not isinstance(error, KeyboardInterrupt) and not _requested.is_set():
            raise
        print(f"{program}: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        # The outcome is decided and said. Python puts back SIGINT's default action while it shuts
        # down, so a Ctrl-C in those last tenths of a second would kill the process silently after
        # a finished render: from here on it is ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def stc() -> int:
    return _run("stc", "vs_stc.cli")


def stc_ffmpeg() -> int:
    return _run("stc-ffmpeg", "ffmpeg_filter.cli")
