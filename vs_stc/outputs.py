"""Writing files without losing any: an output never replaces an input, replaces an existing
file only when asked to, and appears under its final name only when complete."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Iterable

from .atomic import replaced_atomically
from .errors import OutputError


def check_output(target: Path, inputs: Iterable[Path] = (), overwrite: bool = False, what: str = "the output") -> None:
    """Refuses a ``target`` that is one of ``inputs`` (whatever ``overwrite`` says), an existing
    folder, or an existing file without ``overwrite``."""
    resolved = target.resolve()
    for source in inputs:
        if resolved == source.resolve():
            raise OutputError(f"{what} {target} is also an input: it would be overwritten; choose another name",
                              target)
    if target.is_dir():
        raise OutputError(f"{what} {target} is a folder; give a file name", target)
    if target.exists() and not overwrite:
        raise OutputError(f"{what} {target} exists; pass --overwrite to replace it", target)


def written_atomically(target: Path) -> AbstractContextManager[Path]:
    """Yields the temporary path to write; renames it to ``target`` when the block ends normally
    and removes it otherwise. The temporary file is hidden, beside ``target``, and ends in
    ``.partial`` plus ``target``'s extension, so that FFmpeg still picks the container from it."""
    return replaced_atomically(target, suffix=f".partial{target.suffix}")
