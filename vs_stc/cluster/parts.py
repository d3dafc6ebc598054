"""Where a file's finished units wait until the whole file can be written: a hidden folder beside
the output (``.NAME.stc-parts/``), removed once the output is complete. Its ``plan.json`` says what
the parts were made from (the input file, the options, the units); a later ``--resume`` reuses
parts only when that matches, so a changed input or option never mixes old frames in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

from ..atomic import replaced_atomically
from .packing import Rebuilt, read_frames, read_header
from .units import Unit


def parts_folder(target: Path) -> Path:
    return target.with_name(f".{target.name}.stc-parts")


class Parts:
    def __init__(self, target: Path, fingerprint: dict) -> None:
        self.folder, self.fingerprint = parts_folder(target), fingerprint

    def open(self, resume: bool) -> None:
        """Keeps the parts of an earlier run of the same render when resuming; else starts empty."""
        plan = self.folder / "plan.json"
        if self.folder.exists() and not (resume and plan.is_file() and json.loads(plan.read_text()) == self.fingerprint):
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(plan, json.dumps(self.fingerprint).encode())

    def path(self, unit: Unit) -> Path:
        return self.folder / f"{unit.name}.part"

    def done(self, unit: Unit) -> bool:
        return self.path(unit).is_file()

    def store(self, unit: Unit, payload: bytes) -> None:
        _write_atomically(self.path(unit), payload)

    def header(self, unit: Unit) -> dict:
        with self.path(unit).open("rb") as stream:
            return read_header(stream)

    def frames(self, units: list[Unit]) -> Iterator[Rebuilt]:
        for unit in units:
            with self.path(unit).open("rb") as stream:
                read_header(stream)
                yield from read_frames(stream)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_atomically(path: Path, data: bytes) -> None:
    with replaced_atomically(path) as temporary:
        temporary.write_bytes(data)
