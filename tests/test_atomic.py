"""The one atomic-write helper (vs_stc/atomic.py) that every complete-or-nothing file goes through."""

from __future__ import annotations

import os

import pytest

from vs_stc.atomic import replaced_atomically
from vs_stc.outputs import written_atomically


def test_success_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("old")
    with replaced_atomically(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".record.json.")
        assert temporary.exists() and target.read_text() == "old"  # the target is untouched until the end
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_two_writers_of_one_target_do_not_share_a_temporary_file(tmp_path):
    target = tmp_path / "unit.part"
    with replaced_atomically(target) as first, replaced_atomically(target) as second:
        assert first != second
        first.write_bytes(b"first")
        second.write_bytes(b"second")
        assert first.read_bytes() == b"first"
    assert target.read_bytes() == b"first"  # the writer that finished last wins, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unit.part"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()], ids=["error", "interrupt"])
def test_a_failing_block_leaves_nothing_and_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(type(error)):
        with replaced_atomically(target) as temporary:
            temporary.write_bytes(b"half")
            raise error
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]

    fresh = tmp_path / "new.safetensors"
    with pytest.raises(type(error)):
        with replaced_atomically(fresh):
            raise error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_a_missing_temporary_file_at_the_end_is_an_error_not_a_silent_success(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(FileNotFoundError):
        with replaced_atomically(target) as temporary:
            temporary.unlink()
    assert not target.exists()


def test_permissions_are_those_of_open_unless_a_mode_is_given(tmp_path):
    previous = os.umask(0o027)
    try:
        with replaced_atomically(tmp_path / "plain") as temporary:
            temporary.write_text("x")
        with replaced_atomically(tmp_path / "shared", mode=0o644) as temporary:
            temporary.unlink()  # as a writer that makes its own private file and renames it there
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT, 0o600))
    finally:
        os.umask(previous)
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o644


def test_outputs_keep_their_extension_while_being_written(tmp_path):
    """FFmpeg picks the container from the temporary file's extension."""
    with written_atomically(tmp_path / "clip.mkv") as partial:
        assert partial.name.startswith(".clip.mkv.") and partial.name.endswith(".partial.mkv")
        partial.write_bytes(b"video")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv"]
