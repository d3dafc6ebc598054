"""Builds the platform parts of the vs-stc wheel; everything else is in pyproject.toml.

``build_py`` (run by ``pip wheel .`` / ``pip install .``) also
- compiles the ``stc`` VapourSynth plugin (vs_stc/vapoursynth_plugin/stc_plugin.c, against the
  headers of the ``vapoursynth`` build requirement) to ``vapoursynth/plugins/libvsstc.so``, the
  folder VapourSynth autoloads in the environment the wheel is installed into, as the plugin
  wheels on PyPI do;
- copies the bundled model files (weights/*.safetensors, weights/*.onnx and their *.LICENSE; not the recipes) into
  ``vs_stc/bundled_weights/``, package data that vs_stc.weights.bundled_dir() finds through
  importlib.resources.

The plugin does not link libpython (it finds the interpreter with dlsym), so the wheel is tagged
py3-none-<platform>. An editable install (``pip install -e .``, setup.sh) builds neither: the
models are read from weights/ and ``stc vapoursynth install`` builds the plugin.
"""

from __future__ import annotations

import os
import shlex
import sysconfig
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
PLUGIN_SOURCE = Path("vs_stc", "vapoursynth_plugin", "stc_plugin.c")
PLUGIN_TARGET = Path("vapoursynth", "plugins", "libvsstc.so")  # relative to site-packages
WEIGHTS_SOURCE = Path("weights")
WEIGHTS_TARGET = Path("vs_stc", "bundled_weights")
WEIGHTS_PATTERNS = ("*.safetensors", "*.onnx", "*.LICENSE")  # a model ships with its licence


def bundled_models() -> list[Path]:
    models = sorted(path for pattern in WEIGHTS_PATTERNS for path in (ROOT / WEIGHTS_SOURCE).glob(pattern))
    if not models:
        raise SystemExit(f"vs-stc: no bundled models in {WEIGHTS_SOURCE}/ to put in the wheel")
    return models


class BuildPy(build_py):
    """The packages, plus the native plugin and the bundled models."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        self.build_plugin()
        self.copy_bundled_models()

    def build_plugin(self) -> None:
        import vapoursynth
        from distutils.ccompiler import new_compiler

        target = Path(self.build_lib) / PLUGIN_TARGET
        target.parent.mkdir(parents=True, exist_ok=True)
        compiler = new_compiler(force=self.force)
        # $CC (or the compiler Python was built with), with flags of our own: Python's LDSHARED
        # would add its library folder as an rpath, and this library never links libpython.
        cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
        compiler.set_executables(
            compiler=[*cc, "-O2", "-Wall"], compiler_so=[*cc, "-O2", "-Wall", "-fPIC"], linker_so=[*cc, "-shared"],
        )
        build_temp = Path(self.get_finalized_command("build").build_temp) / "stc_plugin"
        objects = compiler.compile(
            [str(PLUGIN_SOURCE)], output_dir=str(build_temp), include_dirs=[vapoursynth.get_include()],
        )
        compiler.link_shared_object(objects, str(target), libraries=["dl", "pthread"])

    def copy_bundled_models(self) -> None:
        target = Path(self.build_lib) / WEIGHTS_TARGET
        self.mkpath(str(target))
        for model in bundled_models():
            self.copy_file(str(model), str(target / model.name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        extra = [PLUGIN_TARGET, *(WEIGHTS_TARGET / model.name for model in bundled_models())]
        return [*outputs, *(str(Path(self.build_lib) / path) for path in extra)]


class PlatformDistribution(Distribution):
    """Holds a native library, so the wheel is a platform wheel (installed to platlib)."""

    def has_ext_modules(self) -> bool:
        return True


class BdistWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3, one platform (the plugin uses no Python ABI)."""

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
    distclass=PlatformDistribution,
    cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel, "sdist": Sdist},
)
