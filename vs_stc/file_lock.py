"""One process at a time makes a shared file (a download, an exported graph): an exclusive lock on
a file beside it, which the others wait for, saying so, before they take what it made."""

from __future__ import annotations

import fcntl
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def held_exclusively(lock_path: Path, waiting: str | None) -> Iterator[None]:
    """Holds an exclusive lock on ``lock_path`` (made when missing) while in the block. When another
    process holds it, prints ``waiting`` (unless None) to stderr first: a released model's download
    or export takes minutes, and a silent wait looks like a hang."""
    with open(lock_path, "a") as lock:  # closing the file releases the lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                print(f"{waiting} (lock file {lock_path})", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
