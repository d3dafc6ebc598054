"""Every user mistake, on every surface, ends in one line that names the argument: exit code 2
on the command lines (no traceback), a ``vs.Error`` starting with the function's name in
VapourSynth. One table, run through ``stc restore``, ``stc-ffmpeg restore`` and ``core.stc.Restore``."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import vapoursynth as vs

from ffmpeg_filter.cli import main as stc_ffmpeg_main
from vs_stc.cli import main as stc_main

# (case, command-line arguments, VapourSynth keyword arguments, what the message must name)
CASES = [
    ("unknown device", ["--device", "tpu"], {"device": "tpu"}, "device"),
    ("empty device", ["--device", ""], {"device": ""}, "device"),
    ("odd window", ["--window", "3"], {"window": 3}, "window"),
    ("negative window", ["--window", "-2"], {"window": -2}, "window"),
    ("overlap as long as the window", ["--window", "4", "--overlap", "4"], {"window": 4, "overlap": 4}, "overlap"),
    ("fp16 on the CPU", ["--precision", "fp16"], {"precision": "fp16"}, "precision"),
    ("unknown precision", ["--precision", "fp8"], {"precision": "fp8"}, "precision"),
    ("a detector with faces aligned", ["--faces", "aligned", "--detector", "retinaface-mobile"],
     {"faces": "aligned", "detector": "retinaface-mobile"},
     "detector"),
    ("an unknown detector", ["--faces", "auto", "--detector", "owl"], {"faces": "auto", "detector": "owl"},
     "detector"),
    ("a negative min_face", ["--faces", "auto", "--min-face", "-1"], {"faces": "auto", "min_face": -1}, "min"),
    ("a face_score above 1", ["--faces", "auto", "--face-score", "1.5"], {"faces": "auto", "face_score": 1.5}, "score"),
    ("a face_score that is no number", ["--face-score", "high"], {"face_score": "high"}, "score"),
    ("a face_score with faces aligned", ["--faces", "aligned", "--face-score", "0.9"],
     {"faces": "aligned", "face_score": 0.9}, "score"),
    ("both blends", ["--keep-detail", "--keep-colours"], {"keep_detail": True, "keep_colours": True}, "keep"),
    ("unknown model name", ["--model", "nope"], {"model": "nope"}, "nope"),
    ("missing model file", ["--model", "/no/such/model.safetensors"], {"model": "/no/such/model.safetensors"},
     "model"),
    ("a folder as the model", ["--model", "/tmp"], {"model": "/tmp"}, "model"),
    ("mode is for deflicker", ["--mode", "pixel"], {"mode": "pixel"}, "mode"),
    ("a blend that is not a switch", ["--keep-detail=2"], {"keep_detail": 2}, "keep"),
    ("window not a number", ["--window", "abc"], {"window": "abc"}, "window"),
]
if not torch.cuda.is_available():
    CASES.append(("CUDA without a GPU", ["--device", "cuda"], {"device": "cuda"}, "device"))

def assert_one_line(stderr: str, named: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and named in lines[0], stderr


def exit_code(main, argv: list[str]) -> int:
    """What a command line's main() ends with: its return value, or the code argparse exits with."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize("case, arguments, keywords, named", CASES, ids=[c[0] for c in CASES])
def test_stc_restore(case, arguments, keywords, named, tmp_path, capsys):
    code = exit_code(stc_main, ["restore", str(tmp_path / "in.mkv"), "-o", str(tmp_path / "out.mkv"), *arguments])
    assert code == 2
    assert_one_line(capsys.readouterr().err, named)
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("case, arguments, keywords, named", CASES, ids=[c[0] for c in CASES])
def test_stc_ffmpeg(case, arguments, keywords, named, capsys):
    assert exit_code(stc_ffmpeg_main, ["restore", *arguments]) == 2
    captured = capsys.readouterr()
    assert_one_line(captured.err, named)
    assert captured.out == ""


@pytest.mark.parametrize("case, arguments, keywords, named", CASES, ids=[c[0] for c in CASES])
def test_vapoursynth(case, arguments, keywords, named):
    clip = vs.core.std.BlankClip(format=vs.RGB24, width=64, height=64, length=8)
    with pytest.raises(vs.Error) as raised:
        vs.core.stc.Restore(clip, **keywords)
    message = str(raised.value)
    assert message.startswith("Restore: ") and named.replace("-", "_") in message
    assert "Traceback" not in message and "\n" not in message.strip()


def test_vapoursynth_refuses_an_unknown_argument():
    clip = vs.core.std.BlankClip(format=vs.RGB24, width=64, height=64, length=8)
    with pytest.raises(vs.Error, match=r"^Deflicker: 'strength' is not an argument of deflicker"):
        vs.core.stc.Deflicker(clip, strength=3)


def test_eval_refuses_model_options_without_a_filter(tmp_path, capsys):
    assert exit_code(stc_main, ["eval", str(tmp_path / "clip.mkv"), "--faces", "auto"]) == 2
    assert_one_line(capsys.readouterr().err, "--run")


def test_the_real_commands_exit_2_in_one_line(tmp_path):
    """The installed entry points behave as main() does (a sample of the table)."""
    for command in ([sys.executable, "-m", "vs_stc.cli", "restore", "x.mkv", "-o", "y.mkv", "--device", "tpu"],
                    [sys.executable, "-m", "ffmpeg_filter", "restore", "--window", "3"]):
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert result.returncode == 2
        assert_one_line(result.stderr, "--device" if "tpu" in command else "--window")
