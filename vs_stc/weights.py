"""Where checkpoint files are: the small models that ship in the checkout's ``weights/`` folder, the
registry of released checkpoints, the cache directory, downloads (resumable, atomic, with a
progress bar) and checksum records."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .checkpoints import is_web_page
from .errors import DownloadError, STCError
from .models import BFVR, DEFLICKER, STCConfig

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
    """A small model trained by this project; the file carries its config and works offline.
    ``window`` / ``overlap``: what it runs best with (the clip lengths it was trained on)."""

    name: str
    filename: str
    description: str
    window: int
    overlap: int


BUNDLED: dict[str, BundledModel] = {
    model.name: model
    for model in (
        BundledModel("tiny-bfvr", "tiny-bfvr.safetensors", "small face restoration model, 64 x 64 (offline)", 4, 2),
        BundledModel("tiny-deflicker", "tiny-deflicker.safetensors", "small brightness deflicker model, 64 x 64 (offline)",
                     4, 2),
    )
}
DEFAULT_WINDOW, DEFAULT_OVERLAP = 24, 8  # the released models' usual windows


def window_for(model: str, window: int | None = None, overlap: int | None = None) -> tuple[int, int]:
    """The window and overlap to run ``model`` with: what the caller gave, else the model's own
    (a bundled model's, else 24 / 8 as the released models use)."""
    bundled = BUNDLED.get(model)
    preferred = (bundled.window, bundled.overlap) if bundled else (DEFAULT_WINDOW, DEFAULT_OVERLAP)
    return (preferred[0] if window is None else window, preferred[1] if overlap is None else overlap)
SOURCE_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def bundled_dir() -> Path:
    """``$STC_BUNDLED_WEIGHTS``, else the ``weights/`` folder of the source checkout."""
    return Path(os.environ.get("STC_BUNDLED_WEIGHTS") or SOURCE_WEIGHTS_DIR)


def bundled_path(name: str) -> Path:
    model = BUNDLED[name]
    path = bundled_dir() / model.filename
    if not path.is_file():
        raise STCError(
            f"the bundled model {name!r} is not at {path}: it ships in the weights/ folder of a vs-stc source "
            f"checkout (install with `pip install -e .`), or set STC_BUNDLED_WEIGHTS to a folder holding {model.filename}"
        )
    return path


DEFLICKER_MODES = {"brightness": "deflicker", "pixel": "deflicker-pixel"}


def default_checkpoint(task: str, mode: str = "brightness") -> str:
    """The named checkpoint for a task: restore -> bfvr; deflicker -> by mode."""
    if task == "restore":
        return "bfvr"
    if task == "deflicker" and mode in DEFLICKER_MODES:
        return DEFLICKER_MODES[mode]
    raise STCError(f"no checkpoint for task {task!r} with mode {mode!r}: modes are {', '.join(DEFLICKER_MODES)}")


def spec_for(name: str) -> CheckpointSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise STCError(
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
    which the next call resumes with an HTTP range request. Records size and SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    _fetch_resuming(url, partial, progress=progress)
    _check_not_html(partial, url)
    record = FileRecord.of(partial)
    os.replace(partial, target)
    write_record(target, record)
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
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)

