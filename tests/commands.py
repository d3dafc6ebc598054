"""The ``stc`` command line run from tests in this process (its ``main``), reported as a subprocess
run would report it: exit code, stdout and stderr. A fresh Python costs 3-4 s of imports per call;
a real process stays where the process is what a test checks (signals, the environment, resource
limits, the installed entry points)."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path


def stc(*args: str, cwd: Path | str | None = None) -> subprocess.CompletedProcess:
    from vs_stc.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        code = main(list(args), stdout=out, stderr=err)
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(["stc", *args], code, out.getvalue(), err.getvalue())


class _Pipe:
    """A write-only byte sink that cannot seek, as a pipe cannot (muxers write differently when
    they can go back)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def stc_ffmpeg(args: list[str], stdin: bytes) -> subprocess.CompletedProcess:
    """``stc-ffmpeg ARGS`` in this process, ``stdin`` piped in; stdout and stderr as bytes."""
    from ffmpeg_filter.cli import main

    out, err = _Pipe(), io.StringIO()
    code = main(list(args), stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return subprocess.CompletedProcess(["stc-ffmpeg", *args], code, b"".join(out.chunks), err.getvalue().encode())
