"""stc-ffmpeg between real ffmpeg processes: streams, timestamps and audio survive; bad input,
cut-off input, a closed downstream and Ctrl-C are handled."""

from __future__ import annotations

import hashlib
import io
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

import av
import pytest

from commands import stc_ffmpeg


FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (setup.sh installs it)")
STC_FFMPEG = [sys.executable, "-m", "ffmpeg_filter"]
FRAMES = 30


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ffmpeg")


@pytest.fixture(scope="module")
def model_args(bundled_bfvr) -> list[str]:
    return ["--model", bundled_bfvr, "--faces", "aligned", "--window", "6", "--overlap", "2"]


def ffmpeg(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", *args], check=True, **kwargs)


@pytest.fixture(scope="module")
def talk_mp4(workdir) -> Path:
    """96 x 96 video (square: resized to the tiny model's 64 x 64 and back) with a sine audio track."""
    path = workdir / "talk.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=96x96:rate=25:duration={FRAMES / 25}",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={FRAMES / 25}",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))
    return path


@pytest.fixture(scope="module")
def talk_nut(workdir, talk_mp4) -> Path:
    path = workdir / "talk.nut"
    ffmpeg("-i", str(talk_mp4), "-c:v", "rawvideo", "-c:a", "copy", "-f", "nut", str(path))
    return path


def run_filter(args: list[str], stdin: bytes) -> subprocess.CompletedProcess:
    return stc_ffmpeg(args, stdin)


def streams(data: bytes, fmt: str = "nut"):
    """Per stream type: packet digests with timestamps (audio), frame timestamps (video)."""
    with av.open(io.BytesIO(data), format=fmt) as container:
        audio = [(p.pts, hashlib.sha256(bytes(p)).hexdigest()) for p in container.demux(container.streams.audio)
                 if p.size]
    with av.open(io.BytesIO(data), format=fmt) as container:
        video = [(f.pts, f.time_base) for f in container.decode(video=0)]
        fmt_name = container.streams.video[0].codec_context.format.name
    return audio, video, fmt_name


def test_nut_round_trip_keeps_audio_bit_identical_and_video_timestamps(talk_nut, model_args):
    source = talk_nut.read_bytes()
    result = run_filter(["restore", *model_args, "--quiet"], source)
    assert result.returncode == 0, result.stderr.decode()
    audio_in, video_in, pix_in = streams(source)
    audio_out, video_out, pix_out = streams(result.stdout)
    assert len(video_in) == FRAMES and video_out == video_in
    assert audio_out == audio_in and len(audio_in) > 10
    assert pix_out == pix_in == "yuv420p"
    assert result.stderr == b""  # --quiet


def test_the_readme_pipeline_runs_between_two_ffmpeg_processes(workdir, talk_mp4, model_args):
    out = workdir / "restored.mp4"
    upstream = subprocess.Popen([FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(talk_mp4), "-f", "nut", "-"],
                                stdout=subprocess.PIPE)
    middle = subprocess.Popen([*STC_FFMPEG, "restore", *model_args], stdin=upstream.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    upstream.stdout.close()
    downstream = subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "nut", "-i", "-", "-c:v", "libx264",
                                 "-c:a", "copy", str(out)], stdin=middle.stdout)
    middle.stdout.close()
    progress = middle.stderr.read().decode()
    assert middle.wait() == 0 and upstream.wait() == 0 and downstream.returncode == 0, progress
    assert f"{FRAMES} frames in" in progress and "fps) on cpu, fp32, torch" in progress  # progress on stderr
    assert "arrives as mpeg4, a lossy encoding" in progress  # FFmpeg's NUT default, pointed out
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert sum(1 for _ in container.decode(video=0)) == FRAMES


def test_variable_frame_rate_timestamps_survive(workdir, talk_mp4, model_args):
    vfr = workdir / "vfr.nut"
    ffmpeg("-i", str(talk_mp4), "-vf", "setpts='if(lt(N,10),N,10+2*(N-10))/(25*TB)'", "-fps_mode", "passthrough",
           "-c:v", "rawvideo", "-an", "-f", "nut", str(vfr))
    source = vfr.read_bytes()
    result = run_filter(["restore", *model_args, "--quiet"], source)
    assert result.returncode == 0, result.stderr.decode()
    _, video_in, _ = streams(source)
    _, video_out, _ = streams(result.stdout)
    gaps = {b[0] - a[0] for a, b in zip(video_in, video_in[1:])}
    assert len(gaps) == 2  # really variable
    assert video_out == video_in


def test_y4m_in_y4m_out(talk_mp4, model_args):
    y4m = ffmpeg("-i", str(talk_mp4), "-f", "yuv4mpegpipe", "-", capture_output=True).stdout
    result = run_filter(["deflicker", "--mode", "pixel", *model_args, "--keep-detail", "--quiet"], y4m)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(b"YUV4MPEG2 W96 H96 F25:1")
    assert result.stdout.count(b"FRAME") == FRAMES


def test_raw_video_with_explicit_geometry(talk_mp4, model_args):
    raw = ffmpeg("-i", str(talk_mp4), "-f", "rawvideo", "-pix_fmt", "rgb24", "-", capture_output=True).stdout
    args = ["restore", *model_args, "--keep-colours", "--quiet", "--format", "raw", "--size", "96x96", "--pix-fmt", "rgb24", "--rate", "25"]
    result = run_filter(args, raw)
    assert result.returncode == 0, result.stderr.decode()
    assert len(result.stdout) == len(raw) == FRAMES * 96 * 96 * 3
    # the geometry given by hand reads the frames as a container's header does: the same output
    nut = ffmpeg("-i", str(talk_mp4), "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-f", "nut", "-",
                 capture_output=True).stdout
    described = run_filter(["restore", *model_args, "--keep-colours", "--quiet"], nut)
    with av.open(io.BytesIO(described.stdout), format="nut") as container:
        frames = b"".join(frame.to_ndarray(format="rgb24").tobytes() for frame in container.decode(video=0))
    assert result.stdout == frames and result.stdout != raw


@pytest.mark.parametrize(
    ("stdin", "message"),
    [(b"", b"nothing arrived on stdin"), (b"this is not a video stream at all", b"neither NUT nor Y4M")],
)
def test_garbage_or_empty_input_is_one_clear_line_and_exit_2(model_args, stdin, message):
    result = run_filter(["restore", *model_args], stdin)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count(b"\n") == 1
    assert result.stdout == b""


def test_raw_mode_needs_its_geometry(model_args):
    result = run_filter(["restore", *model_args, "--format", "raw", "--size", "96x96"], b"\0" * 100)
    assert result.returncode == 2 and b"--format raw needs --pix-fmt, --rate" in result.stderr


@pytest.mark.parametrize("given, named", [
    (["--size", "0x0", "--pix-fmt", "rgb24", "--rate", "25"], "--size"),
    (["--size", "96", "--pix-fmt", "rgb24", "--rate", "25"], "--size"),
    (["--size", "96x96", "--pix-fmt", "rgb24", "--rate", "0"], "--rate"),
    (["--size", "96x96", "--pix-fmt", "rgb24", "--rate", "fast"], "--rate"),
    (["--size", "96x96", "--pix-fmt", "bogus", "--rate", "25"], "--pix-fmt"),
])
def test_raw_geometry_mistakes_name_the_argument(given, named, model_args, capsys):
    from ffmpeg_filter.cli import main

    assert main(["restore", *model_args, "--format", "raw", *given]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], lines


def test_cut_off_input_writes_every_decoded_frame_then_fails(talk_nut, model_args):
    source = talk_nut.read_bytes()
    result = run_filter(["restore", *model_args, "--quiet"], source[: len(source) // 2])
    assert result.returncode == 1
    message = result.stderr.decode()
    assert "the input ended early" in message and "Traceback" not in message
    written = int(message.split("wrote all ")[1].split()[0])
    _, video_out, _ = streams(result.stdout)
    _, video_in, _ = streams(source)
    assert 0 < written == len(video_out) < FRAMES
    assert video_out == video_in[:written]


def test_closed_downstream_exits_quietly(talk_nut, model_args):
    middle = subprocess.Popen([*STC_FFMPEG, "restore", *model_args, "--quiet"], stdin=talk_nut.open("rb"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    middle.stdout.read(2000)
    middle.stdout.close()  # the reader goes away early
    stderr = middle.stderr.read()
    assert middle.wait(timeout=300) == 141
    assert b"Traceback" not in stderr and stderr == b""


def interrupt_once_output_starts(args: list[str], out: Path, feed: bytes | BinaryIO) -> tuple[int, str]:
    """Runs ``stc-ffmpeg ARGS`` into ``out`` and sends Ctrl-C once its first bytes are out; ``feed``:
    bytes written to a stdin left open (the filter waits for more), or a file read to its end.
    Returns (exit code, stderr)."""
    with out.open("wb") as sink:
        middle = subprocess.Popen([*STC_FFMPEG, *args], stdin=subprocess.PIPE if isinstance(feed, bytes) else feed,
                                  stdout=sink, stderr=subprocess.PIPE)
        if isinstance(feed, bytes):
            middle.stdin.write(feed)
            middle.stdin.flush()
        deadline = time.monotonic() + 120
        while out.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        middle.send_signal(signal.SIGINT)
        _, stderr = middle.communicate(timeout=300)
    return middle.returncode, stderr.decode()


def test_ctrl_c_flushes_what_was_read(workdir, talk_nut, model_args):
    out = workdir / "interrupted.nut"
    code, stderr = interrupt_once_output_starts(["restore", *model_args], out, talk_nut.read_bytes())
    assert code == 130, stderr
    assert "stopping once the frames already read are restored; Ctrl-C again to stop now" in stderr
    written = int(stderr.split("wrote the ")[1].split()[0])
    _, video_out, _ = streams(out.read_bytes())
    assert 0 < written == len(video_out)


@pytest.mark.slow
def test_ctrl_c_after_the_input_was_all_read_still_ends_in_130(workdir):
    """Face mode restores in blocks (32 frames for the tiny model): by the time the first block
    comes out, the whole 96-frame input has been read, and later blocks are still being restored."""
    from face_clips import face_clip
    from media import write_yuv420

    shot = face_clip().frames[:36]
    frames = [shot[i % 70 if i % 70 < 36 else 70 - i % 70] for i in range(96)]  # forwards and back: no cut
    source = write_yuv420(workdir / "faces.nut", frames, "rawvideo", "nut")
    out = workdir / "faces-interrupted.nut"
    with source.open("rb") as feed:
        code, stderr = interrupt_once_output_starts(["restore", "--model", "tiny-bfvr", "--faces", "auto", "--quiet"],
                                                    out, feed)
    assert code == 130, stderr
    assert "wrote the 96 frames" in stderr
    _, video_out, _ = streams(out.read_bytes())
    assert len(video_out) == 96


def test_bad_model_arguments_fail_before_reading_input(model_args):
    result = run_filter(["restore", *model_args, "--window", "7"], b"")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "stc-ffmpeg: error: --window must be an even number of frames, at least 2, not 7")


def test_non_square_video_is_refused_before_anything_is_written(model_args):
    wide = ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=0.4", "-f", "nut", "-",
                  capture_output=True).stdout
    result = run_filter(["restore", *model_args], wide)
    assert result.returncode == 2 and result.stdout == b""
    assert b"frames are 96x64, but the model works on square aligned face crops" in result.stderr


def test_main_in_process_gives_back_the_callers_ctrl_c_handler():
    from ffmpeg_filter.cli import main

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGINT, mine)
    try:
        assert main(["restore", "--window", "3", "--model", "tiny-bfvr"]) == 2
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)
