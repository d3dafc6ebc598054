"""The errors vs-stc raises on purpose, PyAV's way: every class is both an ``STCError`` and the
matching built-in (``ValueError``, ``OSError``, ``LookupError``), so callers can catch either.
Each carries what it is about (an argument or a file) and a message that names the fix.

Surfaces catch ``STCError`` once: the command lines print one line and exit with
``EXIT_USAGE``; VapourSynth raises ``vs.Error`` prefixed with the function's name."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

EXIT_USAGE = 2  # every user mistake on a command line: bad argument, unusable input, refused output


class STCError(Exception):
    """Base class of every error vs-stc raises on purpose."""


class OptionError(STCError, ValueError):
    """An argument has a value that cannot work. ``argument`` is its Python name (``keep_detail``);
    each surface spells it its own way (``--keep-detail``, ``'keep_detail'``), and so the other
    arguments the problem names (``related``, written as ``{name}`` in ``problem``)."""

    def __init__(self, argument: str, problem: str, related: tuple[str, ...] = ()) -> None:
        self.argument, self.problem, self.related = argument, problem, related
        super().__init__(self.spelled(lambda name: f"'{name}'"))

    def spelled(self, spelling: Callable[[str], str]) -> str:
        """The message with the arguments named as the surface names them."""
        problem = self.problem
        if self.related:  # only then does the text hold {name} fields
            problem = problem.format(**{name: spelling(name) for name in self.related})
        return f"{spelling(self.argument)} {problem}"


class UnknownModelError(STCError, LookupError):
    """A model name that is neither bundled, nor released, nor an existing file."""


class CheckpointError(STCError, ValueError):
    """A checkpoint file is missing, damaged, of the wrong kind, or does not fit the network."""


class DownloadError(STCError, OSError):
    """A weights download failed or delivered something that is not a checkpoint."""


class InputError(STCError, ValueError):
    """A video input that cannot be used: unreadable, no video stream, an unsupported size or format."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = path
        super().__init__(message)


class OutputError(STCError, OSError):
    """An output that must not or cannot be written: it would replace an input or an existing file
    without ``--overwrite``, or its folder or format cannot take it."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = path
        super().__init__(message)


class ConfigError(STCError, ValueError):
    """A setting outside the arguments that cannot be used: a training config file, an
    environment variable."""


class PrecisionError(STCError, ArithmeticError):
    """The model's arithmetic overflowed in the precision it runs in (fp16): the message names the
    window and a precision that holds."""


class PluginBuildError(STCError, OSError):
    """The native VapourSynth plugin could not be built or installed."""
