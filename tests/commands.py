"""The ``stc`` command line run from tests in this process (its ``main``), reported as a subprocess
run would report it: exit code, stdout and stderr. A fresh Python costs 3-4 s of imports per call;
a real process stays where the process is what a test checks (signals, the environment, resource
limits, the installed entry points)."""

from __future__ import annotations

import io
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path


def stc(*args: str, cwd: Path | str | None = None) -> subprocess.CompletedProcess:
    from vs_stc.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(["stc", *args], code, out.getvalue(), err.getvalue())
