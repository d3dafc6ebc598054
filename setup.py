"""Builds the platform parts of the vs-stc wheel; everything else is in pyproject.toml.

``pip wheel .`` / ``pip install .`` also
- compile the ``stc`` VapourSynth plugin (vs_stc/vapoursynth_plugin/stc_plugin.c, against the
  headers of the ``vapoursynth`` build requirement) with setuptools' ``build_ext``, as an
  ``Extension`` whose file is exactly ``vapoursynth/plugins/libvsstc.so`` (no Python ABI suffix),
  the folder VapourSynth autoloads in the environment the wheel is installed into, as the plugin
  wheels on PyPI do;
- copy (``build_py``) the bundled model files (weights/*.safetensors, weights/*.onnx and their
  *.LICENSE; not the recipes) into ``vs_stc/bundled_weights/``, package data that
  vs_stc.weights.bundled_dir() finds through importlib.resources.

The plugin does not link libpython (it finds the interpreter with dlsym), so the wheel is tagged
py3-none-<platform>. An editable install (``pip install -e .``, setup.sh) builds neither: the
models are read from weights/ and ``stc vapoursynth install`` builds the plugin.
"""

from __future__ import annotations

import os
import shlex
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
PLUGIN_SOURCE = Path("vs_stc", "vapoursynth_plugin", "stc_plugin.c")
PLUGIN_TARGET = Path("vapoursynth", "plugins", "libvsstc.so")  # relative to site-packages
PLUGIN = Extension(
    ".".join(PLUGIN_TARGET.with_suffix("").parts),  # vapoursynth.plugins.libvsstc; the file name is BuildExt's
    sources=[str(PLUGIN_SOURCE)],
    libraries=["dl", "pthread"],
)
WEIGHTS_SOURCE = Path("weights")
WEIGHTS_TARGET = Path("vs_stc", "bundled_weights")
WEIGHTS_PATTERNS = ("*.safetensors", "*.onnx", "*.LICENSE")  # a model ships with its licence


def bundled_models() -> list[Path]:
    models = sorted(path for pattern in WEIGHTS_PATTERNS for path in (ROOT / WEIGHTS_SOURCE).glob(pattern))
    if not models:
        raise SystemExit(f"vs-stc: no bundled models in {WEIGHTS_SOURCE}/ to put in the wheel")
    return models


class BuildExt(build_ext):
    """The plugin, as a plain shared library: $CC (or the compiler Python was built with) with flags
    of our own, since Python's LDSHARED would add its library folder as an rpath and this library
    never links libpython; named exactly libvsstc.so."""

    def build_extensions(self) -> None:
        import vapoursynth

        cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
        self.compiler.set_executables(
            compiler=[*cc, "-O2", "-Wall"], compiler_so=[*cc, "-O2", "-Wall", "-fPIC"], linker_so=[*cc, "-shared"],
        )
        # Only vapoursynth's headers: the plugin uses no Python header or library.
        self.compiler.set_include_dirs([vapoursynth.get_include()])
        self.compiler.set_library_dirs([])
        super().build_extensions()

    def get_ext_filename(self, fullname: str) -> str:
        # Asked with the full dotted name and, by get_ext_fullpath, with its last part alone.
        if fullname in (PLUGIN.name, PLUGIN.name.rpartition(".")[2]):
            return os.path.join(*fullname.split(".")) + PLUGIN_TARGET.suffix  # not .cpython-3xx-<platform>.so
        return super().get_ext_filename(fullname)

    def get_export_symbols(self, ext: Extension) -> list[str]:
        return []  # a VapourSynth plugin exports VapourSynthPluginInit2, not PyInit_*


class BuildPy(build_py):
    """The packages, plus the bundled models."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        self.copy_bundled_models()

    def copy_bundled_models(self) -> None:
        target = Path(self.build_lib) / WEIGHTS_TARGET
        self.mkpath(str(target))
        for model in bundled_models():
            self.copy_file(str(model), str(target / model.name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return [*outputs, *(str(Path(self.build_lib) / WEIGHTS_TARGET / model.name) for model in bundled_models())]


class EditableWheel(editable_wheel):
    """``pip install -e .`` (setup.sh) builds no plugin, nor maps its folder, vapoursynth/plugins,
    into the checkout (as setuptools does for an extension): ``stc vapoursynth install`` puts the
    plugin in the environment's own VapourSynth plugin folder instead."""

    def run(self) -> None:
        self.distribution.ext_modules = []
        super().run()


class BdistWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3, one platform (the plugin uses no Python ABI); the
    editable wheel too, which has no extension."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        return "py3", "none", super().get_tag()[2]


class Sdist(sdist):
    """Carries the bundled models too, so a wheel built from the sdist has them."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        models = [str(model.relative_to(ROOT)) for model in bundled_models()]
        super().make_release_tree(base_dir, [*files, *(m for m in models if m not in files)])


setup(
    ext_modules=[PLUGIN],
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy, "editable_wheel": EditableWheel, "bdist_wheel": BdistWheel,
              "sdist": Sdist},
)
