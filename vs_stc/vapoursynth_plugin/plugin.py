"""Builds the ``stc`` native plugin from its C source and installs it where VapourSynth autoloads
plugins (``vapoursynth.get_plugin_dir()``, where pip-installed plugins live). Needs a C compiler.

The vs-stc wheel already carries the plugin there (setup.py builds it, the same way); this is for
editable installs (setup.sh runs it) and for rebuilding after a change to stc_plugin.c."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

from ..atomic import replaced_atomically
from ..errors import PluginBuildError

LIBRARY_NAME = "libvsstc.so"


def plugin_dir() -> Path:
    import vapoursynth

    return Path(vapoursynth.get_plugin_dir())


def installed_path() -> Path:
    return plugin_dir() / LIBRARY_NAME


def install_plugin(target_dir: Path | None = None) -> Path:
    """Compiles the plugin and moves it into place atomically. Returns its path."""
    import vapoursynth

    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise PluginBuildError("building the stc VapourSynth plugin needs a C compiler: install gcc (e.g. apt install gcc)")
    target = (target_dir or plugin_dir()) / LIBRARY_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    source = files("vs_stc.vapoursynth_plugin") / "stc_plugin.c"
    with tempfile.TemporaryDirectory() as build:
        built = Path(build) / LIBRARY_NAME
        command = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-I", vapoursynth.get_include(), str(source), "-o",
                   str(built), "-ldl", "-lpthread"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            raise PluginBuildError(f"compiling the stc VapourSynth plugin failed:\n{result.stderr.strip()}")
        with replaced_atomically(target) as staged:
            shutil.copyfile(built, staged)
    return target
