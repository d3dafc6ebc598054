"""``stc restore`` batch renders on real files: streams and metadata kept, inputs and existing
outputs protected, failures isolated and reported, no half-written files."""

from __future__ import annotations

import hashlib
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from commands import stc

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (setup.sh installs it)")
FRAMES = 20


@pytest.fixture(scope="module")
def model_args(bundled_bfvr) -> list[str]:
    return ["--model", bundled_bfvr, "--faces", "aligned", "--window", "6", "--overlap", "2", "--quiet"]


def make_clip(path: Path, audio: bool = True, video: bool = True) -> Path:
    inputs = []
    if video:
        inputs += ["-f", "lavfi", "-i", f"testsrc2=size=64x64:rate=25:duration={FRAMES / 25}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=300:duration={FRAMES / 25}"]
    codecs = (["-c:v", "libx264", "-pix_fmt", "yuv420p"] if video else []) + (["-c:a", "aac"] if audio else [])
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", *inputs, *codecs,
                    "-metadata", "title=Interview take 3", str(path)], check=True)
    return path


def audio_digests(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(container.streams.audio) if p.size]


def test_folder_of_clips_keeps_audio_metadata_and_frame_count(tmp_path, model_args):
    sources = tmp_path / "in"
    sources.mkdir()
    clip = make_clip(sources / "a.mp4")
    make_clip(sources / "b.mov")
    result = stc("restore", str(sources), "-o", str(tmp_path / "out"), "--compare", str(tmp_path / "look.png"),
                 *model_args)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "a.mp4"
    assert f"ok      {clip} -> {out}  ({FRAMES} frames" in result.stdout
    assert "2 of 2 files restored" in result.stdout
    with av.open(str(out)) as container:
        assert container.metadata.get("title") == "Interview take 3"
        assert container.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
    assert audio_digests(out) == audio_digests(clip)
    assert (tmp_path / "out" / "b.mov").exists()
    with av.open(str(tmp_path / "look-a.mp4.png")) as still:
        image = next(still.decode(video=0))
        assert (image.width, image.height) == (2 * 64 + 4, 64)


def test_audio_packets_sharing_a_timestamp_go_into_mp4_all_of_them(tmp_path, model_args):
    """Matroska keeps two audio packets with one dts; MP4's muxer refuses the second. Each is written,
    in order, its dts moved on as ffmpeg moves it (the render used to stop there, calling the
    input damaged)."""
    source = tmp_path / "shared-dts.mkv"
    with av.open(str(source), "w") as container:
        video = container.add_stream("ffv1", rate=25)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        packets = []
        for n in range(20):
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 48000, n * 1024
            packets += audio.encode(sound)
        packets += audio.encode()
        packets[8].pts, packets[8].dts = packets[7].pts, packets[7].dts  # Matroska's 1 ms time base rounds so
        for n in range(FRAMES):
            picture = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 10 * n, np.uint8), format="rgb24")
            picture.pts = n
            container.mux(video.encode(picture.reformat(format="yuv420p")))
        container.mux(video.encode())
        for packet in packets:
            container.mux(packet)
    with av.open(str(source)) as container:
        dts = [p.dts for p in container.demux(audio=0) if p.size]
    assert len(set(dts)) == len(dts) - 1  # two share one
    out = tmp_path / "out.mp4"
    result = stc("restore", str(source), "-o", str(out), *model_args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert audio_digests(out) == audio_digests(source)
    with av.open(str(out)) as container:
        written = [p.dts for p in container.demux(audio=0) if p.size]
    assert all(a < b for a, b in zip(written, written[1:]))
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES


def test_one_file_to_a_named_output_with_a_glob(tmp_path, model_args):
    make_clip(tmp_path / "take.mp4")
    result = stc("restore", str(tmp_path / "ta*.mp4"), "-o", str(tmp_path / "fixed.mkv"),
                 "--compare", str(tmp_path / "look.png"), "--compare-frame", "500", *model_args)
    assert result.returncode == 0, result.stderr
    assert f"no --compare still: frame 500 is past the last frame ({FRAMES - 1})" in result.stdout
    with av.open(str(tmp_path / "fixed.mkv")) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES


def test_never_overwrites_inputs_and_needs_overwrite_for_outputs(tmp_path, model_args):
    clip = make_clip(tmp_path / "a.mp4")
    before = clip.read_bytes()
    result = stc("restore", str(clip), "-o", str(tmp_path), *model_args)
    assert result.returncode == 1 and "would overwrite an input" in result.stdout
    assert clip.read_bytes() == before

    target = tmp_path / "out.mp4"
    target.write_bytes(b"precious")
    refused = stc("restore", str(clip), "-o", str(target), *model_args)
    assert refused.returncode == 1 and "pass --overwrite" in refused.stdout
    assert target.read_bytes() == b"precious"
    replaced = stc("restore", str(clip), "-o", str(target), "--overwrite", *model_args)
    assert replaced.returncode == 0, replaced.stdout
    assert target.read_bytes() != b"precious"


def test_bad_files_fail_alone_and_are_listed(tmp_path, model_args):
    good = make_clip(tmp_path / "good.mp4")
    audio_only = make_clip(tmp_path / "voice.m4a", video=False)
    (tmp_path / "notes.mp4").write_text("not a video")
    damaged = tmp_path / "damaged.nut"  # raw video cut inside a frame: the decoder reports it
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(good), "-c:v", "rawvideo", "-an",
                    str(tmp_path / "whole.nut")], check=True)
    whole = (tmp_path / "whole.nut").read_bytes()
    damaged.write_bytes(whole[: len(whole) * 2 // 3])
    out = tmp_path / "out"
    result = stc("restore", str(good), str(audio_only), str(tmp_path / "notes.mp4"), str(tmp_path / "missing.mp4"),
                 str(damaged), "-o", str(out), *model_args)
    assert result.returncode == 1
    assert f"FAILED  {tmp_path / 'missing.mp4'}: no such file or folder" in result.stdout
    assert f"FAILED  {audio_only}: the file has no video stream" in result.stdout
    assert f"FAILED  {tmp_path / 'notes.mp4'}: unreadable or unsupported video" in result.stdout
    assert f"FAILED  {damaged}: the input is damaged" in result.stdout
    assert "1 of 5 files restored" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["good.mp4"]  # nothing half-written left behind


def test_a_folder_without_video_fails_and_the_last_line_is_the_error(tmp_path, model_args):
    """Without --quiet, so the progress bars are drawn: the errors still come last on stderr."""
    good = make_clip(tmp_path / "good.mp4")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.mp4").write_text("not a video")
    loud = [argument for argument in model_args if argument != "--quiet"]
    result = stc("restore", str(good), str(tmp_path / "empty"), str(tmp_path / "notes.mp4"),
                 "-o", str(tmp_path / "out"), *loud)
    assert result.returncode == 1
    assert f"FAILED  {tmp_path / 'empty'}: no video files in this folder" in result.stdout
    assert "1 of 3 files restored" in result.stdout
    assert "all files: 100%" in result.stderr  # the bars were drawn ...
    last = result.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith(f"stc: error: {tmp_path / 'notes.mp4'}: unreadable"), last  # ... and the error is last


def test_a_write_failure_leaves_no_file_under_the_final_name(tmp_path, model_args):
    clip = make_clip(tmp_path / "a.mp4")

    def small_files_only():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail instead of killing

    out = tmp_path / "out"
    # lossless, so the output outgrows the limit whatever the model makes of the clip
    # a process of its own: the file size limit is the process's
    result = subprocess.run([sys.executable, "-m", "vs_stc.cli", "restore", str(clip), "-o", str(out / "a.mp4"),
                             "--crf", "0", *model_args], capture_output=True, text=True, timeout=600,
                            preexec_fn=small_files_only)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "File too large" in result.stdout
    assert list(out.iterdir()) == []
