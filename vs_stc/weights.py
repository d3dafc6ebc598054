"""Where checkpoint files are: the small models that ship in the checkout's ``weights/`` folder, the
registry of released checkpoints, the cache directory, downloads (resumable, atomic, with a
progress bar) and checksum records."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .atomic import replaced_atomically
from .errors import CheckpointError, ConfigError, DownloadError, OptionError, UnknownModelError
from .file_lock import held_exclusively
from .model_files import ModelDefaults, is_web_page, read_model_defaults
from .models.config import BFVR, DEFLICKER, STCConfig

RELEASE_URL = "https://github.com/Dixin-Lab/BFVR-STC/releases/download/init"
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class CheckpointSpec:
    """A named, downloadable checkpoint and the network config it needs."""

    name: str
    filename: str
    config: STCConfig
    description: str

    @property
    def url(self) -> str:
        """The release asset, or the same file name under ``$STC_WEIGHTS_MIRROR`` when set."""
        base = os.environ.get("STC_WEIGHTS_MIRROR") or RELEASE_URL
        parsed = urllib.parse.urlparse(base)
        if parsed.scheme not in ("http", "https", "file") or (parsed.scheme != "file" and not parsed.netloc):
            raise ConfigError(f"STC_WEIGHTS_MIRROR={base!r} is not an http(s):// or file:// URL; set it to the "
                              "folder URL that holds the checkpoint files, or unset it")
        return f"{base.rstrip('/')}/{self.filename}"


REGISTRY: dict[str, CheckpointSpec] = {
    spec.name: spec
    for spec in (
        CheckpointSpec("bfvr", "ckpt-bfvr.pth", BFVR, "blind face video restoration"),
        # The upstream file name is misspelt ("defilcker"); it is the brightness deflicker model.
        CheckpointSpec("deflicker", "ckpt-defilcker.pth", DEFLICKER, "brightness deflicker"),
        CheckpointSpec("deflicker-pixel", "ckpt-deflickersd.pth", DEFLICKER, "pixel deflicker"),
    )
}


@dataclass(frozen=True)
class BundledModel:
    """A small model trained by this project; the file carries its config, its preferred window,
    overlap and blend, and works offline."""

    name: str
    filename: str
    description: str


BUNDLED: dict[str, BundledModel] = {
    model.name: model
    for model in (
        BundledModel("tiny-bfvr", "tiny-bfvr.safetensors", "small face restoration model (offline)"),
        BundledModel("tiny-deflicker", "tiny-deflicker.safetensors", "small brightness deflicker model (offline)"),
    )
}


CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")


def model_defaults(name_or_path: str) -> ModelDefaults:
    """How ``name_or_path`` prefers to run: from the file's own metadata when it is one of ours (a
    bundled model or a safetensors file), else the released models' 24 / 8. Raises
    ``OptionError('model')`` when it names neither a model nor an existing file."""
    from .graphs import graph_defaults, is_graph_file

    path = Path(name_or_path).expanduser()
    if path.suffix in CHECKPOINT_SUFFIXES or is_graph_file(name_or_path) or path.exists():
        if not path.is_file():
            raise OptionError("model", f"{str(path)!r} is not a file")
        if is_graph_file(name_or_path):
            return graph_defaults(path)
        return read_model_defaults(path)
    if name_or_path in BUNDLED:
        return read_model_defaults(bundled_path(name_or_path))
    if name_or_path in REGISTRY:
        return ModelDefaults()
    raise OptionError("model", f"{name_or_path!r} is neither a model name ({', '.join([*BUNDLED, *REGISTRY])}) "
                               "nor an existing file")


SOURCE_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"  # a source checkout's
PACKAGE_WEIGHTS_DIR = "bundled_weights"  # inside vs_stc in an installed wheel (setup.py copies them there)


def bundled_dir() -> Path:
    """``$STC_BUNDLED_WEIGHTS``; else ``vs_stc/bundled_weights/``, the package data of an installed
    wheel (found with importlib.resources); else the ``weights/`` folder of the source checkout (an
    editable install)."""
    if override := os.environ.get("STC_BUNDLED_WEIGHTS"):
        return Path(override)
    from importlib.resources import files

    packaged = files(__package__) / PACKAGE_WEIGHTS_DIR
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return SOURCE_WEIGHTS_DIR


def bundled_path(name: str) -> Path:
    model = BUNDLED[name]
    path = bundled_dir() / model.filename
    if not path.is_file():
        raise CheckpointError(
            f"the bundled model {name!r} is not at {path}: it ships inside the vs-stc wheel "
            f"(vs_stc/{PACKAGE_WEIGHTS_DIR}/) and in the weights/ folder of a source checkout; reinstall vs-stc, "
            f"or set STC_BUNDLED_WEIGHTS to a folder holding {model.filename}"
        )
    return path


def spec_for(name: str) -> CheckpointSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown checkpoint {name!r}: use one of {', '.join([*BUNDLED, *REGISTRY])} or a path to a "
            ".pth/.safetensors file"
        ) from None


def cache_dir() -> Path:
    """``$STC_WEIGHTS_DIR``, else ``$XDG_CACHE_HOME/vs-stc``, else ``~/.cache/vs-stc``."""
    if override := os.environ.get("STC_WEIGHTS_DIR"):
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vs-stc"


def cached_path(spec: CheckpointSpec) -> Path:
    return cache_dir() / spec.filename


def record_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".sha256.json")


@dataclass(frozen=True)
class FileRecord:
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> "FileRecord":
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                digest.update(chunk)
        return cls(path.stat().st_size, digest.hexdigest())


def read_record(checkpoint: Path) -> FileRecord | None:
    path = record_path(checkpoint)
    if not path.exists():
        return None
    return FileRecord(**json.loads(path.read_text()))


def write_record(checkpoint: Path, record: FileRecord) -> None:
    _atomic_write_text(record_path(checkpoint), json.dumps({"size": record.size, "sha256": record.sha256}))


def verify(checkpoint: Path) -> FileRecord:
    """Checks a cached file against the size and SHA-256 recorded at its first download."""
    expected = read_record(checkpoint)
    if expected is None:
        raise DownloadError(f"{checkpoint}: no checksum record; download it with `stc weights download` first")
    actual = FileRecord.of(checkpoint)
    if actual != expected:
        raise DownloadError(
            f"{checkpoint}: checksum mismatch (recorded {expected.size} bytes, sha256 {expected.sha256[:12]}...; "
            f"found {actual.size} bytes, sha256 {actual.sha256[:12]}...). The file changed after download: "
            "delete it and run `stc weights download` again"
        )
    return actual


def ensure_downloaded(spec: CheckpointSpec, *, progress: bool = True) -> Path:
    """Returns the cached file of ``spec``, downloading it first if needed, and verifies it."""
    target = cached_path(spec)
    if not target.exists():
        download(spec.url, target, progress=progress)
    verify(target)
    return target


def download(url: str, target: Path, *, progress: bool = True) -> FileRecord:
    """Downloads ``url`` to ``target`` atomically. An interrupted download leaves ``target.part``,
    which the next call resumes with an HTTP range request. Records size and SHA-256.

    One process at a time fetches a target (a lock file beside it): the ``.part`` file is shared on
    purpose, so that a download can resume, and two writers appending to it would corrupt it. A
    caller that waited for another's download takes that file instead of fetching it again."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    waiting = f"another download of {target.name} is under way; waiting for it" if progress else None
    with held_exclusively(target.with_name(target.name + ".lock"), waiting):
        if target.exists() and (record := read_record(target)) is not None:
            return record
        _fetch_resuming(url, partial, progress=progress)
        _check_not_html(partial, url)
        record = FileRecord.of(partial)
        write_record(target, record)  # first: a caller that saw the file without the lock finds its record
        os.replace(partial, target)
        return record


def _fetch_resuming(url: str, partial: Path, *, progress: bool) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # asked for bytes past the end: the part file is complete
            return
        raise DownloadError(f"downloading {url} failed: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"downloading {url} failed: {error}; check the network and retry") from error
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0
        remaining = response.headers.get("Content-Length")
        total = have + int(remaining) if remaining is not None else None
        bar = tqdm(
            total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
            desc=partial.name.removesuffix(".part"), disable=not progress, file=sys.stderr,
        )
        with bar, partial.open("ab" if resumed else "wb") as out:
            try:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    bar.update(len(chunk))
            except (OSError, urllib.error.URLError) as error:
                raise DownloadError(
                    f"downloading {url} was interrupted after {out.tell()} bytes ({error}); run the same "
                    "command again to resume"
                ) from error
    got = partial.stat().st_size
    if total is not None and got != total:
        raise DownloadError(
            f"downloading {url} ended early: {got} of {total} bytes; run the same command again to resume"
        )


def _check_not_html(path: Path, url: str) -> None:
    if is_web_page(path):
        path.unlink()
        raise DownloadError(
            f"{url} returned a web page, not a checkpoint (a login, error or rate-limit page?); "
            "check the URL or download the file by hand into the cache directory"
        )


def _atomic_write_text(path: Path, text: str) -> None:
    with replaced_atomically(path) as temporary:
        temporary.write_text(text)

