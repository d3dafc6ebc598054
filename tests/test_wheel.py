"""The wheel: `pip wheel .` builds a platform wheel that carries the stc VapourSynth plugin (where
VapourSynth autoloads it) and the bundled models. Installed into a fresh virtual environment, with
no compiler on PATH, it gives core.stc.* to a .vpy that never imports vs_stc, `stc`, `stc-ffmpeg`
and model="tiny-bfvr"; and the .vpy renders the same frames there as from the checkout.

Offline and quick: the wheel is built without build isolation, the fresh environment gets the dev
environment's vapoursynth repacked as a wheel, and sees the dev environment's other packages
(torch and the rest) through a folder of links appended to its sys.path, as --system-site-packages
would."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import av
import pytest

from commands import stc

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
PLUGIN = "vapoursynth/plugins/libvsstc.so"
MODELS = sorted(p.name for pattern in ("*.safetensors", "*.onnx") for p in (REPO / "weights").glob(pattern))
SIZE, LENGTH = 64, 10
# What must not come from the dev environment: the package under test, its editable hook, and
# vapoursynth (the wheel's plugin lands in the plugins folder of the vapoursynth beside it).
NOT_SHARED = ("vs_stc", "vs-stc", "ffmpeg_filter", "__editable__", "vapoursynth")
SCRIPT = textwrap.dedent(
    """
    import sys
    import vapoursynth as vs
    sys.path.insert(0, {tests!r})
    from vs_test_clips import moving
    core = vs.core
    clip = moving(core, {size}, {length}, vs.YUV420P8)
    {call}clip.set_output()
    """
)
RESTORE = 'clip = core.stc.Restore(clip, model="tiny-bfvr", faces="aligned")\n'


def write_script(path: Path, call: str = RESTORE) -> Path:
    path.write_text(SCRIPT.format(tests=str(TESTS), size=SIZE, length=LENGTH, call=call))
    return path
PROBE = textwrap.dedent(
    """
    import json, shutil, vapoursynth as vs, vs_stc, vs_stc.weights as weights
    print(json.dumps({"vs_stc": vs_stc.__file__, "plugin": vs.core.stc.plugin_path,
                      "plugin_dir": vs.get_plugin_dir(), "weights": str(weights.bundled_dir()),
                      "compilers": [c for c in ("cc", "gcc", "clang") if shutil.which(c)]}))
    """
)


def run(command: list, env: dict | None = None, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, env=env, cwd=cwd, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stderr.decode(errors='replace')[-4000:]}"
    return result


def decoded(path: Path) -> list[bytes]:
    """Every video frame's samples."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray().tobytes() for frame in container.decode(video=0)]


def copy_source(target: Path) -> Path:
    """The files a clone would have (tracked and untracked, not ignored): no stale build/ folder."""
    listed = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def repack_installed(name: str, folder: Path) -> Path:
    """An installed distribution (from site-packages) as a wheel again, console scripts left to the
    installer, so the fresh environment gets the very same build without the network."""
    dist = importlib.metadata.distribution(name)
    tag = next(line.split(":", 1)[1].strip() for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag:"))
    wheel = folder / f"{dist.metadata['Name']}-{dist.version}-{tag}.whl"
    records, info = [], None
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files:
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts:
                continue
            if parts[0].endswith(".dist-info"):
                info = parts[0]
                if parts[-1] in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                    continue
            data = Path(dist.locate_file(file)).read_bytes()
            archive.write(dist.locate_file(file), file.as_posix())
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{file.as_posix()},sha256={digest},{len(data)}")
        archive.writestr(f"{info}/RECORD", "\n".join([*records, f"{info}/RECORD,,"]) + "\n")
    return wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """`pip wheel .` of a copy of the checkout."""
    source = copy_source(tmp_path_factory.mktemp("source"))
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", dist])
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> dict:
    """A fresh virtual environment with the wheel installed, and the environment to run it in: PATH
    holds its bin/ only (no compiler), a private VapourSynth config, nothing pointing at the checkout."""
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "env"
    run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    python = env_dir / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.decode().strip())
    shared = root / "shared"
    shared.mkdir()
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        if not entry.name.lower().startswith(NOT_SHARED):
            (shared / entry.name).symlink_to(entry)
    (site / "dev-environment.pth").write_text(f"{shared}\n")

    environ = {k: v for k, v in os.environ.items()
               if k not in ("CC", "CXX", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "STC_BUNDLED_WEIGHTS")}
    environ.update(PATH=str(env_dir / "bin"), XDG_CONFIG_HOME=str(root / "config"))
    assert not any(shutil.which(c, path=environ["PATH"]) for c in ("cc", "gcc", "clang"))
    wheels = root / "wheels"
    wheels.mkdir()
    repack_installed("vapoursynth", wheels)
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--find-links", wheels, "-q",
         built], env=environ, cwd=root)
    run([env_dir / "bin" / "vapoursynth", "config"], env=environ, cwd=root)
    return {"root": root, "bin": env_dir / "bin", "site": site, "environ": environ}


def test_the_wheel_is_a_platform_wheel_with_the_plugin_and_the_models(built):
    assert built.name.startswith("vs_stc-") and "-py3-none-linux_" in built.name, built.name
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        assert PLUGIN in names
        assert not any(n.startswith("vapoursynth/") and n != PLUGIN for n in names)
        assert b"libpython" not in archive.read(PLUGIN)  # it finds the interpreter at run time
        (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        assert "Root-Is-Purelib: false" in archive.read(f"{info}/WHEEL").decode()
        assert MODELS
        for model in MODELS:
            assert archive.read(f"vs_stc/bundled_weights/{model}") == (REPO / "weights" / model).read_bytes()
    assert built.stat().st_size < 64 << 20


def test_the_installed_wheel_autoloads_its_plugin_and_finds_its_models(installed):
    probe = run([installed["bin"] / "python", "-c", PROBE], env=installed["environ"], cwd=installed["root"])
    found = json.loads(probe.stdout)
    site = installed["site"]
    assert Path(found["vs_stc"]).is_relative_to(site)
    assert Path(found["plugin_dir"]) == site / "vapoursynth" / "plugins"
    assert Path(found["plugin"]) == site / PLUGIN
    assert Path(found["weights"]) == site / "vs_stc" / "bundled_weights"
    assert found["compilers"] == []


def test_a_vpy_renders_the_same_frames_from_the_wheel_and_from_the_checkout(installed, tmp_path):
    script = write_script(tmp_path / "restore.vpy")
    from_wheel = run([installed["bin"] / "vspipe", script, "-"], env=installed["environ"], cwd=tmp_path)

    checkout_env = dict(installed["environ"], PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                                      os.environ.get("PATH", "")]))
    checkout_bin = Path(sys.executable).parent
    run([checkout_bin / "vapoursynth", "config"], env=checkout_env, cwd=tmp_path)
    from_checkout = run([checkout_bin / "vspipe", script, "-"], env=checkout_env, cwd=tmp_path)

    assert f"Output {LENGTH} frames".encode() in from_wheel.stderr
    assert len(from_wheel.stdout) >= LENGTH * SIZE * SIZE * 3 // 2  # raw frames, at least 4:2:0 8-bit
    assert from_wheel.stdout == from_checkout.stdout


def test_stc_and_stc_ffmpeg_run_from_the_wheel(installed, tmp_path):
    script = write_script(tmp_path / "source.vpy", call="")
    env, bin_dir = installed["environ"], installed["bin"]
    clip = tmp_path / "clip.y4m"
    clip.write_bytes(run([bin_dir / "vspipe", "-c", "y4m", script, "-"], env=env, cwd=tmp_path).stdout)

    restored = tmp_path / "restored.mkv"
    run([bin_dir / "stc", "restore", clip, "-o", restored, "--model", "tiny-bfvr", "--quiet"], env=env, cwd=tmp_path)
    checkout = tmp_path / "checkout.mkv"
    assert stc("restore", str(clip), "-o", str(checkout), "--model", "tiny-bfvr", "--quiet").returncode == 0
    assert decoded(restored) == decoded(checkout)  # the wheel's models and code make the checkout's frames

    piped = run([bin_dir / "stc-ffmpeg", "restore", "--model", "tiny-bfvr", "--quiet"], env=env, cwd=tmp_path,
                input=clip.read_bytes())
    assert piped.stdout.startswith(b"YUV4MPEG2 W64 H64")
    assert piped.stdout.count(b"FRAME") == LENGTH
