"""The installed commands' entry points. Ctrl-C at any moment, even while PyTorch and the rest load,
ends a command with exit code 130 and one line, never a traceback."""

from __future__ import annotations

import signal
import sys
from importlib import import_module

INTERRUPTED = 130


def _run(program: str, module: str) -> int:
    try:
        return import_module(module).main()
    except (KeyboardInterrupt, ImportError) as error:
        # An interrupt while a compiled module initialises (onnxruntime's, numpy's) surfaces as an
        # ImportError caused by the KeyboardInterrupt.
        if not isinstance(error, KeyboardInterrupt) and not isinstance(error.__cause__, KeyboardInterrupt):
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
