"""Exceptions raised by vs-stc. Messages name the problem and the fix."""


class STCError(Exception):
    """Base class of every error vs-stc raises on purpose."""


class CheckpointError(STCError):
    """A checkpoint file is missing, damaged, of the wrong kind, or does not fit the network."""


class DownloadError(STCError):
    """A weights download failed or delivered something that is not a checkpoint."""
