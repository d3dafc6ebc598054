"""The real download code against a loopback HTTP server that serves, cuts off, corrupts and
replaces small checkpoint files."""

from __future__ import annotations

import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
import torch

import vs_stc
from vs_stc import weights
from vs_stc.errors import DownloadError, STCError
from vs_stc.file_lock import held_exclusively

from checkpoint_server import CheckpointServer
from commands import stc
from conftest import TINY, printed_to_stderr


@pytest.fixture
def server():
    srv = CheckpointServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def mirror(server, tmp_path, monkeypatch):
    """Points the registry at the loopback server and the cache at a temporary folder."""
    monkeypatch.setenv("STC_WEIGHTS_MIRROR", server.url)
    monkeypatch.setenv("STC_WEIGHTS_DIR", str(tmp_path / "cache"))
    return server


@pytest.fixture
def tiny_file(tmp_path, tiny_state) -> bytes:
    path = tmp_path / "tiny.pth"
    torch.save({"params_ema": tiny_state}, path)
    return path.read_bytes()


SPEC = weights.CheckpointSpec("tiny", "ckpt-tiny.pth", TINY, "test model")


def test_download_records_checksum_and_loads(mirror, tiny_file):
    mirror.files["ckpt-tiny.pth"] = tiny_file
    path = weights.ensure_downloaded(SPEC, progress=False)
    assert path == Path(os.environ["STC_WEIGHTS_DIR"]) / "ckpt-tiny.pth"
    assert path.read_bytes() == tiny_file
    record = weights.read_record(path)
    assert record.size == len(tiny_file)
    assert weights.verify(path) == record
    assert vs_stc.load_model(path, config=TINY).config == TINY


def test_interrupted_download_leaves_no_file_and_resumes(mirror, tiny_file):
    mirror.files["ckpt-tiny.pth"] = tiny_file
    mirror.cut_after["ckpt-tiny.pth"] = 1000
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        weights.ensure_downloaded(SPEC, progress=False)
    target = weights.cached_path(SPEC)
    assert not target.exists()  # nothing half-written under the final name
    assert target.with_name(target.name + ".part").stat().st_size == 1000

    path = weights.ensure_downloaded(SPEC, progress=False)
    assert mirror.range_requests == ["bytes=1000-"]
    assert path.read_bytes() == tiny_file


def test_two_downloads_of_one_file_at_once_fetch_it_once(mirror, tiny_file):
    """Two callers at once (two workers of a render): one fetches, the other waits and takes its
    file; the shared .part file is never written by both."""
    mirror.files["ckpt-tiny.pth"] = tiny_file
    mirror.slow = 0.5
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda _: weights.ensure_downloaded(SPEC, progress=False), range(2)))
    assert paths[0] == paths[1] and paths[0].read_bytes() == tiny_file
    assert mirror.requests == {"ckpt-tiny.pth": 1}
    assert weights.verify(paths[0]).size == len(tiny_file)


def test_a_download_that_must_wait_for_another_says_so(mirror, tiny_file, capsys):
    mirror.files["ckpt-tiny.pth"] = tiny_file
    target = weights.cached_path(SPEC)
    target.parent.mkdir(parents=True)
    with ThreadPoolExecutor(1) as pool:
        with held_exclusively(target.with_name(target.name + ".lock"), None):  # another's download
            waiting = pool.submit(weights.ensure_downloaded, SPEC, progress=True)
            printed = printed_to_stderr(capsys, "waiting for it")
            assert not waiting.done() and mirror.requests == {}
        assert waiting.result(timeout=60).read_bytes() == tiny_file
    assert f"another download of ckpt-tiny.pth is under way; waiting for it (lock file {target}.lock)" in printed


def test_html_error_page_is_refused(mirror):
    mirror.files["ckpt-tiny.pth"] = b"<!DOCTYPE html>\n<html><title>Sign in</title></html>"
    with pytest.raises(DownloadError, match="returned a web page"):
        weights.ensure_downloaded(SPEC, progress=False)
    assert not weights.cached_path(SPEC).exists()


def test_missing_file_reports_http_status(mirror):
    with pytest.raises(DownloadError, match="HTTP 404"):
        weights.ensure_downloaded(SPEC, progress=False)


def test_corrupted_cached_file_fails_verification(mirror, tiny_file):
    mirror.files["ckpt-tiny.pth"] = tiny_file
    path = weights.ensure_downloaded(SPEC, progress=False)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        weights.ensure_downloaded(SPEC, progress=False)


def _stc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``stc ARGS`` in process, with ``env`` added to the environment for the call."""
    with mock.patch.dict(os.environ, env):
        return stc(*args)


def test_weights_command_downloads_verifies_and_converts(server, tmp_path, parity_checkpoints):
    server.files["ckpt-defilcker.pth"] = parity_checkpoints["deflicker"].read_bytes()
    env = {"STC_WEIGHTS_MIRROR": server.url, "STC_WEIGHTS_DIR": str(tmp_path / "cache")}

    listed = _stc("weights", "list", env=env)
    assert listed.returncode == 0 and "deflicker" in listed.stdout and "not downloaded" in listed.stdout

    downloaded = _stc("weights", "download", "deflicker", "--quiet", env=env)
    assert downloaded.returncode == 0, downloaded.stderr
    assert "sha256" in downloaded.stdout

    verified = _stc("weights", "verify", "deflicker", env=env)
    assert verified.returncode == 0 and "deflicker: ok" in verified.stdout

    # A different file in the cache under the same name fails both checks.
    cached = tmp_path / "cache" / "ckpt-defilcker.pth"
    cached.write_bytes(parity_checkpoints["bfvr"].read_bytes())
    failed = _stc("weights", "verify", "deflicker", env=env)
    assert failed.returncode == 1 and "checksum mismatch" in failed.stdout

    out = tmp_path / "deflicker.safetensors"
    converted = _stc("weights", "convert", str(parity_checkpoints["deflicker"]), "-o", str(out), env=env)
    assert converted.returncode == 0, converted.stderr
    assert vs_stc.load_model(out).config.transformer_layers == 6

    unknown = _stc("weights", "download", "nope", env=env)
    assert unknown.returncode == 2 and "unknown checkpoint 'nope'" in unknown.stderr


def test_bundled_models_need_no_download_and_a_missing_one_says_where_to_get_it(tmp_path, monkeypatch, bundled_bfvr):
    listed = _stc("weights", "list", env={})
    assert listed.returncode == 0 and "tiny-bfvr" in listed.stdout and "missing" not in listed.stdout
    verified = _stc("weights", "verify", bundled_bfvr, "tiny-deflicker", env={})
    assert verified.returncode == 0 and "tiny-bfvr: ok, bundled" in verified.stdout, verified.stdout
    monkeypatch.setenv("STC_BUNDLED_WEIGHTS", str(tmp_path))
    with pytest.raises(STCError, match="ships inside the vs-stc wheel"):
        vs_stc.load_model("tiny-bfvr")
