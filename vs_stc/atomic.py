"""The one way vs-stc writes a file that must never be seen half-written: to a temporary file
beside it, renamed over the final name only when complete."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_ATTEMPTS = 100


@contextmanager
def replaced_atomically(target: Path, *, suffix: str = ".tmp", mode: int | None = None) -> Iterator[Path]:
    """Yields a temporary path to write ``target``'s contents to; renames it over ``target`` when
    the block ends normally, and removes it when the block raises (KeyboardInterrupt included).

    The temporary file is created, empty, in ``target``'s folder (so the rename stays on one file
    system), hidden and unique to this call: ``.NAME.RANDOM`` + ``suffix``, so that two writers of
    the same ``target`` never share it; the last one to finish wins. Pass a ``suffix`` ending in
    ``target``'s extension where the writer picks a format from it (FFmpeg does). It is made with
    the permissions a plain ``open()`` would give it (0o666 less the umask); with ``mode``, it
    gets exactly those when the block ends. The folder must exist; nothing is fsynced."""
    target = Path(target)
    temporary = _create_unique(target, suffix)
    try:
        yield temporary
        if mode is not None:  # after the block: a writer may have replaced the file it was given
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create_unique(target: Path, suffix: str) -> Path:
    for _ in range(_ATTEMPTS):
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as error:  # name what the user asked for, not our hidden temporary name
            reason = f"cannot create a file in {target.parent} ({error.strerror})"
            raise OSError(error.errno, reason, str(target)) from error
        return candidate
    raise FileExistsError(f"no unused temporary name beside {target} after {_ATTEMPTS} tries")
