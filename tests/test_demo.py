"""`stc demo` (what `make demo` runs): offline it falls back to the bundled models and says so; the
released checkpoint's one-time download works against a loopback server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from checkpoint_server import CheckpointServer
from vs_stc import demo


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


@pytest.mark.slow
def test_demo_offline_falls_back_to_the_bundled_models_and_shows_them_improving(tmp_path):
    env = {**os.environ, "STC_WEIGHTS_MIRROR": closed_port_url(), "STC_WEIGHTS_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "vs_stc.cli", "demo", "-o", str(tmp_path / "out"), "--json",
                             str(tmp_path / "summary.json")], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "one-time download" in result.stdout
    assert "offline: falling back to the bundled small model tiny-bfvr" in result.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["released_bfvr"] is False and summary["restore"]["model"] == "tiny-bfvr"
    restore, deflicker, faces = summary["restore"], summary["deflicker"], summary["faces_auto"]
    assert (restore["size"], restore["model_size"]) == (256, 64)
    # deflicker's floors from the model card hold on this clip too: flicker at least halved, PSNR up,
    # and within 1 dB of FFmpeg's deflicker filter or better
    before, after, ffmpeg = deflicker["input"], deflicker["output"], deflicker["ffmpeg_deflicker"]
    assert after["flicker_index"] <= 0.5 * before["flicker_index"] and after["psnr_db"] > before["psnr_db"]
    assert after["psnr_db"] >= ffmpeg["psnr_db"] - 1.0 and deflicker["verdict"] == "improved"
    # the tiny model barely changes its input (+0.3 dB, the README says so): it must not make it worse
    assert restore["output"]["psnr_db"] > restore["input"]["psnr_db"] - 0.1
    assert faces["frames"] == 48 and faces["frames_with_faces"] == 48 and faces["faces"] == 48
    assert faces["background_bit_identical"] is True
    assert faces["face_region_psnr_db"]["output"] > faces["face_region_psnr_db"]["input"]
    stills = sorted(Path(p) for p in summary["stills"])
    assert [p.name.rsplit("-frame", 1)[0] for p in stills] == ["deflicker"] * 3 + ["faces-auto"] * 3 + ["restore"] * 3
    with av.open(str(tmp_path / "out" / "restore-frame00.png")) as container:
        still = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert still.shape[:2] == (256, 3 * 256 + 8)
    band = still[:demo.LABEL_HEIGHT, :256]
    assert band.mean() < 100 and (band > 200).any()  # a dark label band with white text on it


def test_the_verdict_says_whether_a_result_improved():
    before = demo.Figures(20.0, 0.5, 10.0)
    assert demo.verdict("restore", before, demo.Figures(21.0, 0.6, 10.0)).startswith("-> improved")
    assert demo.verdict("restore", before, demo.Figures(19.0, 0.6, 1.0)).startswith("-> partly improved")
    assert demo.verdict("deflicker", before, demo.Figures(19.0, 0.4, 6.0)).startswith("-> NOT improved")


@pytest.fixture
def server():
    srv = CheckpointServer()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def test_the_released_checkpoint_is_downloaded_once_with_a_stated_download(server, tmp_path, monkeypatch, capsys):
    payload = np.random.default_rng(0).bytes(3 << 20)  # a small stand-in file: only the transfer is tested
    server.files["ckpt-bfvr.pth"] = payload
    monkeypatch.setenv("STC_WEIGHTS_MIRROR", server.url)
    monkeypatch.setenv("STC_WEIGHTS_DIR", str(tmp_path))
    path = demo.released_checkpoint()
    assert path is not None and path.read_bytes() == payload
    captured = capsys.readouterr()
    assert "one-time download of ckpt-bfvr.pth" in captured.out and "ckpt-bfvr.pth" in captured.err  # the bar
    assert demo.released_checkpoint() == path
    assert "download" not in capsys.readouterr().out  # cached: nothing more to fetch


def test_offline_the_released_checkpoint_is_none_and_the_fallback_is_said(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STC_WEIGHTS_MIRROR", closed_port_url())
    monkeypatch.setenv("STC_WEIGHTS_DIR", str(tmp_path))
    assert demo.released_checkpoint() is None
    assert "offline: falling back to the bundled small model tiny-bfvr" in capsys.readouterr().out
